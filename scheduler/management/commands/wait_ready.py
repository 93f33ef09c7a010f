"""Block until DynamoDB, SQS and SNS answer and bootstrap has created what the app needs."""

import time

from django.core.management.base import BaseCommand, CommandError

from scheduler.messaging import aws


class Command(BaseCommand):
    help = "Wait until the readiness check passes (tables, queues and topic exist)."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=120.0)

    def handle(self, *args, timeout: float, **options):
        deadline = time.monotonic() + timeout
        while True:
            components = aws.readiness()
            failing = {name: state for name, state in components.items() if state != "ok"}
            if not failing:
                self.stdout.write("ready")
                return
            if time.monotonic() > deadline:
                raise CommandError(f"Not ready after {timeout:.0f}s: {failing}")
            self.stdout.write("waiting: " + "; ".join(f"{name} {state}" for name, state in failing.items()))
            time.sleep(2)
