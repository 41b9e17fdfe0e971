"""Writes for users and tenancy."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from parkme.models import Membership, Operator, Role, User

STAFF_ROLES = (Role.ADMIN, Role.ATTENDANT)


def user_sync_staff_flag(*, user: User) -> None:
    """Admin login follows membership: admins and attendants yes, devices and drivers no."""
    should_be_staff = user.is_superuser or user.memberships.filter(role__in=STAFF_ROLES).exists()
    if user.is_staff != should_be_staff:
        user.is_staff = should_be_staff
        user.save(update_fields=["is_staff"])


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


def user_register(*, email: str, password: str, full_name: str = "") -> User:
    """A new driver account. A taken e-mail is a validation error, not a server error."""
    from parkme.errors import ValidationFailed

    email = User.objects.normalize_email(email).lower()
    with transaction.atomic():
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationFailed(
                "This e-mail is already registered.",
                fields={"email": ["This e-mail is already registered."]},
            )
        try:
            with transaction.atomic():
                return User.objects.create_user(email=email, password=password, full_name=full_name)
        except IntegrityError as exc:  # a concurrent registration won the race
            raise ValidationFailed(
                "This e-mail is already registered.",
                fields={"email": ["This e-mail is already registered."]},
            ) from exc
