"""The one post-commit hook of appointments: every committed state change (creation included) is
announced here, after its DynamoDB transaction has succeeded. The processing pipeline (per-country
queues, the outbox relay) connects its receivers to `appointment_committed`."""

import logging

from django.dispatch import Signal

logger = logging.getLogger(__name__)

# sender: the Appointment class; kwargs: appointment, event_type ("pending", "scheduled", "rescheduled",
# "cancelled", "completed", "no_show", "reminder"), event_id (the outbox event written with the change).
appointment_committed = Signal()


def announce(appointment, event) -> None:
    event_type = event.event_type.removeprefix("appointment.")
    logger.info("appointment %s %s", appointment.appointment_id, event_type)  # ids only: no personal data
    # The change is committed whatever a receiver does: a failing receiver is logged, not raised
    # (the outbox sweep and the pending sweep make up for what it did not do).
    results = appointment_committed.send_robust(
        sender=type(appointment), appointment=appointment, event_type=event_type, event_id=event.event_id
    )
    for receiver, result in results:
        if isinstance(result, Exception):
            logger.warning(
                "after-commit receiver %s failed for appointment %s: %s",
                getattr(receiver, "__name__", receiver),
                appointment.appointment_id,
                type(result).__name__,
            )
