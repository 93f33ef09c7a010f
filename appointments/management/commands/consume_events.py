"""Long-poll the notifications queue (SNS raw delivery) and notify patients and doctors."""

import json
import logging
import signal
import time

from django.core.management.base import BaseCommand

from appointments.notifications import notification_handle
from scheduler.messaging import aws

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Consume domain events from the notifications queue and send e-mails and SMS. A message is "
        "deleted only once handled; one that keeps failing ends in the queue's dead-letter queue."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Handle what one long poll returns, then stop.")
        parser.add_argument("--wait", type=int, default=20, help="Long-poll seconds (0-20).")

    def handle(self, *args, once: bool, wait: int, **options):
        sqs = aws.client("sqs")
        url = aws.notifications_queue_url()
        self.stopping = False
        signal.signal(signal.SIGTERM, self._stop)
        self.stdout.write(f"consuming {url.rsplit('/', 1)[-1]}")
        handled = 0
        while not self.stopping:
            try:
                messages = sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=max(0, min(wait, 20))
                ).get("Messages", [])
            except Exception:
                if self.stopping:
                    break
                logger.warning("could not receive from the notifications queue; retrying", exc_info=True)
                time.sleep(2)
                continue
            done = [message for message in messages if self._handle(message)]
            handled += len(done)
            self._delete(sqs, url, done)
            if once:
                break
        self.stdout.write(f"handled {handled} event(s)")

    @staticmethod
    def _delete(sqs, url: str, messages: list[dict]) -> None:
        """The handled messages, in one DeleteMessageBatch (a receive brings at most 10). One not
        deleted is delivered again later; what was sent for it is not sent twice."""
        if not messages:
            return
        entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)]
        try:
            failed = sqs.delete_message_batch(QueueUrl=url, Entries=entries).get("Failed") or []
        except Exception as exc:
            logger.warning("could not delete %d handled messages (%s)", len(messages), type(exc).__name__)
            return
        for entry in failed:
            message = messages[int(entry["Id"])]
            logger.warning("could not delete message %s (%s)", message.get("MessageId"), entry.get("Code"))

    def _handle(self, message: dict) -> bool:
        try:
            event = json.loads(message["Body"])
            notification_handle(event=event)
            return True
        except Exception as exc:  # left on the queue: delivered again, then moved to the DLQ
            # The kind of error only: a mail or SMS error can quote an address or a number.
            logger.warning("event message %s failed (%s)", message.get("MessageId"), type(exc).__name__)
            return False

    def _stop(self, *args):
        self.stopping = True
