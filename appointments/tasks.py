"""Celery tasks: thin, idempotent, acknowledged late, retried with exponential backoff.

The services send the first two by name (appointments.services.pipeline), so that this module is
the only one of the pair that imports the other."""

from datetime import timedelta

from botocore.exceptions import BotoCoreError, ClientError
from celery import shared_task
from django.conf import settings
from pynamodb.exceptions import PynamoDBException

from appointments import outbox, services
from appointments.services.pipeline import PROCESS_TASK, PUBLISH_EVENT_TASK
from scheduler.exceptions import ServiceUnavailable

# Failures worth another try: AWS briefly unreachable or throttling.
TRANSIENT = (PynamoDBException, BotoCoreError, ClientError, ServiceUnavailable)
RETRY = {
    "autoretry_for": TRANSIENT,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(name=PROCESS_TASK, **RETRY)
def process_appointment(appointment_id: str, country_code: str, event_id: str | None = None) -> str:
    """On the country's queue (routed by `country_code`): pending → scheduled. The booking's event
    (`event_id`) and the scheduling's are published from here, without a relay message of their own."""
    with outbox.relay_inline():
        if event_id:
            outbox.event_publish(event_id=event_id)
        return services.appointment_process(appointment_id=appointment_id)


@shared_task(name=PUBLISH_EVENT_TASK, **RETRY)
def publish_event(event_id: str, country_code: str) -> bool:
    """The outbox relay, on the event's country queue: publish one committed event to SNS right after
    its commit (so that one country's surge does not hold back another's notifications)."""
    return outbox.event_publish(event_id=event_id)


@shared_task(name="appointments.publish_pending_events")
def publish_pending_events() -> int:
    return outbox.events_publish_pending()


@shared_task(name="appointments.requeue_stale_pending")
def requeue_stale_pending() -> int:
    return services.appointments_requeue_stale(older_than=timedelta(seconds=settings.PENDING_REQUEUE_SECONDS))


@shared_task(name="appointments.send_due_reminders")
def send_due_reminders() -> int:
    return services.reminders_send_due()
