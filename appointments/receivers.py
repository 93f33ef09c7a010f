"""What follows a committed appointment change (connected in AppointmentsConfig.ready)."""

from django.dispatch import receiver

from appointments import outbox, services
from appointments.models import PENDING
from appointments.signals import appointment_committed


@receiver(appointment_committed, dispatch_uid="appointments.relay_event")
def relay_event(sender, appointment, event_type, event_id, **kwargs):
    """Publish the outbox event: inside a worker's task right away, else through the relay task.
    A new booking's event travels with its processing task instead (one message per booking).
    Whatever is not published here, the sweep publishes."""
    if outbox.relaying_inline():
        outbox.event_publish(event_id=event_id)
    elif event_type != PENDING:
        services.event_relay(appointment=appointment, event_id=event_id)


@receiver(appointment_committed, dispatch_uid="appointments.start_processing")
def start_processing(sender, appointment, event_type, event_id, **kwargs):
    if event_type == PENDING:
        services.appointment_enqueue(appointment, event_id=event_id)
