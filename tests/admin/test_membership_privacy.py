"""The membership add form does not tell an operator admin who has a ParkMe account.

Adding an e-mail that has an account and one that has none give the same status, the same
redirect and the same message; only the e-mail with an account becomes a member, and the
other leaves the database as it was (no membership, no user, no history entry)."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.urls import reverse

from parkme.models import Membership, User

ADD = "admin:parkme_membership_add"
KNOWN, UNKNOWN = "has.account@example.test", "no.account@example.test"


def add_member(client, email: str, operator, **extra):
    return client.post(
        reverse(ADD), {"email": email, "operator": operator.pk, "role": "attendant", **extra}
    )


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def answer(response, email: str) -> tuple:
    """What the admin sees, with the e-mail they typed taken out."""
    return (
        response.status_code,
        response.get("Location"),
        [text.replace(email, "<e-mail>") for text in messages_of(response)],
    )


def database_rows() -> tuple:
    return (
        sorted(Membership.objects.values_list("pk", "user_id", "operator_id", "role")),
        User.objects.count(),
        LogEntry.objects.count(),
    )


@pytest.mark.parametrize("button", [{}, {"_continue": "1"}, {"_addanother": "1"}])
def test_known_and_unknown_emails_get_the_same_answer(world, admin_a, as_user, button):
    known = User.objects.create_user(email=KNOWN, password="irrelevant-pass-1")
    operator = world.a.operator

    before = database_rows()
    unknown_response = add_member(as_user(admin_a), UNKNOWN, operator, **button)
    assert database_rows() == before  # nothing created, changed or logged

    known_response = add_member(as_user(admin_a), KNOWN, operator, **button)

    assert answer(known_response, KNOWN) == answer(unknown_response, UNKNOWN)
    assert unknown_response.status_code == 302
    expected = "/add/" if button == {"_addanother": "1"} else "/parkme/membership/"
    assert unknown_response["Location"].endswith(expected)
    (text,) = messages_of(unknown_response)
    assert text.startswith(f"If {UNKNOWN} belongs to a ParkMe account, that account is now")
    # Only the account was added, with the role asked for.
    membership = Membership.objects.get(user=known, operator=operator)
    assert membership.role == "attendant"
    assert not User.objects.filter(email=UNKNOWN).exists()


def test_the_followed_pages_read_the_same(world, admin_a, as_user):
    """The list page the admin lands on shows the same message either way (only the new
    row in the list, which they are allowed to see, differs)."""
    User.objects.create_user(email=KNOWN, password="irrelevant-pass-1")

    pages = {}
    for email in (UNKNOWN, KNOWN):
        response = as_user(admin_a).post(
            reverse(ADD),
            {"email": email, "operator": world.a.operator.pk, "role": "admin"},
            follow=True,
        )
        assert response.status_code == 200
        assert response.redirect_chain == [(reverse("admin:parkme_membership_changelist"), 302)]
        html = response.content.decode()
        start = html.index('<ul class="messagelist">')
        pages[email] = html[start : html.index("</ul>", start)].replace(email, "<e-mail>")

    assert pages[UNKNOWN] == pages[KNOWN]
    assert "No ParkMe account" not in pages[UNKNOWN]


def test_an_existing_member_is_still_named_as_one(world, admin_a, as_user):
    """Someone already in this operator's list (which the admin can read) gets the form
    error, so the admin changes that membership instead of making a second one."""
    member = world.a.membership.user
    before = database_rows()

    response = add_member(as_user(admin_a), member.email, world.a.operator)

    assert response.status_code == 200
    assert "Already a member of this operator" in response.content.decode()
    assert database_rows() == before


def test_an_unknown_email_for_another_operator_is_refused_like_a_known_one(world, admin_a, as_user):
    """The operator choice is checked first: admin of A cannot add to B, whoever the e-mail
    belongs to, and the two refusals look the same."""
    User.objects.create_user(email=KNOWN, password="irrelevant-pass-1")
    client = as_user(admin_a)
    before = database_rows()

    refusals = [add_member(client, email, world.b.operator) for email in (KNOWN, UNKNOWN)]

    assert [r.status_code for r in refusals] == [200, 200]
    bodies = [r.content.decode() for r in refusals]
    assert all("Select a valid choice" in body for body in bodies)
    assert database_rows() == before
