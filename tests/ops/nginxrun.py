"""Run Debian's nginx on the site configs in deploy/nginx/ from a temporary prefix.

The site file is included inside `http {}` as it is in production, next to what Debian's
own nginx.conf sets there (mime.types and `gzip on;`), with the certificate, log and other
host paths replaced by temporary ones.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NGINX_DIR = ROOT / "deploy" / "nginx"


def nginx_binary() -> str:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists() or shutil.which("openssl") is None:
        pytest.skip("nginx or openssl is not installed (.ci/run installs Debian's nginx)")
    return nginx


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=parkme.example.com", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def write_config(tmp_path: Path, site: str, replacements: dict[str, str]) -> Path:
    """Write nginx.conf including deploy/nginx/<site> with `replacements` applied."""
    text = (NGINX_DIR / site).read_text()
    replacements = {
        "/etc/nginx/parkme_proxy_params": str(NGINX_DIR / "parkme_proxy_params"),
        "/var/log/nginx/": f"{tmp_path}/",
        **replacements,
    }
    for old, new in replacements.items():
        assert old in text, f"{old!r} is no longer in deploy/nginx/{site}"
        text = text.replace(old, new)
    (tmp_path / site).write_text(text)
    mime = "include /etc/nginx/mime.types;" if Path("/etc/nginx/mime.types").exists() else ""
    # Master and workers as the current user (root's workers would be nobody, who cannot
    # read pytest's private temporary directories).
    user = "user root root;\n" if os.geteuid() == 0 else ""
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"{user}pid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\n"
        f"http {{\n {mime}\n gzip on;\n access_log off;\n"
        f" client_body_temp_path {tmp_path}/body;\n proxy_temp_path {tmp_path}/proxy;\n"
        f" include {tmp_path}/{site};\n}}\n"
    )
    return conf


def check_config(nginx: str, tmp_path: Path, conf: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-e", "stderr", "-c", str(conf)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
