"""SQL building blocks for range constraints that need no btree_gist extension, and the
one mapping from a violated constraint to the domain error a client sees."""

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from django.contrib.postgres.fields import BigIntegerRangeField, DateTimeRangeField
from django.db import IntegrityError, transaction
from django.db.models import Func, Value


class TsTzRange(Func):
    """tstzrange(start, end, '[)'): the half-open time window of a booking."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()

    def __init__(self, start, end, bounds="[)", **extra):
        super().__init__(start, end, Value(bounds), **extra)


class IdPoint(Func):
    """int8range(id, id, '[]'): a one-point range so an id can join a GiST exclusion with &&."""

    function = "INT8RANGE"
    output_field = BigIntegerRangeField()

    def __init__(self, expression, **extra):
        super().__init__(expression, expression, Value("[]"), **extra)


@contextmanager
def constraint_errors(
    errors: Mapping[str, Callable[[], Exception]], *, savepoint: bool = True
) -> Iterator[None]:
    """Run a write in a savepoint and turn the violation of a named constraint into the
    domain error ``errors[name]()`` (the race a Python check cannot close); any other
    IntegrityError propagates as it is. ``savepoint=False`` saves two round trips when the
    error ends the caller's whole transaction anyway."""
    try:
        with transaction.atomic(savepoint=savepoint):
            yield
    except IntegrityError as exc:
        diag = getattr(exc.__cause__, "diag", None)
        factory = errors.get(getattr(diag, "constraint_name", None) or "")
        if factory is None:
            raise
        raise factory() from exc
