"""Move messages from dead-letter queues back to their queues."""

from django.core.management.base import BaseCommand, CommandError

from scheduler.messaging import aws


class Command(BaseCommand):
    help = "Move the messages of a dead-letter queue (or of all of them) back to the queue they came from."

    def add_arguments(self, parser):
        parser.add_argument(
            "--queue",
            action="append",
            help="Queue to redrive, e.g. appointments-cl or notifications (repeatable; default: every queue).",
        )

    def handle(self, *args, queue: list[str] | None, **options):
        from countries.selectors import country_codes

        sqs = aws.client("sqs")
        suffixes = queue or aws.base_queue_suffixes(country_codes())
        total = 0
        for suffix in suffixes:
            name = aws.queue_name(suffix)
            try:
                url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
                dlq_url = sqs.get_queue_url(QueueName=aws.dead_letter_name(name))["QueueUrl"]
            except sqs.exceptions.QueueDoesNotExist:
                raise CommandError(f"No queue {name} (or its dead-letter queue); run bootstrap.") from None
            moved, empty_polls = 0, 0
            while empty_polls < 2:  # one empty answer is not proof on SQS: ask again, long-polling
                messages = sqs.receive_message(
                    QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=2, MessageAttributeNames=["All"]
                ).get("Messages", [])
                empty_polls = 0 if messages else empty_polls + 1
                if not messages:
                    continue
                for message in messages:
                    extra = (
                        {"MessageAttributes": message["MessageAttributes"]} if message.get("MessageAttributes") else {}
                    )
                    sqs.send_message(QueueUrl=url, MessageBody=message["Body"], **extra)
                    sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
                    moved += 1
                self.stdout.write(f"{name}: {moved} moved so far ...")
            self.stdout.write(f"{name}: {moved} message(s) moved back from {aws.dead_letter_name(name)}")
            total += moved
        self.stdout.write(f"redrive done: {total} message(s)")
