"""Concurrency tests' one harness: callables released at the same moment, each in its own
thread with its own database connections."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections


def race(
    calls: Sequence[Callable[[], Any]], *, capture: bool = False, timeout: float = 120
) -> list:
    """Run every callable from its own thread, all released by one barrier; their results
    in order. With ``capture`` an exception is that call's result (the outcome under test);
    without, the first one is raised here once every thread has ended."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list[BaseException] = []

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
            if capture and isinstance(exc, Exception):
                results[i] = exc
            else:
                errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    if any(thread.is_alive() for thread in threads):
        raise TimeoutError(f"a racing call still runs after {timeout} s")
    if errors:
        raise errors[0]
    return results
