"""Schemathesis drives every operation of /api/schema/ with every check it has: examples,
coverage (boundary values, missing and unexpected input, undocumented methods) and fuzzing,
in positive and negative mode, then stateful sequences along the schema's links.

Every check must pass: no 5xx, only documented statuses, content types and headers, every
body (errors included) valid against the schema, every request the schema calls invalid
refused with a 4xx, and every request it calls valid accepted. The one allowance is for
rules a JSON schema cannot state, which the schema describes in words: a window relative to
"now", references to rows that must exist, a duplicate plate or e-mail, Django's password
validators. A positive case refused for one of those, and nothing else, is accepted.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from datetime import timedelta

import jsonschema
import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core import signals
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import AccessToken
from schemathesis.checks import positive_data_acceptance
from schemathesis.generation.meta import TestPhase
from schemathesis.openapi.checks import RejectedPositiveData

from parkme.models import Role
from parkme.services import membership_set
from tests.api.conftest import api_client_for, booking_body, tomorrow_at
from tests.factories import FacilityFactory, UserFactory, VehicleFactory

pytestmark = pytest.mark.django_db

# Examples per operation and generation phase; ~2 minutes for the whole file on 2 cores.
MAX_EXAMPLES = 150
STATEFUL_STEPS = 100

_WINDOW = [
    r"^ends_at must be after starts_at\.$",
    r"^A booking lasts at (least|most) ",
    r"^starts_at is in the past\.$",
    r"^Bookings open at most \d+ days ahead\.$",
    r"^Give both starts_at and ends_at\.$",
]
# Per operation: body fields or parameters → the messages of rules the schema states only in
# words. A positive case refused with these messages, and no other, is not a failure.
UNSTATABLE_RULES: dict[str, dict[str, list[str]]] = {
    "permits_create": {
        "product": [
            r"^No permit product on sale has this id\.$",
            r"^This product belongs to another facility\.$",
        ],
        "valid_from": [
            r"^Today \(\d{4}-\d{2}-\d{2}, local\) or later\.$",
            r"^At most \d+ days ahead\.$",
        ],
        "plates": [r"^Each plate once\.$", r" already has one\.$"],
    },
    "permits_partial_update": {"plates": [r"^Each plate once\.$", r" already has one\.$"]},
    "auth_register": {
        "email": [r"^This e-mail is already registered\.$"],
        "password": [
            r"^The password is too similar to the ",
            r"^This password is too common\.$",
            r"^This password is entirely numeric\.$",
        ],
    },
    "vehicles_create": {"plate": [r"^You already have an active vehicle with this plate\.$"]},
    "vehicles_partial_update": {
        "plate": [r"^You already have an active vehicle with this plate\.$"]
    },
    "facilities_search": {
        "starts_at": _WINDOW,
        "ends_at": _WINDOW,
        "lat": [r"^Give both lat and lng\.$"],
        "lng": [r"^Give both lat and lng\.$"],
    },
    "facilities_detail": {"starts_at": _WINDOW, "ends_at": _WINDOW},
    "facilities_quote": {"starts_at": _WINDOW, "ends_at": _WINDOW},
    "bookings_create": {
        "starts_at": _WINDOW,
        "ends_at": _WINDOW,
        "facility": [r"^No active facility with this id\.$"],
        "vehicle": [r"^None of your active vehicles has this id\.$"],
        "spot_kind": [r"^A \w+ cannot use a \w+ spot\.$"],
        # Only the server can sign a quote token, and only for its own quote.
        "quote_token": [
            r"^This is not a quote token ParkMe issued\.$",
            r"^The quote was for another facility, window or spot kind\.$",
        ],
    },
    "bookings_extend": {
        "ends_at": [
            r"^Must be later than the current end\.$",
            r"^In the past\.$",
            r"^A booking lasts at most ",
        ]
    },
}


# Any operation: a NUL character anywhere is refused (docs/api.md, Conventions), by the
# serializer field or, in a query, path or cookie, before any view.
NUL = r"^(Null|NUL) characters are not allowed\.$"
NUL_ANYWHERE = "The request contains a NUL character."


def _sent_nul(case) -> bool:
    sent = [case.body, case.query, case.path_parameters, case.headers, case.cookies]
    return "\\u0000" in json.dumps(sent, default=str)


def _refused_for_unstatable_rule(case, response) -> bool:
    """A 400 whose every message is one of the operation's UNSTATABLE_RULES (or the NUL
    refusal, when the request carried one)."""
    if response.status_code != 400:
        return False
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return False
    fields = error.get("fields") or {}
    nul = [NUL] if _sent_nul(case) else []
    if nul and error.get("message") == NUL_ANYWHERE:
        return True
    if error.get("code") not in ("validation_error", "duplicate_plate") or not fields:
        return False
    allowed = UNSTATABLE_RULES.get(case.operation.definition.raw.get("operationId"), {})
    return all(
        all(
            any(re.search(p, message) for p in [*allowed.get(name, []), *nul])
            for message in messages
        )
        for name, messages in fields.items()
    )


def positive_data_acceptance_but_unstatable_rules(ctx, response, case):
    """schemathesis' positive_data_acceptance, except UNSTATABLE_RULES."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if _refused_for_unstatable_rule(case, response):
            return None
        raise


@pytest.fixture
def raised_throttles():
    """Every throttle out of the way (the gate's is not raised by the test settings)."""
    framework = django_settings.REST_FRAMEWORK
    rates = dict.fromkeys(framework["DEFAULT_THROTTLE_RATES"], "1000000/minute")
    with override_settings(REST_FRAMEWORK={**framework, "DEFAULT_THROTTLE_RATES": rates}):
        yield


def _load_schema():
    """The schema /api/schema/ serves, built the same way (the generator needs no request,
    and collection may not touch the database), answered by the WSGI application."""
    generator = SchemaGenerator()
    raw = json.loads(OpenApiJsonRenderer().render(generator.get_schema(request=None, public=True)))
    loaded = schemathesis.openapi.from_dict(raw)
    loaded.app = get_wsgi_application()
    return loaded


schema = _load_schema()


@contextmanager
def _rolled_back():
    """Each example (or stateful scenario) starts from the same rows and an empty cache, so
    Hypothesis can replay and shrink what it finds."""
    try:
        with transaction.atomic():
            yield
            transaction.set_rollback(True)
    finally:
        cache.delete_pattern("*")  # this run's key prefix only


@pytest.fixture
def wsgi_in_test_transaction(raised_throttles):
    # Like Django's test client: keep the test's connection (and its transaction) open
    # across requests instead of closing it at the end of each one.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


# The accounts every case signs in as have fixed ids, so their tokens exist before any case
# is built (examples are built when the module is collected, before the database is up).
DRIVER_ID, DEVICE_ID = 7_000_001, 7_000_002


def _access_token(user_id: int) -> str:
    token = AccessToken()
    token[jwt_settings.USER_ID_CLAIM] = str(user_id)
    token.set_exp(lifetime=timedelta(hours=6))
    return str(token)


_TOKENS = {"driver": _access_token(DRIVER_ID), "device": _access_token(DEVICE_ID)}


@schema.auth(refresh_interval=None)
class BearerTokens:
    """Explicit auth, so schemathesis knows its requests are signed in: the driver's token,
    or the gate device's on the operator API."""

    def get(self, case, context):
        who = "device" if case.operation.path.startswith("/api/v1/operator/") else "driver"
        return _TOKENS[who]

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


# The stateful phase books for real now and then, so the links from a new booking lead
# somewhere: see map_case.
_BOOKABLE: dict[str, object] = {}


@schema.hook
def map_case(context, case):
    """In stateful scenarios only, a valid (positive) booking request books the garage for
    the driver's car tomorrow, so confirm, cancel, extend, check-in and check-out run on real
    bookings. Example, coverage and fuzzing cases are left as generated."""
    meta = case.meta
    if (
        _BOOKABLE
        and meta is not None
        and meta.phase.name == TestPhase.STATEFUL
        and meta.generation.mode.is_positive
        and case.method.upper() == "POST"
        and case.operation.path == "/api/v1/bookings/"
        and isinstance(case.body, dict)
    ):
        case.body = {**case.body, **_BOOKABLE}
    return case


@pytest.fixture
def accounts(garage):
    """The driver, with a car, and a gate device of the garage's operator."""
    driver = UserFactory(id=DRIVER_ID, email="fuzz@example.test")
    car = VehicleFactory(owner=driver, plate="FUZZ-1")
    device = UserFactory(id=DEVICE_ID, email="fuzz-gate@example.test")
    membership_set(user=device, operator=garage.operator, role=Role.DEVICE)
    start = tomorrow_at(10)
    _BOOKABLE.update(
        facility=garage.id,
        vehicle=car.id,
        starts_at=start.isoformat(),
        ends_at=(start + timedelta(hours=2)).isoformat(),
    )
    yield
    _BOOKABLE.clear()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_passes_every_check(case, accounts, wsgi_in_test_transaction):
    with _rolled_back():
        case.call_and_validate(
            excluded_checks=[positive_data_acceptance],
            additional_checks=[positive_data_acceptance_but_unstatable_rules],
        )


def test_every_operation_documents_its_errors_and_headers():
    """What a client may get is in the schema: its own error body and code enum per
    operation, X-Request-ID on every answer, WWW-Authenticate on 401, Retry-After on 429
    and 503."""
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 30
    for operation in operations:
        raw = operation.definition.raw
        name = "".join(w.capitalize() for w in raw["operationId"].split("_"))
        codes = schema.raw_schema["components"]["schemas"][f"{name}ErrorCode"]["enum"]
        assert {"throttled", "not_acceptable", "service_unavailable"} <= set(codes)
        for status, response in raw["responses"].items():
            assert "X-Request-ID" in response["headers"], (operation.label, status)
            if status.startswith(("4", "5")):
                body = response["content"]["application/json"]["schema"]
                assert body == {"$ref": f"#/components/schemas/{name}Error"}
                assert set(response["content"]["application/json"]["examples"]) <= set(codes)
            if status == "401":
                assert "WWW-Authenticate" in response["headers"]
            if status in ("429", "503"):
                assert "Retry-After" in response["headers"]
            if status.startswith("2") and status != "204":
                assert response["content"]["application/json"]["schema"], operation.label


def test_stateful_sequences_along_the_links(accounts, wsgi_in_test_transaction):
    links = sum(
        len(response.get("links", {}))
        for item in schema.raw_schema["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict)
        for response in operation.get("responses", {}).values()
    )
    assert links >= 12

    reached: set[tuple[str, int]] = set()

    class Machine(schema.as_state_machine()):
        def after_call(self, response, case):
            super().after_call(response, case)
            reached.add((case.operation.label, response.status_code))

        def setup(self):
            self._scenario = _rolled_back()
            self._scenario.__enter__()

        def teardown(self):
            self._scenario.__exit__(None, None, None)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(
                response,
                excluded_checks=[positive_data_acceptance],
                additional_checks=[positive_data_acceptance_but_unstatable_rules],
                transport_kwargs=kwargs or None,
                recorder=getattr(self, "recorder", None),
            )

    Machine.run(
        settings=settings(
            max_examples=STATEFUL_STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    # The links were followed to answers that did something.
    for step in [
        ("POST /api/v1/auth/token/", 200),  # after register
        ("POST /api/v1/auth/token/refresh/", 200),
        ("POST /api/v1/auth/logout/", 204),
        ("GET /api/v1/facilities/{facility_id}/quote/", 200),  # after search
        ("PATCH /api/v1/vehicles/{vehicle_id}/", 200),
        ("POST /api/v1/bookings/", 201),
        ("POST /api/v1/bookings/{public_id}/cancel/", 200),
    ]:
        assert step in reached, (step, sorted(reached))


# --- the schema read by a strict OAS 3.0.3 validator -------------------------------------


def _strict_oas30(node):
    """OAS 3.0.3 Schema Objects as JSON Schema, the way strict 3.0 validators (for example
    openapi-schema-validator) read them: ``nullable: true`` adds null to the ``type`` of the
    same object only, and does nothing without one."""
    if isinstance(node, list):
        return [_strict_oas30(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict_oas30(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True and isinstance(node.get("type"), str):
        out["type"] = [node["type"], "null"]
    return out


def _validator(component: str):
    components = _strict_oas30(schema.raw_schema["components"])
    return jsonschema.Draft4Validator(
        {"$ref": f"#/components/schemas/{component}", "components": components}
    )


def _answer_conforms(operation_id: str, response) -> None:
    """The body validates strictly against the operation's documented response, and every
    documented required header is sent and valid."""
    operation = next(
        op
        for item in schema.raw_schema["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and op.get("operationId") == operation_id
    )
    documented = operation["responses"][str(response.status_code)]
    ref = documented["content"]["application/json"]["schema"]["$ref"]
    errors = list(_validator(ref.rsplit("/", 1)[1]).iter_errors(response.json()))
    assert not errors, [e.message for e in errors]
    headers = schema.raw_schema["components"]["headers"]
    for name, header in documented["headers"].items():
        spec = headers[header["$ref"].rsplit("/", 1)[1]]
        if spec["required"]:
            assert response.has_header(name), name
        if response.has_header(name):
            value = response[name]
            if spec["schema"]["type"] == "integer":
                value = int(value)
            assert not list(jsonschema.Draft4Validator(spec["schema"]).iter_errors(value)), (
                name,
                value,
            )


def test_null_references_are_null_for_a_strict_oas30_validator(api, garage, device_of):
    """`{"booking": null}` from a gate, a facility without a rate plan and a booking
    without a vehicle validate; drf-spectacular's `allOf` + `nullable` form would not."""
    drf_form = {
        "$ref": "#/components/schemas/Probe",
        "components": _strict_oas30(
            {
                "schemas": {
                    "Probe": {
                        "nullable": True,
                        "allOf": [{"$ref": "#/components/schemas/OvernightOutput"}],
                    },
                    "OvernightOutput": schema.raw_schema["components"]["schemas"][
                        "OvernightOutput"
                    ],
                }
            }
        ),
    }
    assert not jsonschema.Draft4Validator(drf_form).is_valid(None)  # the validator is strict

    gate = api_client_for(device_of(garage.operator)).post(
        "/api/v1/operator/gate-events/",
        {"facility": garage.id, "plate": "NOBODY-1", "direction": "entry"},
        format="json",
    )
    assert gate.status_code == 200
    assert gate.json()["booking"] is None
    _answer_conforms("operator_gate_events", gate)

    planless = FacilityFactory(name="No rate board yet")
    detail = api.get(f"/api/v1/facilities/{planless.id}/")
    assert detail.status_code == 200
    assert detail.json()["rate_board"] is None
    _answer_conforms("facilities_detail", detail)

    alice = UserFactory()
    car = VehicleFactory(owner=alice)
    made = api_client_for(alice).post(
        "/api/v1/bookings/", booking_body(garage, car, tomorrow_at(9)), format="json"
    )
    assert made.status_code == 201
    anonymised = {**made.json(), "vehicle": None}
    assert not list(_validator("BookingOutput").iter_errors(anonymised))
    assert list(_validator("BookingOutput").iter_errors({**anonymised, "vehicle": 7}))


def test_throttled_and_refused_answers_are_as_documented(api, raised_throttles):
    """Retry-After on a 429, WWW-Authenticate on a 401, X-Request-ID everywhere, and each
    code from the operation's own enum."""
    framework = django_settings.REST_FRAMEWORK
    rates = {**framework["DEFAULT_THROTTLE_RATES"], "anon": "1/hour"}
    with override_settings(REST_FRAMEWORK={**framework, "DEFAULT_THROTTLE_RATES": rates}):
        assert api.get("/api/v1/facilities/").status_code == 200
        throttled = api.get("/api/v1/facilities/")
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "throttled"
    assert int(throttled["Retry-After"]) >= 1
    _answer_conforms("facilities_search", throttled)

    unauthenticated = api.get("/api/v1/bookings/")
    assert unauthenticated.status_code == 401
    assert unauthenticated["WWW-Authenticate"] == 'Bearer realm="api"'
    _answer_conforms("bookings_list", unauthenticated)

    spent = api.post("/api/v1/auth/logout/", {"refresh": "not-a-token"}, format="json")
    assert spent.status_code == 401
    _answer_conforms("auth_logout", spent)
    codes = schema.raw_schema["components"]["schemas"]["AuthLogoutErrorCode"]["enum"]
    assert "no_availability" not in codes  # each operation lists its own codes only
    assert {"authentication_failed", "validation_error", "throttled"} <= set(codes)
