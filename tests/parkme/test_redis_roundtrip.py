"""The hot path's own Redis round trip: replies in order, never a stale reply after an
error, one connection per thread."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django_redis import get_redis_connection
from redis.exceptions import ResponseError

from parkme.redis_roundtrip import roundtrip
from tests.concurrency import race


@pytest.fixture
def keys():
    names = [cache.make_key(f"test:roundtrip:{n}") for n in range(4)]
    client = get_redis_connection("default")
    client.delete(*names)
    yield names
    client.delete(*names)


def test_the_replies_come_back_in_the_order_of_the_commands(keys):
    a, b, c, _ = keys
    replies = roundtrip(
        [("INCR", a), ("INCR", a), ("SET", b, "7"), ("GET", b), ("MGET", a, b, c), ("GET", c)]
    )
    assert replies[:2] == [1, 2]
    assert replies[3] == b"7"
    assert replies[4] == [b"2", b"7", None]
    assert replies[5] is None


def test_after_a_refused_command_the_next_call_reads_only_its_own_replies(keys):
    a, b, _, _ = keys
    with pytest.raises(ResponseError):
        # INCR of a non-number is refused mid-batch; the GET's reply is left unread.
        roundtrip([("SET", a, "not a number"), ("INCR", a), ("GET", a)])
    assert roundtrip([("SET", b, "fresh"), ("GET", b)]) == [b"OK", b"fresh"]


def test_threads_counting_at_once_lose_no_increment(keys):
    counter = keys[0]

    def count() -> None:
        for _ in range(200):
            (n, _) = roundtrip([("INCR", counter), ("EXPIRE", counter, 60)])
            assert n >= 1

    race([count] * 4)
    assert roundtrip([("GET", counter)]) == [b"800"]
