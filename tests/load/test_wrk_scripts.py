"""The wrk scripts `make bench` drives ParkMe with (tests/load/wrk/) load, make the requests
their scenario needs, count the statuses and print the summary bench.py parses: each runs
for a second against a tiny local server that answers 200 to a GET and 201 or 409 to a
POST, and records what it was sent."""

from __future__ import annotations

import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.load import bench

pytestmark = pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)"
)

SCRIPTS = sorted(p.name for p in bench.WRK_SCRIPTS.glob("*.lua") if p.name != "lib.lua")


class _Recorder(BaseHTTPRequestHandler):
    seen: list[dict] = []
    lock = threading.Lock()

    def _answer(self, status: int, body: bytes = b'{"ok": true}') -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _record(self, body: bytes = b"") -> int:
        with self.lock:
            self.seen.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": body.decode(),
                }
            )
            return len(self.seen)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self._record()
        self._answer(200)

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        n = self._record(body)
        self._answer(409 if n % 3 == 0 else 201)

    def log_message(self, *args) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # wrk closes its connections mid-request when its time is up


@pytest.fixture
def server():
    _Recorder.seen = []
    httpd = _Server(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", _Recorder.seen
    httpd.shutdown()
    httpd.server_close()


def _data(script: str) -> dict:
    if script == "static.lua":
        return {"method": "POST", "path": "/bench/write/?ids=1,2"}
    return {
        "now": 1_900_000_000 // 3600 * 3600,
        "points": [[60.17, 24.94], [60.18, 24.96]],
        "warm_queries": ["lat=60.1700&lng=24.9400&radius_km=5", "lat=60.1800&lng=24.9600"],
        "facilities": [11, 12, 13],
        "contended": [11, 12],
        "bookers": [["token-a", 101], ["token-b", 102]],
    }


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_runs_and_reports(script, server, tmp_path: Path):
    base, seen = server
    data = bench.write_wrk_data(tmp_path / "data.lua", _data(script))

    result = bench.drive_wrk(base, script, data, 1, connections=4, threads=1, name=script)

    assert result.requests > 0
    assert result.errors == 0
    assert sum(result.statuses.values()) == result.requests  # every response counted
    assert result.p50 <= result.p95 <= result.p99
    assert len(seen) >= result.requests
    _check_requests(script, seen)


def _check_requests(script: str, seen: list[dict]) -> None:
    paths = {urlsplit(r["path"]).path for r in seen}
    queries = [parse_qs(urlsplit(r["path"]).query) for r in seen]
    if script == "static.lua":
        assert {(r["method"], r["path"]) for r in seen} == {("POST", "/bench/write/?ids=1,2")}
    elif script == "search_warm.lua":
        assert paths == {"/api/v1/facilities/"}
        assert {q["lat"][0] for q in queries} == {"60.1700", "60.1800"}
    elif script == "search_cold.lua":
        assert paths == {"/api/v1/facilities/"}
        assert all(r["headers"]["Cache-Control"] == "no-cache" for r in seen)
        assert all(q["starts_at"][0].endswith("Z") and q["ends_at"] for q in queries)
        assert len({q["lat"][0] for q in queries}) > 1  # a new query each time
    elif script == "detail.lua":
        assert paths <= {f"/api/v1/facilities/{n}/" for n in (11, 12, 13)}
    elif script == "quote.lua":
        assert all(p.endswith("/quote/") for p in paths)
        assert all(q["starts_at"][0] < q["ends_at"][0] for q in queries)
    elif script in ("book.lua", "mixed.lua"):
        posts = [r for r in seen if r["method"] == "POST"]
        assert posts, "no booking was sent"
        assert all(p["path"] == "/api/v1/bookings/" for p in posts)
        tokens = {p["headers"]["Authorization"] for p in posts}
        assert tokens <= {"Bearer token-a", "Bearer token-b"}
        bodies = [json.loads(p["body"]) for p in posts]
        assert all(b["facility"] in (11, 12) and b["vehicle"] in (101, 102) for b in bodies)
        assert all(b["starts_at"] < b["ends_at"] for b in bodies)
        if script == "book.lua":
            assert len(tokens) == 2
            assert len({json.dumps(b, sort_keys=True) for b in bodies}) > len(bodies) // 2
    else:  # a new script: at least the summary above was checked
        assert seen
