"""SQL building blocks for range constraints that need no btree_gist extension."""

from django.contrib.postgres.fields import BigIntegerRangeField, DateTimeRangeField
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
