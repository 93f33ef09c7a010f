"""Create every table, queue, topic and subscription that is missing; leave what exists."""

import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from scheduler.db import tables
from scheduler.messaging import aws


class Command(BaseCommand):
    help = (
        "Create the DynamoDB tables (with GSIs and TTL), the SQS queues with dead-letter queues, the SNS "
        "topic and the notifications subscription that are missing, and run link_logins. Safe to run again: "
        "it creates nothing twice."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--wait",
            action="store_true",
            help="Wait for DynamoDB, SQS and SNS to answer, and for new tables to become ACTIVE.",
        )
        parser.add_argument(
            "--timeout", type=float, default=90.0, help="Seconds to wait for the services (with --wait)."
        )

    def handle(self, *args, wait: bool, timeout: float, **options):
        if wait:
            self._wait_for_services(timeout)
        counts = {"created": 0, "found": 0}

        def report(outcome: str, what: str) -> None:
            counts[outcome] += 1
            style = self.style.SUCCESS if outcome == "created" else (lambda text: text)
            self.stdout.write(style(f"{outcome:>7}  {what}"))

        tables.ensure_tables(report, wait=wait)
        from countries.selectors import country_codes  # tables exist from here on

        for suffix in aws.base_queue_suffixes(country_codes()):
            aws.ensure_queue(suffix, report, reconcile=True)
        aws.ensure_topic_and_subscription(aws.notifications_queue_url(), report)
        # The one-login-per-record locks of users from before them (idempotent; the same as by hand).
        call_command("link_logins", stdout=self.stdout, stderr=self.stderr)
        self.stdout.write(f"bootstrap done: {counts['created']} created, {counts['found']} already there")

    def _wait_for_services(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            down = aws.unreachable_services()
            if not down:
                return
            if time.monotonic() > deadline:
                raise CommandError(f"Gave up after {timeout:.0f}s: not answering: {', '.join(down)}")
            self.stdout.write(f"waiting for {', '.join(down)} ...")
            time.sleep(1)
