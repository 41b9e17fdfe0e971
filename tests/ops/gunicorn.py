"""Real gunicorn for the ops and fault tests: `deploy/gunicorn.conf.py` as production runs
it, bound to a free loopback port, in its own process group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.ops.pgcluster import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Gunicorn:
    base: str
    port: int
    proc: subprocess.Popen
    env: dict[str, str]


@contextmanager
def gunicorn(env: dict[str, str], *, timeout: float = 60) -> Iterator[Gunicorn]:
    """gunicorn with ``env`` (GUNICORN_BIND is set here), yielded once it accepts
    connections; SIGTERM to its whole group afterwards."""
    port = free_port()
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi:application",
            "-c",
            "deploy/gunicorn.conf.py",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"gunicorn exited with {proc.returncode}") from None
                if time.monotonic() > deadline:
                    raise TimeoutError(f"gunicorn not listening after {timeout}s") from None
                time.sleep(0.05)
        yield Gunicorn(base=f"http://127.0.0.1:{port}", port=port, proc=proc, env=env)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
