"""What follows a committed appointment change (connected in AppointmentsConfig.ready)."""

from functools import partial

from django.dispatch import receiver

from appointments import outbox, services
from appointments.models import PENDING
from appointments.signals import appointment_committed
from scheduler.messaging.handoff import handoff


@receiver(appointment_committed, dispatch_uid="appointments.relay_event")
def relay_event(sender, appointment, event_type, event_id, **kwargs):
    """Publish the outbox event: inside a worker's task right away, else through the relay task.
    A new booking's event travels with its processing task instead (one message per booking).
    Whatever is not published here, the sweep publishes. Sent after the response (scheduler.messaging.handoff)."""
    if outbox.relaying_inline():
        outbox.event_publish(event_id=event_id)
    elif event_type != PENDING:
        handoff.submit(partial(services.event_relay, appointment=appointment, event_id=event_id), f"event {event_id}")


@receiver(appointment_committed, dispatch_uid="appointments.start_processing")
def start_processing(sender, appointment, event_type, event_id, **kwargs):
    """A new booking's one queue message, sent after the response (scheduler.messaging.handoff)."""
    if event_type == PENDING:
        work = partial(services.appointment_enqueue, appointment, event_id=event_id)
        handoff.submit(work, f"processing of appointment {appointment.appointment_id}")
