"""Core /api/v1/ routes: accounts and tokens. config.urls composes every app's routes."""

from django.urls import path

from parkme.api import auth

urlpatterns = [
    path("auth/register/", auth.RegisterView.as_view(), name="auth-register"),
    path("auth/token/", auth.TokenView.as_view(), name="auth-token"),
    path("auth/token/refresh/", auth.RefreshView.as_view(), name="auth-token-refresh"),
    path("auth/logout/", auth.LogoutView.as_view(), name="auth-logout"),
    path("me/", auth.MeView.as_view(), name="me"),
]
