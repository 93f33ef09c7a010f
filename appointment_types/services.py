from collections.abc import Callable
from typing import Any

from appointment_types.models import AppointmentType
from appointment_types.rules import limits_problem
from appointment_types.selectors import appointment_type_get, type_minutes
from countries.selectors import country_get_referenced
from countries.services import country_must_exist
from scheduler.db import Transaction, apply_changes, create_record, delete_guarded, new_id, save_record
from scheduler.exceptions import InvalidInput
from scheduler.security import audit

# Why a type may not be deleted yet, asked of the apps that use types (doctors: a doctor offers it;
# appointments: an upcoming appointment was booked with it), registered in their AppConfig.ready so
# that this app imports neither. A guard takes the type's id and returns the refusal, or None.
DeleteGuard = Callable[[str], str | None]
appointment_type_delete_guards: list[DeleteGuard] = []


def _check_limits(duration: int, before: int, after: int) -> None:
    if problem := limits_problem(duration, before, after):
        raise InvalidInput("durationMinutes", problem)


def appointment_type_create(
    *,
    country_id: str,
    name: str,
    duration_minutes: int,
    appointment_type_id: str | None = None,
    buffer_before_minutes: int = 0,
    buffer_after_minutes: int = 0,
    active: bool = True,
) -> AppointmentType:
    _check_limits(duration_minutes, buffer_before_minutes, buffer_after_minutes)
    country_get_referenced(country_id=country_id)
    appointment_type = AppointmentType(
        appointment_type_id or new_id(),
        country_id=country_id,
        name=name,
        duration_minutes=duration_minutes,
        buffer_before_minutes=buffer_before_minutes,
        buffer_after_minutes=buffer_after_minutes,
        active=active,
    )
    appointment_type.touch()

    def also(tx: Transaction) -> None:
        country_must_exist(tx, country_id)
        audit.join(tx)

    create_record(appointment_type, key=AppointmentType.appointment_type_id, kind="Appointment type", also=also)
    return appointment_type


def appointment_type_update(
    *,
    appointment_type_id: str,
    changes: dict[str, Any],
    if_match: int | None,
    replace: bool = False,
    current: AppointmentType | None = None,
) -> AppointmentType:
    """PATCH (PUT with `replace=True`: absent buffers back to 0, `active` to true). Appointments
    already booked keep the values they were booked with."""
    appointment_type = current or appointment_type_get(appointment_type_id=appointment_type_id)
    if replace:
        changes.setdefault("buffer_before_minutes", 0)
        changes.setdefault("buffer_after_minutes", 0)
        changes.setdefault("active", True)
    if "country_id" in changes and changes["country_id"] != appointment_type.country_id:
        raise InvalidInput(
            "countryId", "An appointment type stays in its country; create a type in the other country instead."
        )
    duration, before, after = type_minutes(appointment_type)
    _check_limits(
        changes.get("duration_minutes", duration),
        changes.get("buffer_before_minutes", before),
        changes.get("buffer_after_minutes", after),
    )
    apply_changes(appointment_type, changes, if_match=if_match)
    save_record(appointment_type, if_match=if_match, also=audit.join)
    return appointment_type


def appointment_type_delete(
    *, appointment_type_id: str, if_match: int | None, current: AppointmentType | None = None
) -> None:
    """409 `in_use` while a doctor offers it or an upcoming appointment uses it: retire it with
    `active: false` instead."""
    delete_guarded(
        lambda: appointment_type_get(appointment_type_id=appointment_type_id),
        appointment_type_id,
        if_match=if_match,
        current=current,
        guards=appointment_type_delete_guards,
        also=audit.join,
    )
