"""Container health check: GET a path on this container's gunicorn, exit 0 on 200, else 1.

    python deploy/healthcheck.py /health/

The slim image has no curl. Django answers 400 to a Host it does not serve, so the request
names the first DJANGO_ALLOWED_HOSTS entry rather than 127.0.0.1; the port is the one in
GUNICORN_BIND. Proxy variables are ignored: this request never leaves the container.
"""

from __future__ import annotations

import os
import sys
import urllib.request


def _port() -> str:
    bind = os.environ.get("GUNICORN_BIND", "")
    port = bind.rpartition(":")[2]
    return port if port.isdigit() else os.environ.get("PORT", "8000")


def _host() -> str:
    hosts = os.environ.get("DJANGO_ALLOWED_HOSTS") or os.environ.get("ALLOWED_HOSTS") or ""
    host = hosts.split(",")[0].strip().lstrip(".")
    return "localhost" if host in ("", "*") else host


def main(path: str = "/health/") -> int:
    url = f"http://127.0.0.1:{_port()}{path}"
    request = urllib.request.Request(url, headers={"Host": _host()})  # noqa: S310 - fixed http URL
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=4) as response:
            status = response.status
    except OSError as exc:  # refused, timed out, or an HTTP error status (HTTPError)
        print(f"{url}: {exc}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"{url}: HTTP {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
