"""What follows a committed appointment change (connected in AppointmentsConfig.ready)."""

import logging

from django.dispatch import receiver

from appointments import services
from appointments.models import PENDING
from appointments.signals import appointment_committed

logger = logging.getLogger(__name__)


@receiver(appointment_committed, dispatch_uid="appointments.relay_event")
def relay_event(sender, appointment, event_type, event_id, **kwargs):
    """Hand the outbox event to the relay task; if that fails, the sweep publishes it."""
    from appointments.tasks import publish_event

    try:
        publish_event.apply_async(kwargs={"event_id": event_id})
    except Exception:
        logger.warning("could not queue event %s for publishing; the sweep will", event_id, exc_info=True)


@receiver(appointment_committed, dispatch_uid="appointments.start_processing")
def start_processing(sender, appointment, event_type, **kwargs):
    if event_type == PENDING:
        services.appointment_enqueue(appointment)
