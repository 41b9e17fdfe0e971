"""Brute force on the admin login: django-axes locks one account from one address.

After AXES_FAILURE_LIMIT (5) wrong passwords for one account from one address, that pair
is locked out: the right password is refused too (429, a readable page) until the cool-off
(30 minutes) has passed or ops unlock it. Other addresses and other accounts are not
affected, a successful login clears the count, and the API's token endpoint (with its own
throttle) is not locked by the admin's lockouts."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from parkme.models import Role
from tests import factories
from tests.admin.conftest import staff

LOGIN = "/admin/login/?next=/admin/"
ATTACKER, OFFICE = "203.0.113.7", "198.51.100.20"
LIMIT = 5


@pytest.fixture
def victim(operator_a):
    return staff("admin@a.test", operator_a, Role.ADMIN)


@pytest.fixture
def colleague(operator_a):
    return staff("attendant@a.test", operator_a, Role.ATTENDANT)


def log_in(email: str, password: str, ip: str) -> tuple[Client, object]:
    client = Client()
    response = client.post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=ip)
    return client, response


def logged_in(client: Client) -> bool:
    return client.get(reverse("admin:index")).status_code == 200


def assert_logs_in(email: str, ip: str) -> None:
    client, response = log_in(email, factories.PASSWORD, ip)
    assert response.status_code == 302, response.content[:300]
    assert response["Location"] == "/admin/"
    assert logged_in(client)


def assert_locked_out(email: str, ip: str, password: str = factories.PASSWORD) -> None:
    client, response = log_in(email, password, ip)
    assert response.status_code == 429
    assert "Account locked: too many login attempts" in response.content.decode()
    assert not logged_in(client)


def fail(email: str, ip: str, times: int) -> list[int]:
    return [log_in(email, "not-the-password", ip)[1].status_code for _ in range(times)]


def test_settings_are_the_documented_ones():
    assert settings.AXES_FAILURE_LIMIT == LIMIT
    assert settings.AXES_COOLOFF_TIME == timedelta(minutes=30)


def test_five_wrong_passwords_lock_the_account_from_that_address(victim, colleague):
    statuses = fail(victim.email, ATTACKER, LIMIT)

    # Four wrong answers are the login form again; the fifth reaches the limit.
    assert statuses == [200] * (LIMIT - 1) + [429]
    # The sixth attempt is refused although the password is right.
    assert_locked_out(victim.email, ATTACKER)
    # The same account from another address, and another account from the attacker's
    # address, still log in.
    assert_logs_in(victim.email, OFFICE)
    assert_logs_in(colleague.email, ATTACKER)


def test_the_lockout_page_is_readable(victim):
    fail(victim.email, ATTACKER, LIMIT)

    _, response = log_in(victim.email, factories.PASSWORD, ATTACKER)

    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/html")
    assert response.content.decode().strip() == (
        "Account locked: too many login attempts. Please try again later."
    )


def test_the_lock_lifts_after_the_cool_off(victim):
    fail(victim.email, ATTACKER, LIMIT)
    assert_locked_out(victim.email, ATTACKER)

    # 29 minutes later it is still locked ...
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=29))
    assert_locked_out(victim.email, ATTACKER)
    # ... (and that attempt, during the lock, started the cool-off again) ...
    assert AccessAttempt.objects.get().attempt_time > timezone.now() - timedelta(minutes=1)
    # ... and once the cool-off has passed since the last attempt, the right password works.
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=31))
    assert_logs_in(victim.email, ATTACKER)


def test_a_superuser_unlocks_the_account_in_the_admin(victim, ops):
    fail(victim.email, ATTACKER, LIMIT)
    attempt = AccessAttempt.objects.get(username=victim.email)

    ops_client, _ = log_in(ops.email, factories.PASSWORD, OFFICE)
    listing = ops_client.get(reverse("admin:axes_accessattempt_changelist"))
    assert listing.status_code == 200
    assert victim.email in listing.content.decode()
    deleted = ops_client.post(
        reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"}
    )

    assert deleted.status_code == 302
    assert not AccessAttempt.objects.filter(username=victim.email).exists()
    assert_logs_in(victim.email, ATTACKER)


def test_ops_unlock_the_account_from_the_command_line(victim):
    fail(victim.email, ATTACKER, LIMIT)
    assert_locked_out(victim.email, ATTACKER)

    out = io.StringIO()
    call_command("axes_reset_username", victim.email, stdout=out)

    assert "1 attempts removed." in out.getvalue()
    assert_logs_in(victim.email, ATTACKER)


def test_an_operator_admin_cannot_unlock_anyone(victim, colleague, operator_a):
    """Unlocking is for ops: an operator admin does not even see the attempts."""
    other_admin = staff("admin2@a.test", operator_a, Role.ADMIN)
    fail(colleague.email, ATTACKER, LIMIT)
    client, _ = log_in(other_admin.email, factories.PASSWORD, OFFICE)

    assert client.get(reverse("admin:axes_accessattempt_changelist")).status_code == 403
    attempt = AccessAttempt.objects.get(username=colleague.email)
    client.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()


def test_a_successful_login_resets_the_count(victim):
    assert fail(victim.email, ATTACKER, LIMIT - 1) == [200] * (LIMIT - 1)
    assert_logs_in(victim.email, ATTACKER)

    # Without the reset, these would be failures 5 to 8 and lock the account.
    assert fail(victim.email, ATTACKER, LIMIT - 1) == [200] * (LIMIT - 1)
    assert_logs_in(victim.email, ATTACKER)


def test_the_api_token_endpoint_is_not_locked_by_admin_lockouts(victim):
    fail(victim.email, ATTACKER, LIMIT)
    assert_locked_out(victim.email, ATTACKER)
    api = Client()

    def token(password: str):
        return api.post(
            "/api/v1/auth/token/",
            json.dumps({"email": victim.email, "password": password}),
            content_type="application/json",
            REMOTE_ADDR=ATTACKER,
        )

    # Wrong passwords on the API keep their own answer (401 in the error format), past the
    # admin's limit too; the API's `auth` throttle is what limits them.
    for _ in range(LIMIT + 1):
        wrong = token("not-the-password")
        assert wrong.status_code == 401
        assert wrong.json()["error"]["code"] == "authentication_failed"
    # The right password gets tokens from the address the admin has locked out.
    right = token(factories.PASSWORD)
    assert right.status_code == 200
    assert set(right.json()) >= {"access", "refresh"}
    # ... and the admin lock is still in place.
    assert_locked_out(victim.email, ATTACKER)


def test_behind_the_proxy_the_lock_is_per_client_address(victim, settings):
    """Production runs behind nginx (NUM_PROXIES=1): the client is the address nginx puts
    in X-Forwarded-For, so an attacker elsewhere must not lock the victim out of the
    office."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}

    def via_proxy(password: str, client_ip: str):
        return Client().post(
            LOGIN,
            {"username": victim.email, "password": password},
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR=client_ip,
        )

    assert [via_proxy("not-the-password", ATTACKER).status_code for _ in range(LIMIT)][-1] == 429
    assert via_proxy(factories.PASSWORD, OFFICE).status_code == 302
