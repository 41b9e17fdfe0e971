"""Writes for users and tenancy."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from parkme.db import constraint_errors
from parkme.errors import ValidationFailed
from parkme.models import Membership, Operator, Role, User
from parkme.tenancy import STAFF_ROLES

# Installed with their permissions by parkme/migrations/0002_staff_groups.py.
ROLE_GROUPS: dict[str, str] = {Role.ADMIN: "Operator admin", Role.ATTENDANT: "Operator attendant"}


def user_sync_staff_flag(*, user: User) -> None:
    """Admin login and staff groups follow membership: admins and attendants get both,
    devices and drivers neither. The admin narrows the groups' permissions per operator."""
    roles = set(user.memberships.values_list("role", flat=True))
    should_be_staff = user.is_superuser or bool(roles & STAFF_ROLES)
    if user.is_staff != should_be_staff:
        user.is_staff = should_be_staff
        user.save(update_fields=["is_staff"])
    wanted = {ROLE_GROUPS[role] for role in roles if role in ROLE_GROUPS}
    managed = {group.name: group for group in Group.objects.filter(name__in=ROLE_GROUPS.values())}
    current = set(user.groups.filter(name__in=managed).values_list("name", flat=True))
    if stale := current - wanted:
        user.groups.remove(*(managed[name] for name in stale))
    if missing := (wanted - current) & managed.keys():
        user.groups.add(*(managed[name] for name in missing))


@transaction.atomic
def membership_set(*, user: User, operator: Operator, role: str) -> Membership:
    membership, _ = Membership.objects.update_or_create(
        user=user, operator=operator, defaults={"role": role}
    )
    user_sync_staff_flag(user=user)
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    user = membership.user
    membership.delete()
    user_sync_staff_flag(user=user)


def user_get_or_create(*, email: str, password: str, full_name: str = "") -> tuple[User, bool]:
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        return user, False
    return User.objects.create_user(email=email, password=password, full_name=full_name), True


@transaction.atomic
def operator_create(*, name: str, admin_email: str, admin_password: str) -> Operator:
    operator = Operator.objects.create(name=name, slug=slugify(name)[:60])
    admin, _ = user_get_or_create(email=admin_email, password=admin_password)
    membership_set(user=admin, operator=operator, role=Role.ADMIN)
    return operator


def _email_taken() -> ValidationFailed:
    return ValidationFailed(
        "This e-mail is already registered.",
        fields={"email": ["This e-mail is already registered."]},
    )


def user_register(*, email: str, password: str, full_name: str = "") -> User:
    """A new driver account. A taken e-mail is a validation error, not a server error."""
    email = User.objects.normalize_email(email).lower()
    with transaction.atomic():
        if User.objects.filter(email__iexact=email).exists():
            raise _email_taken()
        # A concurrent registration may still win the race: the constraints answer it.
        with constraint_errors(
            {"user_email_ci_unique": _email_taken, "parkme_user_email_key": _email_taken}
        ):
            return User.objects.create_user(email=email, password=password, full_name=full_name)


def token_revoke(*, refresh: str) -> None:
    """Blacklist a refresh token (logout). A token that is malformed, expired or already
    revoked is refused (401), so a client learns its logout did not revoke anything new."""
    try:
        RefreshToken(refresh).blacklist()  # type: ignore[arg-type]
    except TokenError as exc:
        raise InvalidToken(str(exc)) from exc


def tokens_flush_expired() -> int:
    """Delete outstanding (and so blacklisted) refresh tokens that have expired anyway."""
    deleted, _ = OutstandingToken.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
