"""The writes of appointments, by what they do: booking (a new appointment), lifecycle (its changes)
and pipeline (its processing, queue messages and sweeps). `services.appointment_create(...)` and the
other entry points are re-exported here; helpers and constants stay in the module that owns them (a
test that freezes the clock patches `utcnow` there, in each module that reads it)."""

from appointments.services.booking import appointment_create
from appointments.services.lifecycle import (
    appointment_cancel,
    appointment_reschedule,
    appointment_transition,
    appointment_update,
)
from appointments.services.pipeline import (
    appointment_enqueue,
    appointment_process,
    appointments_requeue_stale,
    event_relay,
    reminders_send_due,
)

__all__ = (
    "appointment_cancel",
    "appointment_create",
    "appointment_enqueue",
    "appointment_process",
    "appointment_reschedule",
    "appointment_transition",
    "appointment_update",
    "appointments_requeue_stale",
    "event_relay",
    "reminders_send_due",
)
