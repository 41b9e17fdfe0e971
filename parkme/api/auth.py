"""Registration, JWT tokens and the current user."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from parkme.api.fields import StrictSerializer
from parkme.api.throttles import AuthThrottle
from parkme.api.views import ApiView
from parkme.models import User
from parkme.services import token_revoke, user_register


class RegisterInput(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)
    full_name = serializers.CharField(max_length=150, required=False, allow_blank=True)

    def validate(self, attrs):
        candidate = User(email=attrs["email"].lower(), full_name=attrs.get("full_name", ""))
        try:
            validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from exc
        return attrs


class MembershipOutput(serializers.Serializer):
    operator = serializers.IntegerField(source="operator_id")
    operator_name = serializers.CharField(source="operator.name")
    role = serializers.CharField()


class UserOutput(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    full_name = serializers.CharField()
    memberships = MembershipOutput(many=True)


class RegisterView(ApiView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthThrottle]

    @extend_schema(request=RegisterInput, responses={201: UserOutput}, operation_id="auth_register")
    def post(self, request):
        data = RegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_register(**data.validated_data)
        return Response(UserOutput(user).data, status=status.HTTP_201_CREATED)


class TokenInput(StrictSerializer, TokenObtainPairSerializer):
    pass


class RefreshInput(StrictSerializer, TokenRefreshSerializer):
    pass


class TokenView(TokenObtainPairView):
    serializer_class = TokenInput
    throttle_classes = [AuthThrottle]


class RefreshView(TokenRefreshView):
    """Rotation: the answer carries a new refresh token and the one sent is blacklisted,
    so a refresh token works once (a replay is 401)."""

    serializer_class = RefreshInput
    throttle_classes = [AuthThrottle]


class LogoutInput(StrictSerializer):
    refresh = serializers.CharField(max_length=4096)


class LogoutView(ApiView):
    """Revoke a refresh token (blacklist it). Whoever holds the token may revoke it; the
    access tokens it issued stay valid until they expire (minutes)."""

    permission_classes = [AllowAny]
    throttle_classes = [AuthThrottle]

    @extend_schema(request=LogoutInput, responses={204: None}, operation_id="auth_logout")
    def post(self, request):
        data = LogoutInput(data=request.data)
        data.is_valid(raise_exception=True)
        token_revoke(refresh=data.validated_data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(ApiView):
    # Every account may ask who it is, gate devices included.
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=UserOutput, operation_id="me")
    def get(self, request):
        user = User.objects.prefetch_related("memberships__operator").get(pk=request.user.pk)
        return Response(UserOutput(user).data)
