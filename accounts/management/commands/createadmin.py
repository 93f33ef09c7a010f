"""Create an admin, or make an existing user an active admin with a new password, without a prompt."""

import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts import selectors, services
from scheduler.exceptions import ApplicationError


class Command(BaseCommand):
    help = (
        "Create or update an admin user: --username U with --password P or --password-stdin. "
        "With --local-default (local stage only), create user 'admin' with a random password if no admin exists."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", help="The admin's username.")
        password = parser.add_mutually_exclusive_group()
        password.add_argument("--password", help="The password (visible in the process list: prefer --password-stdin).")
        password.add_argument("--password-stdin", action="store_true", help="Read the password from standard input.")
        parser.add_argument(
            "--local-default",
            action="store_true",
            help="make run: on the local stage, create 'admin' with a random password when there is no admin yet, "
            "and print the credentials once.",
        )

    def handle(self, *args, username, password, password_stdin, local_default, **options):
        if local_default:
            return self._local_default()
        if not username:
            raise CommandError("Give --username.")
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CommandError("Give --password or --password-stdin.")
        try:
            _, created = services.create_or_update_admin(username=username, password=password)
        except ApplicationError as exc:
            raise CommandError(f"{exc.field or 'error'}: {exc.message}") from None
        self.stdout.write(self.style.SUCCESS(f"{'Created' if created else 'Updated'} admin '{username}'."))

    def _local_default(self):
        if not settings.IS_LOCAL:
            raise CommandError("--local-default is for the local stage only; use --username and --password-stdin.")
        if selectors.admin_exists():
            self.stdout.write("An admin exists already: sign in with it (createadmin --username ... resets one).")
            return
        import secrets

        password = secrets.token_urlsafe(12)
        services.create_or_update_admin(username="admin", password=password)
        line = "=" * 72
        self.stdout.write(
            f"{line}\nCreated the local admin. Shown once; keep it:\n"
            f"    username: admin\n    password: {password}\n"
            f"Sign in at /auth/login, or: curl -X POST localhost:8000/auth/token "
            f'-H "Content-Type: application/json" -d \'{{"username": "admin", "password": "{password}"}}\'\n{line}'
        )
