"""An e-mail backend for worker processes that writes every send to a shared log file.

Each message is logged twice: "start" before the (optionally slow) hand-over and "sent" after
it, so a test can kill a worker while a message is in flight and later count what was
really delivered. One short O_APPEND write per line keeps lines whole across processes.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend


def _append(path: str, record: dict) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps(record) + "\n").encode())
    finally:
        os.close(fd)


class RecordingBackend(BaseEmailBackend):
    def send_messages(self, messages) -> int:
        log = os.environ["PARKME_TEST_MAIL_LOG"]
        delay = float(os.environ.get("PARKME_TEST_MAIL_DELAY", "0"))
        for message in messages:
            notification = message.extra_headers.get("X-ParkMe-Notification")
            _append(log, {"event": "start", "notification": notification})
            time.sleep(delay)
            _append(
                log,
                {
                    "event": "sent",
                    "notification": notification,
                    "to": message.to,
                    "subject": message.subject,
                    "pid": os.getpid(),
                },
            )
        return len(messages)


def read_log(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
