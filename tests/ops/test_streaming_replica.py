"""A real streaming replica of the test server, and requests routed across the two.

When the test server refuses replication connections (pg_hba.conf without a replication
line, as on a stock Debian install), the replica follows a private primary started from the
same binaries, with the test database copied onto it, and Django talks to that primary.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from django.test import Client, override_settings

from config.settings.base import replica_config
from parkme import replicas
from parkme.backups import PgTarget, backup_dump, backup_restore, server_major_version
from parkme.models import Operator
from tests.ops.pgcluster import (
    PgServer,
    ReplicationRefused,
    server_bindir,
    start_primary,
    start_replica_of,
    wait_until,
)

REPLICA = "live_replica"
WAIT = 15  # seconds; every wait below is bounded by this

pytestmark = [
    pytest.mark.slow,
    pytest.mark.urls("tests.ops.urls"),
    pytest.mark.django_db(transaction=True, databases=["default", REPLICA]),
]


@dataclass
class Streaming:
    replica: PgServer
    primary: PgTarget
    dbname: str

    def replica_conn(self) -> psycopg.Connection:
        return self.replica.target(self.dbname).connect()

    def replica_has(self, name: str) -> bool:
        with self.replica_conn() as conn:
            row = conn.execute(
                f"SELECT count(*) FROM {Operator._meta.db_table} WHERE name = %s",  # noqa: S608
                [name],
            ).fetchone()
        return bool(row and row[0])

    def wait_replayed(self, name: str) -> None:
        wait_until(lambda: self.replica_has(name), timeout=WAIT, what=f"{name} on the replica")

    def pause_replay(self) -> None:
        with self.replica_conn() as conn:
            conn.execute("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        with self.replica_conn() as conn:
            conn.execute("SELECT pg_wal_replay_resume()")

    def wait_received_everything(self) -> None:
        with self.primary.connect() as conn:
            (lsn,) = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()

        def received() -> bool:
            with self.replica_conn() as conn:
                query = "SELECT pg_last_wal_receive_lsn() >= %s::pg_lsn"
                return bool(conn.execute(query, [lsn]).fetchone()[0])

        wait_until(received, timeout=WAIT, what="the replica to receive the primary's WAL")


def _use_primary(default, server: PgServer) -> dict:
    original = copy.deepcopy(default.settings_dict)
    default.close()
    default.close_pool()
    default.settings_dict.update(HOST="127.0.0.1", PORT=str(server.port), USER="postgres")
    return original


@pytest.fixture(scope="module")
def streaming(django_db_setup, django_db_blocker):
    default = connections["default"]
    dbname = default.settings_dict["NAME"]
    source = PgTarget.from_settings(default.settings_dict)
    with django_db_blocker.unblock():
        bindir = server_bindir(source)
        if bindir is None:
            major = server_major_version(source)
            reason = f"no PostgreSQL {major} server binaries (postgres, pg_ctl, pg_basebackup)"
            print(f"\nSKIP streaming replica tests: {reason}")
            pytest.skip(reason)
        private: PgServer | None = None
        original: dict | None = None
        try:
            replica = start_replica_of(source, bindir)
            primary = source
        except ReplicationRefused as refused:
            print(
                f"\nthe test server refuses replication ({refused}); "
                f"the replica follows a private primary from {bindir}"
            )
            private = start_primary(bindir)
            with private.target("postgres").connect() as conn:
                conn.execute(f'CREATE DATABASE "{dbname}"')
            dump = private.workdir / "copy.sql.gz"
            backup_dump(target=source, out_path=dump)
            primary = private.target(dbname)
            backup_restore(target=primary, dump_path=dump)
            original = _use_primary(default, private)
            replica = start_replica_of(private.target("postgres"), bindir)
        config = replica_config(
            copy.deepcopy({**default.settings_dict, "HOST": "127.0.0.1", "PORT": str(replica.port)})
        )
        config["TEST"] = {**default.settings_dict["TEST"], "MIRROR": "default"}
        connections.settings[REPLICA] = config
    try:
        yield Streaming(replica=replica, primary=primary, dbname=dbname)
    finally:
        with django_db_blocker.unblock():
            live = connections[REPLICA]
            live.close()
            live.close_pool()
            del connections[REPLICA]
            del connections.settings[REPLICA]
            replica.destroy()
            if original is not None:
                default.close()
                default.close_pool()
                default.settings_dict.clear()
                default.settings_dict.update(original)
            if private is not None:
                private.destroy()
            replicas.replica_forget_all()


@pytest.fixture
def stream(streaming):
    """The replica, with one committed row it has already replayed."""
    replicas.replica_forget_all()
    with override_settings(DATABASE_REPLICAS=[REPLICA]):
        Operator.objects.create(name="Seed", slug="seed")
        streaming.wait_replayed("Seed")
        yield streaming
    replicas.replica_forget_all()


def test_reads_in_a_request_land_on_the_replica(stream, client):
    body = client.get("/ops-probe/read/").json()
    assert body["served_by_replica"] is True
    assert body["names"] == ["Seed"]


def test_a_write_then_a_read_in_one_request_reads_the_primary(stream, client):
    stream.pause_replay()  # the replica cannot know the new row
    try:
        body = client.get("/ops-probe/write-then-read/", {"name": "Fresh"}).json()
    finally:
        stream.resume_replay()
    assert body["served_by_replica"] is False
    assert body["names"] == ["Fresh", "Seed"]


def test_after_a_write_the_same_client_reads_its_own_write(stream):
    writer, other = Client(), Client()
    stream.pause_replay()
    try:
        # The replica lags from here on; allow any lag so it stays in use.
        with override_settings(REPLICA_MAX_LAG_SECONDS=3600):
            assert writer.post("/ops-probe/write/", {"name": "Mine"}).status_code == 201
            stream.wait_received_everything()
            own = writer.get("/ops-probe/read/").json()
            stale = other.get("/ops-probe/read/").json()
    finally:
        stream.resume_replay()
    assert own["served_by_replica"] is False
    assert own["names"] == ["Mine", "Seed"]
    # Another client still reads the (lagging) replica: the pin is per client.
    assert stale["served_by_replica"] is True
    assert stale["names"] == ["Seed"]


def test_an_api_client_without_cookies_is_pinned_by_its_credentials(stream):
    token = {"HTTP_AUTHORIZATION": "Bearer not-a-real-token-but-stable"}
    stream.pause_replay()
    try:
        with override_settings(REPLICA_MAX_LAG_SECONDS=3600):
            Client().post("/ops-probe/write/", {"name": "Api"}, **token)
            stream.wait_received_everything()
            again = Client().get("/ops-probe/read/", **token).json()  # a fresh cookie jar
    finally:
        stream.resume_replay()
    assert again["served_by_replica"] is False
    assert "Api" in again["names"]


def test_a_replica_that_lags_too_far_is_skipped(stream, client):
    stream.pause_replay()
    try:
        Operator.objects.create(name="Late", slug="late")
        stream.wait_received_everything()
        with override_settings(REPLICA_MAX_LAG_SECONDS=0):
            body = client.get("/ops-probe/read/").json()
            ready = client.get("/health/ready/").json()
            with pytest.raises(CommandError, match=REPLICA):
                call_command("check_replicas")
    finally:
        stream.resume_replay()
    assert body["served_by_replica"] is False
    assert "Late" in body["names"]
    lagging = ready["checks"]["replicas"]
    assert lagging["ok"] is False
    assert lagging["replicas"][REPLICA]["lag_seconds"] > 0
    assert lagging["replicas"][REPLICA]["in_recovery"] is True


def test_readiness_and_check_replicas_report_the_replica_and_its_lag(stream, client, capsys):
    response = client.get("/health/ready/")
    assert response.status_code == 200
    replica = response.json()["checks"]["replicas"]["replicas"][REPLICA]
    assert replica == {"ok": True, "lag_seconds": 0.0, "in_recovery": True}
    call_command("check_replicas")
    assert f"{REPLICA}" in capsys.readouterr().out


# Keep last: it stops the replica for good.
def test_stopping_the_replica_mid_traffic_causes_no_client_error(stream, client):
    # A long health cache: the switch must not wait for the cached "healthy" to expire.
    with override_settings(REPLICA_HEALTH_CACHE_SECONDS=600):
        before = [client.get("/ops-probe/read/") for _ in range(3)]
        stream.replica.stop()
        after = [client.get("/ops-probe/read/") for _ in range(5)]
        ready = client.get("/health/ready/")
    assert [r.json()["served_by_replica"] for r in before] == [True] * 3
    assert [r.status_code for r in after] == [200] * 5
    assert [r.json()["served_by_replica"] for r in after] == [False] * 5
    assert all(r.json()["names"] == ["Seed"] for r in after)
    assert replicas.replica_status(REPLICA).healthy is False
    assert ready.status_code == 200
    assert ready.json()["checks"]["replicas"]["ok"] is False
