"""Throw-away PostgreSQL servers for tests: a streaming replica of a running server, or a
private primary, started from the binaries that match the server under test.

PostgreSQL refuses to run as root; as root we run it as the owner of the binaries' server
(``pgserver`` for the embedded one, ``postgres`` for the system's), else as ``nobody``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from parkme.backups import BackupError, PgTarget, pg_program, server_major_version

START_TIMEOUT = 30


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as_user() -> str | None:
    if os.geteuid() != 0:
        return None
    for name in ("pgserver", "postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("running as root and no unprivileged user to run PostgreSQL as")


def server_bindir(target: PgTarget) -> Path | None:
    """The directory holding postgres, pg_ctl and pg_basebackup of the server's major version,
    or None when this machine has no such binaries."""
    major = server_major_version(target)
    try:
        postgres = pg_program("postgres", major=major, exact=True)
    except BackupError:
        return None
    bindir = postgres.parent
    if all((bindir / p).exists() for p in ("pg_ctl", "pg_basebackup", "initdb")):
        return bindir
    return None


@dataclass
class PgServer:
    bindir: Path
    workdir: Path
    port: int
    user: str | None = None
    running: bool = field(default=False)

    @property
    def datadir(self) -> Path:
        return self.workdir / "data"

    def _run(self, *args: str, timeout: float = START_TIMEOUT) -> subprocess.CompletedProcess:
        return subprocess.run(
            list(args),
            user=self.user,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.workdir,
        )

    def _checked(self, *args: str, timeout: float = START_TIMEOUT) -> None:
        result = self._run(*args, timeout=timeout)
        if result.returncode != 0:
            log = self.workdir / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {result.stderr}{result.stdout}\n{tail}")

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.datadir}"
        self._checked(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.datadir),
            "-o",
            options,
            "-l",
            str(self.workdir / "server.log"),
            "-w",
            "-t",
            str(START_TIMEOUT),
            "start",
            timeout=START_TIMEOUT + 5,
        )
        self.running = True

    def stop(self) -> None:
        if self.running:
            self._run(
                str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop"
            )
            self.running = False

    def target(self, dbname: str) -> PgTarget:
        return PgTarget(
            host="127.0.0.1", port=str(self.port), user="postgres", password="", dbname=dbname
        )

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _workdir(user: str | None) -> Path:
    workdir = Path(tempfile.mkdtemp(prefix="parkme-pg-"))
    if user:
        shutil.chown(workdir, user=user)
    return workdir


def start_replica_of(source: PgTarget, bindir: Path) -> PgServer:
    """pg_basebackup -R from ``source``, then start it as a hot standby on a free port."""
    user = _run_as_user()
    server = PgServer(bindir=bindir, workdir=_workdir(user), port=free_port(), user=user)
    env_args = []
    if source.host:
        env_args += ["-h", source.host]
    if source.port:
        env_args += ["-p", source.port]
    result = subprocess.run(
        [
            str(bindir / "pg_basebackup"),
            *env_args,
            "-U",
            source.user or "postgres",
            "-D",
            str(server.datadir),
            "-X",
            "stream",
            "-c",
            "fast",
            "-R",
        ],
        user=user,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=server.workdir,
        env={**os.environ, "PGPASSWORD": source.password} if source.password else None,
    )
    if result.returncode != 0:
        server.destroy()
        raise ReplicationRefused(result.stderr.strip())
    server.start()
    return server


def start_primary(bindir: Path) -> PgServer:
    """A fresh cluster that accepts replication connections from 127.0.0.1."""
    user = _run_as_user()
    server = PgServer(bindir=bindir, workdir=_workdir(user), port=free_port(), user=user)
    server._checked(
        str(bindir / "initdb"), "-D", str(server.datadir), "-U", "postgres", "-A", "trust"
    )
    server.start()
    return server


def wait_until(predicate, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout}s waiting for {what}")
        time.sleep(0.05)


class ReplicationRefused(Exception):
    pass
