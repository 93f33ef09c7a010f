"""What follows a committed appointment change (connected in AppointmentsConfig.ready)."""

from django.dispatch import receiver

from appointments import services
from appointments.models import PENDING
from appointments.signals import appointment_committed


@receiver(appointment_committed, dispatch_uid="appointments.relay_event")
def relay_event(sender, appointment, event_type, event_id, **kwargs):
    """Hand the outbox event to the relay task; if that fails, the sweep publishes it."""
    services.event_relay(appointment=appointment, event_id=event_id)


@receiver(appointment_committed, dispatch_uid="appointments.start_processing")
def start_processing(sender, appointment, event_type, **kwargs):
    if event_type == PENDING:
        services.appointment_enqueue(appointment)
