"""gunicorn for ParkMe: sync workers sized for the cores, bound from PORT / GUNICORN_BIND."""

import multiprocessing
import os
import shutil
import tempfile

bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
# 2 x cores + 1 is gunicorn's rule of thumb for sync workers on an I/O-bound app.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so a slow leak can never grow without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = 500
# An empty GUNICORN_ACCESSLOG turns the access log off (benchmarks).
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Prometheus multiprocess mode: every worker writes its HTTP counts, latency histograms and
# pool gauges to files in one directory, and /metrics (any worker) sums them. The directory
# is emptied when gunicorn starts, and a worker's live gauges go when it exits. Set
# PROMETHEUS_MULTIPROC_DIR to choose the directory (only gunicorn should write there);
# otherwise a fresh one is made per start.
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(
    prefix="parkme-metrics-"
)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir


def on_starting(server):
    os.makedirs(_metrics_dir, exist_ok=True)
    for entry in os.scandir(_metrics_dir):
        if entry.is_file() and entry.name.endswith(".db"):
            os.unlink(entry.path)
        elif entry.is_dir():
            shutil.rmtree(entry.path, ignore_errors=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, _metrics_dir)
