"""The limits of an appointment type. Pure logic, no I/O.

A booking is one TransactWriteItems of at most 100 items: one lock per 5 minutes of the doctor's held
time (buffers included) and of the patient's, plus the appointment, its event, the doctor's check and
the audit entry. So what a type may ask for together is bounded, not only each value alone."""

from __future__ import annotations

# Durations and buffers go in steps of the booking locks' 5-minute buckets (doctors.schedule's
# LOCK_MINUTES, which this app sits below; tests/unit/test_appointment_types.py checks they agree).
LOCK_MINUTES = 5
MIN_DURATION_MINUTES, MAX_DURATION_MINUTES = 5, 240
MAX_BUFFER_MINUTES = 120
# 100 items less the appointment, its event, the doctor's check and the audit entry.
MAX_LOCKS = 96
MAX_HELD_MINUTES = MAX_LOCKS * LOCK_MINUTES


def held_minutes(duration: int, before: int, after: int) -> int:
    """The minutes a booking locks: the doctor's (buffers included) and the patient's."""
    return (before + duration + after) + duration


def limits_problem(duration: int, before: int, after: int) -> str | None:
    """Why a type's values cannot be booked in one transaction, or None."""
    total = held_minutes(duration, before, after)
    if total > MAX_HELD_MINUTES:
        return (
            f"A booking of this type holds the doctor {before + duration + after} minutes (buffers included) and "
            f"the patient {duration}: {total} minutes together, over the {MAX_HELD_MINUTES} one atomic booking "
            "can hold. Shorten the duration or the buffers."
        )
    return None
