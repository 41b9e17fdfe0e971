"""Probes staff could send (or be tricked into sending) never break the admin.

Every changelist registered in the admin, as a superuser and as an operator admin, gets
query strings with NUL characters (in values and in names), dates past the calendar
(9999-12-31 + 1 day, year 10000) and before it, huge and negative integers and unknown or
forbidden lookups; so do the object pages, the autocomplete view and a few forms. Nothing
answers 5xx: a NUL is a 400 before any view sees it, a value no date or column can hold is
a 400 (parkme.middleware.BadInputMiddleware), a lookup the admin does not know sends staff
back to the list with its "?e=1" error (302), and what is merely unusual (no such id) is an
empty list (200). POSTs with a NUL change nothing in the database.

Each GET probe runs in its own savepoint and is rolled back: in production every request
has its own transaction, so a probe that makes PostgreSQL refuse a statement (DataError)
must not poison the next probe, which shares the test's transaction.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.sessions.models import Session
from django.db import models, transaction
from django.urls import path, reverse

from bookings.states import BookingStatus
from tests.admin.conftest import client_for

HUGE = "99999999999999999999"  # past bigint
ENDLESS = "9" * 5000  # past Python's int() digit limit
NUL_MESSAGE = "The request contains a NUL character."

pytestmark = pytest.mark.filterwarnings(
    # The date probes are naive on purpose, as typed into a URL.
    "ignore:DateTimeField .* received a naive datetime:RuntimeWarning"
)

REGISTRY = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
LABELS = [model._meta.label for model, _ in REGISTRY]

# What a probe may answer, by kind (when the persona may view the list at all).
NUL = frozenset({400})
OUT_OF_RANGE = frozenset({200, 302, 400})  # applied, refused as a lookup, or refused
UNUSUAL = frozenset({200, 302})  # an empty list, or the list's lookup error
UNKNOWN_LOOKUP = frozenset({302})
FORBIDDEN_LOOKUP = frozenset({302, 400})  # never applied (never 200)
BAD_PATTERN = frozenset({302, 400})


def _plain_filters(model_admin) -> list[str]:
    names = []
    for entry in model_admin.list_filter:
        name = entry[0] if isinstance(entry, tuple) else entry
        if isinstance(name, str):
            names.append(name)
    return names


def changelist_probes(model, model_admin) -> Iterator[tuple[str, frozenset[int]]]:
    """(query string, allowed statuses) for one changelist, from its own configuration."""
    # NUL in values and in names, in the admin's own parameters and in each filter.
    for query in ("q=%00", "q=plate%00", "%00=1", "x%00y=1", "o=%00", "p=%00", "e=%00"):
        yield query, NUL
    yield "_to_field=%00", NUL
    for name in _plain_filters(model_admin):
        yield f"{name}__exact=%00", NUL
        yield f"{name}__isnull=%00", NUL
    # Huge and negative integers.
    for query in (
        f"id__exact={HUGE}",
        "pk=-1",
        f"id__in=1,{HUGE}",
        f"id__gte=-{HUGE}",
        f"id__exact={ENDLESS}",
        f"p={HUGE}",
        f"o={HUGE}",
        f"o=-{HUGE}.1",
    ):
        yield query, UNUSUAL
    for name in _plain_filters(model_admin):
        if "__" not in name and model._meta.get_field(name).is_relation:
            yield f"{name}__id__exact={HUGE}", UNUSUAL
    # Unknown and forbidden lookups.
    yield "foo__bar=1", UNKNOWN_LOOKUP
    yield "facility__operator__memberships__user__password__startswith=x", FORBIDDEN_LOOKUP
    # Days past either end of the calendar, in the bookings' day filter ...
    for day in ("9999-12-31", "0001-01-01", "10000-01-01"):
        yield f"day={day}", OUT_OF_RANGE
    # ... in the date hierarchy ...
    if hierarchy := model_admin.date_hierarchy:
        h = hierarchy
        for query in (
            f"{h}__year=9999&{h}__month=12&{h}__day=31",
            f"{h}__year=9999&{h}__month=12",
            f"{h}__year=9999",
            f"{h}__year=10000",
            f"{h}__year=0",
            f"{h}__year={HUGE}",
            f"{h}__year=1&{h}__month=1&{h}__day=1",
            f"{h}__year=1",
        ):
            yield query, OUT_OF_RANGE
        yield f"{h}__year=%00", NUL
    # ... and in lookups on every date of the model.
    for field in model._meta.concrete_fields:
        if isinstance(field, models.DateField):  # DateTimeField too
            f = field.name
            for query in (
                f"{f}__gte=9999-12-31",
                f"{f}__gte=9999-12-31+23:59:59",
                f"{f}__lt=0001-01-01",
                f"{f}__lt=0001-01-01+00:00:00",
                f"{f}__year=10000",
                f"{f}__year__gte=10000",
                f"{f}__year={HUGE}",
                f"{f}__date=9999-12-31",
            ):
                yield query, OUT_OF_RANGE
    # A pattern PostgreSQL cannot compile.
    text_fields = [
        f.name
        for f in model._meta.concrete_fields
        if isinstance(f, (models.CharField, models.TextField)) and not f.choices
    ]
    if text_fields:
        yield f"{text_fields[0]}__regex=%5B", BAD_PATTERN
        yield f"{text_fields[0]}__iregex=(", BAD_PATTERN


def object_probes(model) -> Iterator[tuple[str, str]]:
    """(url, kind) of the object pages with ids that cannot exist."""
    info = (model._meta.app_label, model._meta.model_name)
    for object_id in (HUGE, "-1", ENDLESS, "0001-01-01"):
        for view in ("change", "history", "delete"):
            yield reverse(f"admin:{info[0]}_{info[1]}_{view}", args=[object_id]), "missing"
        if model._meta.label == "facilities.Facility":
            yield reverse("admin:facilities_facility_dashboard", args=[object_id]), "missing"
    change = reverse(f"admin:{info[0]}_{info[1]}_change", args=["1"])
    yield change.replace("/1/change/", "/%00/change/"), "nul"
    yield reverse(f"admin:{info[0]}_{info[1]}_change", args=["1"]) + "?_to_field=%00", "nul"
    yield reverse(f"admin:{info[0]}_{info[1]}_add") + "?_changelist_filters=%00", "nul"


def get(client, url: str):
    """One GET in its own savepoint, rolled back like a request's own transaction."""
    savepoint = transaction.savepoint()
    try:
        return client.get(url)
    finally:
        transaction.savepoint_rollback(savepoint)


@pytest.fixture(params=["superuser", "operator admin"])
def persona(request, world, ops, admin_a):
    user = {"superuser": ops, "operator admin": admin_a}[request.param]
    client = client_for(user)
    client.raise_request_exception = False  # a 500 is a status to report, not a crash
    return client


@pytest.mark.parametrize("label", LABELS)
def test_every_changelist_refuses_probes_cleanly(label, persona):
    model, model_admin = next(item for item in REGISTRY if item[0]._meta.label == label)
    changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    may_view = get(persona, changelist).status_code
    assert may_view in (200, 403)

    wrong = []
    for query, allowed in changelist_probes(model, model_admin):
        response = get(persona, f"{changelist}?{query}")
        expected = allowed if (may_view == 200 or allowed == NUL) else frozenset({403})
        if response.status_code not in expected:
            wrong.append((query, response.status_code, sorted(expected)))
            continue
        if response.status_code == 302:  # the list's own error page, not somewhere else
            assert response["Location"] == f"{changelist}?e=1", query
        if allowed == NUL:
            assert response.content.decode() == NUL_MESSAGE, query
    assert not wrong, wrong
    if may_view == 200:  # the page the 302s lead to
        assert get(persona, f"{changelist}?e=1").status_code == 200


@pytest.mark.parametrize("label", LABELS)
def test_every_object_page_refuses_impossible_ids_cleanly(label, persona):
    model, _ = next(item for item in REGISTRY if item[0]._meta.label == label)

    wrong = []
    for url, kind in object_probes(model):
        status = get(persona, url).status_code
        expected = {400} if kind == "nul" else {302, 403}  # "no such object", or no access
        if status not in expected:
            wrong.append((url[:120], status, sorted(expected)))
    assert not wrong, wrong


# The probes of the issue, as reported.
ISSUE_PROBES = [
    "/admin/bookings/booking/?day=9999-12-31",
    "/admin/vehicles/platelookup/?at__year=9999&at__month=12&at__day=31",
    "/admin/bookings/booking/?status__exact=%00",
    "/admin/facilities/spot/?kind__exact=%00",
    "/admin/bookings/bookingevent/?to_status__exact=%00",
    "/admin/autocomplete/?app_label=bookings&model_name=booking&field_name=facility&term=%00",
]


@pytest.mark.parametrize("url", ISSUE_PROBES)
def test_the_reported_probes_are_400s(url, persona):
    response = get(persona, url)

    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"


AUTOCOMPLETE = "/admin/autocomplete/?app_label=parkme&model_name=membership&field_name=user"


@pytest.mark.parametrize(
    "term", ["%00", "a%00", "%00%00%00", "ops%00@example.test"], ids=["nul", "a-nul", "3", "mail"]
)
def test_autocomplete_refuses_nul_terms(term, persona):
    assert get(persona, f"{AUTOCOMPLETE}&term={term}").status_code == 400
    assert get(persona, f"{AUTOCOMPLETE}&te%00rm=x").status_code == 400


def test_autocomplete_still_answers_ordinary_terms(world, ops):
    """The control for the NUL probes: the same view answers a real search."""
    for term in ("ops", HUGE, "9999-12-31"):
        response = get(client_for(ops), f"{AUTOCOMPLETE}&term={term}")
        assert response.status_code == 200
        assert "results" in response.json()
    found = get(client_for(ops), f"{AUTOCOMPLETE}&term=ops").json()["results"]
    assert [row["text"] for row in found] == ["ops@example.test"]


# --- POSTs with a NUL change nothing ------------------------------------------------------


def database_state() -> dict[str, list]:
    """Every row of every model the admin shows, plus the admin log and sessions."""
    state = {}
    for model in [*(m for m, _ in REGISTRY), LogEntry, Session]:
        state[model._meta.label] = list(model._default_manager.order_by("pk").values())
    return state


def test_a_nul_in_the_login_form_is_refused_and_records_nothing(world, admin_a):
    client = client_for(None)
    client.raise_request_exception = False
    before = database_state()

    for data in (
        {"username": admin_a.email + "\x00", "password": "correct-horse-battery"},
        {"username": admin_a.email, "password": "correct-horse-battery\x00"},
        {"username": admin_a.email, "password": "x", "\x00": "1"},
    ):
        response = client.post("/admin/login/?next=/admin/", data)
        assert response.status_code == 400
        assert response.content.decode() == NUL_MESSAGE

    assert database_state() == before  # no session, no failed-attempt record
    assert client.get("/admin/").status_code == 302  # not logged in
    # The control: the same form without a NUL is answered and recorded (a failed attempt).
    control = client.post("/admin/login/", {"username": admin_a.email, "password": "x"})
    assert control.status_code == 200
    assert database_state() != before


def test_a_nul_in_a_change_form_changes_nothing(world, admin_a):
    spot = world.a.spot
    client = client_for(admin_a)
    client.raise_request_exception = False
    url = reverse("admin:facilities_spot_change", args=[spot.pk])
    form = {
        "zone": spot.zone_id,
        "code": "SPOT-RENAMED",
        "kind": spot.kind,
        "status": spot.status,
        "is_active": "on",
    }
    before = database_state()

    for forged in (
        {**form, "code": "SPOT-\x00"},
        {**form, "kind": "standard\x00"},
        {**form, "zone\x00": "1"},
        {**form, "_save": "Save\x00"},
    ):
        assert client.post(url, forged).status_code == 400

    assert database_state() == before
    # The control: the same form without a NUL saves.
    assert client.post(url, form).status_code == 302
    spot.refresh_from_db()
    assert spot.code == "SPOT-RENAMED"


def test_a_nul_in_a_booking_action_changes_nothing(world, admin_a):
    booking = world.a.booking
    client = client_for(admin_a)
    client.raise_request_exception = False
    url = reverse("admin:bookings_booking_changelist")
    action = {"action": "cancel", "_selected_action": [str(booking.pk)], "reason": "Flooded"}
    before = database_state()

    for forged in (
        {**action, "reason": "Flooded\x00"},
        {**action, "_selected_action": [str(booking.pk), "\x00"]},
        {**action, "action": "cancel\x00"},
    ):
        assert client.post(url, forged).status_code == 400

    assert database_state() == before
    # The control: the action without a NUL cancels the booking.
    assert client.post(url, action).status_code == 302
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED


def test_a_nul_in_the_membership_form_adds_nobody(world, ops, admin_a, bob):
    clients = [client_for(ops), client_for(admin_a)]
    before = database_state()
    for client in clients:
        client.raise_request_exception = False
        response = client.post(
            reverse("admin:parkme_membership_add"),
            {"email": bob.email + "\x00", "operator": world.a.operator.pk, "role": "admin"},
        )
        assert response.status_code == 400
    assert database_state() == before


# --- the API ---------------------------------------------------------------------------------


def test_api_refuses_a_nul_in_the_query_string(db):
    client = client_for(None)

    response = client.get("/api/v1/facilities/?kind=%00")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"] == NUL_MESSAGE
    assert error["fields"] == {"kind": ["NUL characters are not allowed."]}


# --- the middleware itself, on views that fail while rendering ------------------------------


class _Unprintable:
    """A value that only fails when the template prints it, after the view returned."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __str__(self) -> str:
        raise self.error


def _lazy_view(request, kind: str):
    from django.template import engines
    from django.template.response import TemplateResponse

    errors = {
        "overflow": OverflowError("date value out of range"),
        "year": ValueError("year 10000 is out of range"),
        "bug": ValueError("invalid literal for int() with base 10: 'x'"),
    }
    template = engines["django"].from_string("<p>{{ value }}</p>")
    return TemplateResponse(request, template, {"value": _Unprintable(errors[kind])})


urlpatterns = [
    path("lazy/<str:kind>/", _lazy_view),
    path("api/lazy/<str:kind>/", _lazy_view),
]


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("kind", ["overflow", "year"])
def test_a_value_out_of_range_found_while_rendering_is_a_400(db, kind):
    client = client_for(None)

    page = client.get(f"/lazy/{kind}/")
    api = client.get(f"/api/lazy/{kind}/")

    assert page.status_code == 400
    assert page.content.decode() == "A value in the request is out of range."
    assert api.status_code == 400
    assert api.json()["error"]["code"] == "validation_error"


@pytest.mark.urls(__name__)
def test_any_other_error_is_still_a_500(db):
    """Only out-of-range values are the client's fault; a bug stays a 500 (and is reported)."""
    client = client_for(None)
    client.raise_request_exception = False

    assert client.get("/lazy/bug/").status_code == 500
