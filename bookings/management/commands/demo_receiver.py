import signal
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from bookings.demo import WEBHOOK_DESCRIPTION
from parkme.devreceiver import DemoReceiver, demo_receiver_port
from parkme.webhooks.models import WebhookEndpoint


def _stop(signum, frame):
    raise KeyboardInterrupt


def _demo_endpoint_port() -> int | None:
    """The port the demo endpoint (seed_demo's) points at: honcho gives each process a PORT
    of its own, so the receiver listens where the endpoint says rather than at PORT + 1."""
    endpoint = (
        WebhookEndpoint.objects.filter(description=WEBHOOK_DESCRIPTION).order_by("-id").first()
    )
    return urlsplit(endpoint.url).port if endpoint is not None else None


class Command(BaseCommand):
    help = (
        "Development only: receive the demo endpoint's webhooks on 127.0.0.1 (at the port "
        "seed_demo pointed it at: DEMO_WEBHOOK_PORT, default PORT + 1), check their "
        "signatures and print one line per event. `make run` starts it."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--port", type=int, default=None, help="default: the demo endpoint's port"
        )

    def handle(self, *args, **options):
        if settings.PARKME_ENVIRONMENT == "production":
            raise CommandError("demo_receiver refuses to run with production settings.")
        port = options["port"]
        if port is None:
            port = _demo_endpoint_port() or demo_receiver_port()
            connections.close_all()  # each request opens (and closes) its own

        def write(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()  # honcho shows each line as it comes

        try:
            receiver = DemoReceiver(port, write=write)
        except OSError as exc:
            raise CommandError(f"Cannot listen on 127.0.0.1:{port}: {exc}") from exc
        # honcho stops its processes with SIGTERM: leave like Ctrl-C, closing the socket.
        signal.signal(signal.SIGTERM, _stop)
        write(f"Demo webhook receiver on {receiver.url} (Ctrl-C stops it)")
        try:
            receiver.serve_forever()
        except KeyboardInterrupt:
            write("Demo webhook receiver stopped.")
