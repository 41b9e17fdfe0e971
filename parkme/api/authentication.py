"""JWT authentication that loads the user with what the permissions need, in one query."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token

from parkme.models import User
from parkme.tenancy import device_account


class ParkMeJWTAuthentication(JWTAuthentication):
    """simplejwt's look-up of the token's user, annotated with ``is_device_account``
    (parkme.tenancy) in the same query, so refusing devices costs no round trip."""

    def get_user(self, validated_token: Token) -> User:  # type: ignore[override]
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken(_("Token contained no recognizable user identification")) from exc
        user = (
            User.objects.annotate(is_device_account=device_account())
            .filter(**{api_settings.USER_ID_FIELD: user_id})
            .first()
        )
        if user is None:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        return user


class ParkMeJWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme of ParkMeJWTAuthentication: simplejwt's bearer JWT."""

    target_class = "parkme.api.authentication.ParkMeJWTAuthentication"
