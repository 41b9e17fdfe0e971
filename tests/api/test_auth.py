import pytest

from parkme.models import User

pytestmark = pytest.mark.django_db


def test_register_then_log_in_and_read_me(api):
    r = api.post(
        "/api/v1/auth/register/",
        {"email": "New.Driver@Example.test", "password": "a-long-unusual-pass-42"},
        format="json",
    )
    assert r.status_code == 201, r.content
    assert r.json()["email"] == "new.driver@example.test"
    assert "password" not in r.json()

    r = api.post(
        "/api/v1/auth/token/",
        {"email": "new.driver@example.test", "password": "a-long-unusual-pass-42"},
        format="json",
    )
    assert r.status_code == 200
    tokens = r.json()
    assert set(tokens) == {"access", "refresh"}

    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    me = api.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["email"] == "new.driver@example.test"
    assert me.json()["memberships"] == []


def test_refresh_rotates_the_refresh_token(api, alice):
    tokens = api.post(
        "/api/v1/auth/token/",
        {"email": alice.email, "password": "correct-horse-battery"},
        format="json",
    ).json()
    r = api.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert r.status_code == 200
    assert r.json()["access"]
    assert r.json()["refresh"] != tokens["refresh"]


def test_weak_password_is_refused_with_the_validators_message(api):
    r = api.post(
        "/api/v1/auth/register/",
        {"email": "x@example.test", "password": "password"},
        format="json",
    )
    assert r.status_code == 400
    body = r.json()["error"]
    assert body["code"] == "validation_error"
    assert "password" in body["fields"]
    assert not User.objects.filter(email="x@example.test").exists()


def test_registering_a_taken_email_is_a_400_not_a_500(api, alice):
    r = api.post(
        "/api/v1/auth/register/",
        {"email": alice.email.upper(), "password": "a-long-unusual-pass-42"},
        format="json",
    )
    assert r.status_code == 400
    assert "email" in r.json()["error"]["fields"]
    assert User.objects.filter(email__iexact=alice.email).count() == 1


def test_wrong_password_is_401_in_the_error_format(api, alice):
    r = api.post("/api/v1/auth/token/", {"email": alice.email, "password": "nope"}, format="json")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "authentication_failed"


def test_me_without_token_is_401(api):
    r = api.get("/api/v1/me/")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "not_authenticated"


def test_garbage_bearer_token_is_401(api):
    api.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")
    r = api.get("/api/v1/me/")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "authentication_failed"


@pytest.mark.parametrize(
    ("path", "kwargs"),
    [
        ("/api/v1/auth/token/refresh/", {"data": {"refresh": "not-a-token"}, "format": "json"}),
        ("/api/v1/me/", {"HTTP_AUTHORIZATION": "Bearer not-a-token"}),
    ],
)
def test_a_bad_token_gets_a_401_with_a_readable_message(api, path, kwargs):
    method = api.post if "refresh" in path else api.get
    r = method(path, **kwargs)
    assert r.status_code == 401
    error = r.json()["error"]
    assert error["code"] == "authentication_failed"
    assert "ErrorDetail" not in error["message"]
    assert "valid" in error["message"]  # "Token is invalid", "…not valid for any token type"
