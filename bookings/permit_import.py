"""Importing permits from a CSV file (``manage.py import_permits``): all or nothing.

Two passes. First every row is read on its own (product of the operator, plates, date,
holder or fleet contact), so a file full of typos is explained in one go. Then, in one
transaction, every row is issued through ``permit_create`` exactly as staff issue one in
the admin (sales cap, plate rules, events, notices); a row the service refuses (sold out,
a plate already on a permit, …) is reported with its line and the whole import rolls back,
notices included (they are only sent on commit). A dry run does all of it and rolls back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower

from bookings.models import PermitProduct
from bookings.permits import PermitOrder, permit_create, plates_clean
from bookings.states import ActorKind
from parkme.errors import ParkMeError, ValidationFailed
from parkme.models import Operator, User
from parkme.tenancy import device_account

IMPORT_COLUMNS = ["product", "plates", "valid_from"]
IMPORT_OPTIONAL_COLUMNS = ["holder_email", "company_name", "contact_email", "auto_renew"]
MAX_REPORTED_ERRORS = 50
_PLATE_SEPARATORS = re.compile(r"[\s,;]+")
_TRUE = {"true", "yes", "1", "y"}
_FALSE = {"false", "no", "0", "n"}


@dataclass(frozen=True)
class PermitImportResult:
    created: int
    references: list[str]
    dry_run: bool


class _RollBack(Exception):
    """Leaves the import's transaction after a dry run."""


def _product_lookup(
    operator: Operator,
) -> tuple[dict[int, PermitProduct], dict[str, list[PermitProduct]]]:
    products = list(PermitProduct.objects.for_operator(operator).select_related("facility"))
    by_name: dict[str, list[PermitProduct]] = {}
    for product in products:
        by_name.setdefault(product.name.casefold(), []).append(product)
    return {p.pk: p for p in products}, by_name


def _users_by_email(rows: list[tuple[int, Mapping[str, str]]]) -> dict[str, User]:
    """Driver accounts named by the file, by lower-cased e-mail (one query)."""
    emails = {(row.get("holder_email") or "").strip().lower() for _, row in rows} - {""}
    if not emails:
        return {}
    users = User.objects.annotate(email_lower=Lower("email"), is_device=device_account()).filter(
        email_lower__in=emails, is_active=True, is_device=False
    )
    return {user.email_lower: user for user in users}


def _read_row(
    row: Mapping[str, str],
    *,
    operator: Operator,
    by_id: dict[int, PermitProduct],
    by_name: dict[str, list[PermitProduct]],
    users: dict[str, User],
) -> tuple[PermitOrder | None, list[str]]:
    """The order a row asks for, or what is wrong with it."""
    problems: list[str] = []
    product_text = (row.get("product") or "").strip()
    product = None
    if not product_text:
        problems.append("product is empty")
    elif product_text.isdigit() and int(product_text) in by_id:
        product = by_id[int(product_text)]
    else:
        named = by_name.get(product_text.casefold(), [])
        if len(named) == 1:
            product = named[0]
        elif len(named) > 1:
            facilities = ", ".join(sorted(p.facility.slug for p in named))
            problems.append(
                f"product {product_text!r} is sold at several facilities ({facilities}): "
                "give its id"
            )
        else:
            problems.append(f"no permit product {product_text!r} in {operator.name}")

    plates = [p for p in _PLATE_SEPARATORS.split((row.get("plates") or "").strip()) if p]
    try:
        plates, _ = plates_clean(plates)
    except ValidationFailed as exc:
        details = exc.fields.get("plates") or [exc.message]
        problems.append("plates: " + " ".join(details))

    valid_from_text = (row.get("valid_from") or "").strip()
    valid_from: date | None = None
    try:
        valid_from = date.fromisoformat(valid_from_text)
    except ValueError:
        problems.append(f"valid_from {valid_from_text!r} is not a date (YYYY-MM-DD)")

    holder_email = (row.get("holder_email") or "").strip()
    company = (row.get("company_name") or "").strip()
    contact = (row.get("contact_email") or "").strip()
    holder = None
    if holder_email:
        if company or contact:
            problems.append("give holder_email or company_name+contact_email, not both")
        holder = users.get(holder_email.lower())
        if holder is None:
            problems.append(f"no driver account with e-mail {holder_email!r}")
    elif not (company and contact):
        problems.append("give holder_email, or company_name and contact_email")
    else:
        try:
            validate_email(contact)
        except ValidationError:
            problems.append(f"contact_email {contact!r} is not an e-mail address")
        if len(company) > 120:
            problems.append("company_name is longer than 120 characters")

    renew_text = (row.get("auto_renew") or "").strip().lower()
    auto_renew = True
    if renew_text in _FALSE:
        auto_renew = False
    elif renew_text and renew_text not in _TRUE:
        problems.append(f"auto_renew {renew_text!r} is not true or false")

    if problems or product is None or valid_from is None:
        return None, problems
    return (
        PermitOrder(
            product_id=product.pk,
            plates=plates,
            valid_from=valid_from,
            auto_renew=auto_renew,
            holder=holder,
            company_name="" if holder else company,
            contact_email="" if holder else contact,
        ),
        [],
    )


def _service_problem(exc: ParkMeError) -> str:
    details = [
        f"{field}: {' '.join(p if isinstance(p, list) else [str(p)])}"
        for field, p in exc.fields.items()
    ]
    return exc.message + (f" ({'; '.join(details)})" if details else "")


def _refuse(errors: list[str], *, stage: str) -> ValidationFailed:
    shown = errors[:MAX_REPORTED_ERRORS]
    if len(errors) > len(shown):
        shown.append(f"… and {len(errors) - len(shown)} more")
    return ValidationFailed(
        f"{len(errors)} row(s) {stage}; nothing was imported.", fields={"rows": shown}
    )


def permit_import(
    *,
    operator: Operator,
    rows: Iterable[tuple[int, Mapping[str, str]]],
    actor: User | None = None,
    dry_run: bool = False,
) -> PermitImportResult:
    """Issue a permit per (line number, row), all or none: ValidationFailed with
    ``fields={"rows": ["line N: …", …]}`` names every bad line. Products are looked up
    among the operator's own only (another operator's product is "no permit product").
    ``actor`` is the staff member recorded in each permit's history, if known."""
    rows = list(rows)
    if not rows:
        raise ValidationFailed("The file has no permit rows.", fields={"rows": ["no rows"]})
    by_id, by_name = _product_lookup(operator)
    users = _users_by_email(rows)
    orders: list[tuple[int, PermitOrder]] = []
    errors: list[str] = []
    for line, row in rows:
        order, problems = _read_row(
            row, operator=operator, by_id=by_id, by_name=by_name, users=users
        )
        if problems:
            errors.append(f"line {line}: " + "; ".join(problems))
        elif order is not None:
            orders.append((line, order))
    if errors:
        raise _refuse(errors, stage="are not valid")

    references: list[str] = []
    try:
        with transaction.atomic():
            for line, order in orders:
                try:
                    # Each call is its own savepoint: a refused row leaves the rest usable,
                    # so every refusal is reported before the whole import rolls back.
                    permit = permit_create(
                        order=order,
                        # A command run may have no staff account behind it: the history
                        # then says "staff" without naming one (as system moves do).
                        actor=actor,  # type: ignore[arg-type]
                        actor_kind=ActorKind.STAFF,
                    )
                except ParkMeError as exc:
                    errors.append(f"line {line}: {_service_problem(exc)}")
                else:
                    references.append(permit.reference)
            if errors:
                raise _refuse(errors, stage="were refused")
            if dry_run:
                raise _RollBack
    except _RollBack:
        pass
    return PermitImportResult(created=len(references), references=references, dry_run=dry_run)
