"""Registration, JWT tokens and the current user."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from parkme.api.fields import StrictCharField, StrictEmailField, StrictSerializer
from parkme.api.schema import (
    AUTHENTICATION_FAILED,
    JSON_BODY,
    NOT_AUTHENTICATED,
    VALIDATION,
    api_operation,
    password_field_schema,
    password_min_length,
)
from parkme.api.throttles import AuthThrottle
from parkme.api.views import ApiView
from parkme.models import Role, User
from parkme.services import token_revoke, user_register


@extend_schema_field(password_field_schema())
class NewPasswordField(StrictCharField):
    """A new password: the configured minimum length here, then Django's other password
    validators in RegisterInput.validate."""

    def __init__(self, **kwargs):
        length = password_min_length()
        super().__init__(
            min_length=length,
            max_length=128,
            trim_whitespace=False,
            error_messages={
                "min_length": "This password is too short. It must contain at least "
                f"{length} characters."
            },
            **kwargs,
        )


class RegisterInput(StrictSerializer):
    email = StrictEmailField(max_length=254)
    password = NewPasswordField(
        write_only=True,
        help_text="At least the minimum length, not all digits, not common, not like the e-mail.",
    )
    full_name = StrictCharField(max_length=150, required=False, allow_blank=True)

    def validate(self, attrs):
        candidate = User(email=attrs["email"].lower(), full_name=attrs.get("full_name", ""))
        try:
            validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from exc
        return attrs


class MembershipOutput(serializers.Serializer):
    operator = serializers.IntegerField(source="operator_id", help_text="The operator's id.")
    operator_name = serializers.CharField(source="operator.name")
    role = serializers.ChoiceField(choices=Role.choices)


class UserOutput(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    full_name = serializers.CharField()
    memberships = MembershipOutput(
        many=True, help_text="The operators the account works for; none for a plain driver."
    )


class TokenPairOutput(serializers.Serializer):
    access = serializers.CharField(help_text="Send as `Authorization: Bearer <access>`.")
    refresh = serializers.CharField(
        help_text="For `auth/token/refresh/` (once) and `auth/logout/`."
    )


_ACCESS = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIn0.c2lnbmF0dXJl"
_REFRESH = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.c2lnbmF0dXJl"
_USER_EXAMPLE = OpenApiExample(
    "A driver",
    value={"id": 7, "email": "driver@example.com", "full_name": "Dana Driver", "memberships": []},
    response_only=True,
)
_PAIR_EXAMPLE = OpenApiExample(
    "A token pair", value={"access": _ACCESS, "refresh": _REFRESH}, response_only=True
)
_TOKEN_LINKS = {
    200: {
        "RefreshTokens": {
            "operationId": "auth_token_refresh",
            "requestBody": {"refresh": "$response.body#/refresh"},
            "description": "Refresh with the refresh token just issued.",
        },
        "LogOut": {
            "operationId": "auth_logout",
            "requestBody": {"refresh": "$response.body#/refresh"},
            "description": "Revoke the refresh token just issued.",
        },
    }
}
_BAD_REFRESH = AUTHENTICATION_FAILED.but(
    when="The refresh token is malformed, expired, already spent by a refresh (each works "
    "once) or revoked by `auth/logout/`.",
    message="Token is blacklisted",
)


class RegisterView(ApiView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthThrottle]

    @api_operation(
        operation_id="auth_register",
        tags=["auth"],
        summary="Create a driver account",
        description="Creates an account that can sign in with `auth/token/`. The password "
        "must pass Django's validators: at least the minimum length, not entirely digits, "
        "not a common password and not too similar to the e-mail or name; each failure comes "
        "back under `fields.password`. An e-mail that is already registered (in any letter "
        "case) is a `400` with `fields.email`. Throttled per client IP (`auth`).",
        request=RegisterInput,
        responses={201: OpenApiResponse(UserOutput, description="The new account.")},
        links={
            201: {
                "SignIn": {
                    "operationId": "auth_token",
                    "requestBody": {
                        "email": "$request.body#/email",
                        "password": "$request.body#/password",
                    },
                    "description": "Sign in with the account just created.",
                }
            }
        },
        errors=[
            VALIDATION.but(
                when="A field breaks a rule, the password fails a validator, or the e-mail "
                "is already registered.",
                fields={"password": ["This password is too common."]},
            ),
            *JSON_BODY,
        ],
        examples=[
            OpenApiExample(
                "A new driver",
                value={
                    "email": "driver@example.com",
                    "password": "a-long-unusual-pass-42",
                    "full_name": "Dana Driver",
                },
                request_only=True,
            ),
            _USER_EXAMPLE,
        ],
    )
    def post(self, request):
        data = RegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_register(**data.validated_data)
        return Response(UserOutput(user).data, status=status.HTTP_201_CREATED)


class TokenInput(StrictSerializer, TokenObtainPairSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Credentials as sent: " " is a wrong password (401), not a blank field (400).
        self.fields[self.username_field] = serializers.CharField(
            write_only=True, trim_whitespace=False
        )
        self.fields["password"] = serializers.CharField(
            write_only=True, trim_whitespace=False, style={"input_type": "password"}
        )


class RefreshInput(StrictSerializer, TokenRefreshSerializer):
    # A token as sent: " " is an invalid token (401), not a blank field (400).
    refresh = serializers.CharField(trim_whitespace=False)


@extend_schema_view(
    post=api_operation(
        operation_id="auth_token",
        tags=["auth"],
        summary="Sign in: get an access and a refresh token",
        description="Exchanges an e-mail and password for a JWT pair. The access token "
        "(15 minutes) goes in `Authorization: Bearer <access>`; the refresh token (7 days) "
        "gets a new pair from `auth/token/refresh/`. Any `Authorization` header is ignored. "
        "Throttled per client IP (`auth`).",
        request=TokenInput,
        responses={200: OpenApiResponse(TokenPairOutput, description="A new token pair.")},
        links=_TOKEN_LINKS,
        errors=[
            VALIDATION.but(fields={"password": ["This field is required."]}),
            *JSON_BODY,
            AUTHENTICATION_FAILED.but(
                when="Wrong e-mail or password, or the account is inactive.",
                message="No active account found with the given credentials",
            ),
        ],
        examples=[
            OpenApiExample(
                "Credentials",
                value={"email": "driver@example.com", "password": "a-long-unusual-pass-42"},
                request_only=True,
            ),
            _PAIR_EXAMPLE,
        ],
    )
)
class TokenView(TokenObtainPairView):
    serializer_class = TokenInput
    throttle_classes = [AuthThrottle]


@extend_schema_view(
    post=api_operation(
        operation_id="auth_token_refresh",
        tags=["auth"],
        summary="Get a new token pair with a refresh token",
        description="Answers a new access token and a new refresh token. The refresh token "
        "sent is spent: sending it again is a `401`. Any `Authorization` header is ignored. "
        "Throttled per client IP (`auth`).",
        request=RefreshInput,
        responses={200: OpenApiResponse(TokenPairOutput, description="A new token pair.")},
        links=_TOKEN_LINKS,
        errors=[
            VALIDATION.but(fields={"refresh": ["This field is required."]}),
            *JSON_BODY,
            _BAD_REFRESH,
        ],
        examples=[
            OpenApiExample("A refresh token", value={"refresh": _REFRESH}, request_only=True),
            _PAIR_EXAMPLE,
        ],
    )
)
class RefreshView(TokenRefreshView):
    """Rotation: the answer carries a new refresh token and the one sent is blacklisted,
    so a refresh token works once (a replay is 401)."""

    serializer_class = RefreshInput
    throttle_classes = [AuthThrottle]


class LogoutInput(StrictSerializer):
    refresh = StrictCharField(
        max_length=4096, trim_whitespace=False, help_text="The refresh token to revoke."
    )


class LogoutView(ApiView):
    """Revoke a refresh token (blacklist it). Whoever holds the token may revoke it; the
    access tokens it issued stay valid until they expire (minutes)."""

    permission_classes = [AllowAny]
    throttle_classes = [AuthThrottle]

    @api_operation(
        operation_id="auth_logout",
        tags=["auth"],
        summary="Sign out: revoke a refresh token",
        description="Revokes the refresh token sent, so it can no longer be refreshed. No "
        "account is needed: holding the token is enough. Access tokens already issued stay "
        "valid until they expire (15 minutes). A token that is malformed, expired, spent or "
        "already revoked is a `401`, so a `204` always means this call revoked it. Unlike the "
        "other auth calls, a bad `Authorization` header is refused too (send none). Throttled "
        "per client IP (`auth`).",
        request=LogoutInput,
        responses={204: OpenApiResponse(description="Revoked. No body.")},
        errors=[
            VALIDATION.but(fields={"refresh": ["This field is required."]}),
            *JSON_BODY,
            _BAD_REFRESH.but(
                when=_BAD_REFRESH.when + " Also a bad token in the `Authorization` header."
            ),
        ],
        examples=[
            OpenApiExample("A refresh token", value={"refresh": _REFRESH}, request_only=True)
        ],
    )
    def post(self, request):
        data = LogoutInput(data=request.data)
        data.is_valid(raise_exception=True)
        token_revoke(refresh=data.validated_data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(ApiView):
    # Every account may ask who it is, gate devices included.
    permission_classes = [IsAuthenticated]

    @api_operation(
        operation_id="me",
        tags=["account"],
        summary="Who am I",
        description="The signed-in account and the operators it works for (`memberships`; "
        "`role` is `admin`, `attendant` or `device`). Any signed-in account may call it, "
        "gate devices included.",
        responses={200: OpenApiResponse(UserOutput, description="The signed-in account.")},
        errors=[NOT_AUTHENTICATED, AUTHENTICATION_FAILED],
        examples=[_USER_EXAMPLE],
    )
    def get(self, request):
        user = User.objects.prefetch_related("memberships__operator").get(pk=request.user.pk)
        return Response(UserOutput(user).data)
