"""Create an operator (tenant) and its first admin.

The password comes from the environment variable named by --password-env (default
PARKME_ADMIN_PASSWORD) or, on a terminal, from a prompt; never from the command line, where
other users and shell history could read it.
"""

from __future__ import annotations

import getpass
import os
import sys

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from parkme.models import Operator, User
from parkme.services import operator_create


class Command(BaseCommand):
    help = "Create an operator and its first admin (password from env or a prompt)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="Operator name, e.g. 'Harbor Garages'")
        parser.add_argument("--admin-email", required=True)
        parser.add_argument(
            "--password-env",
            default="PARKME_ADMIN_PASSWORD",
            help="environment variable holding the admin's password",
        )
        parser.add_argument(
            "--no-input", action="store_true", help="never prompt; fail if the variable is unset"
        )

    def _password(self, options: dict, existing_user: bool) -> str:
        if existing_user:
            return ""  # an existing user keeps their password
        password = os.environ.get(options["password_env"], "")
        if not password:
            if options["no_input"] or not sys.stdin.isatty():
                raise CommandError(
                    f"set {options['password_env']} to the admin's password "
                    "(or run on a terminal to be prompted)"
                )
            password = getpass.getpass("Admin password: ")
            if password != getpass.getpass("Admin password (again): "):
                raise CommandError("the passwords do not match")
        try:
            validate_password(password, User(email=options["admin_email"]))
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        return password

    def handle(self, *args: object, **options: object) -> None:
        name = str(options["name"]).strip()
        email = User.objects.normalize_email(str(options["admin_email"])).lower()
        if Operator.objects.filter(name__iexact=name).exists():
            raise CommandError(f"an operator named {name!r} already exists")
        existing = User.objects.filter(email__iexact=email).exists()
        password = self._password({**options, "admin_email": email}, existing)
        operator = operator_create(name=name, admin_email=email, admin_password=password)
        self.stdout.write(
            f"created operator {operator.name!r} (slug {operator.slug}) with admin {email}"
            + (" (existing user)" if existing else "")
        )
