from collections.abc import Callable
from datetime import datetime
from typing import Any

from appointment_types.models import AppointmentType
from appointment_types.selectors import appointment_types_found
from countries.holidays import valid_subdivision
from countries.selectors import country_get_referenced
from countries.services import country_must_exist
from doctors.models import AvailableTime, BlockedPeriod, Doctor
from doctors.schedule import WeeklyWindow
from doctors.selectors import doctor_get
from scheduler.db import (
    Transaction,
    apply_changes,
    create_record,
    delete_guarded,
    new_id,
    save_record,
)
from scheduler.exceptions import InvalidInput
from scheduler.security import audit

# Why a doctor may not be deleted yet, asked of the apps that refer to doctors (appointments adds its
# check in its AppConfig.ready), so that doctors imports none of them: a guard takes the doctor's id
# and returns the refusal's message, or None. They run in order; the first refusal stands.
DeleteGuard = Callable[[str], str | None]
doctor_delete_guards: list[DeleteGuard] = []
# What other apps change in a doctor's delete transaction (accounts deactivates the doctor's login,
# registered in its AppConfig.ready): a hook takes the doctor's id, reads what it needs, and returns a
# function that adds its items to the delete's transaction (or None). A lost race there is a
# VersionConflict: the delete is judged again on a fresh read, as often as the hooks need
# (a hook's `attempts`, see scheduler.db.hook_attempts).
DeleteHook = Callable[[str], Callable[[Transaction], None] | None]
doctor_delete_hooks: list[DeleteHook] = []


def _stored_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Validated input → attribute values (schedule windows and blocked periods as map attributes)."""
    stored = dict(fields)
    if "available_times" in stored:
        windows: list[WeeklyWindow] = stored["available_times"]
        stored["available_times"] = [AvailableTime(**window.as_dict()) for window in windows]
    if "unavailable" in stored:
        periods: list[dict[str, datetime | str | None]] = stored["unavailable"] or []
        stored["unavailable"] = [BlockedPeriod(**period) for period in periods]
    if "speciality" in stored:
        stored["speciality_key"] = stored["speciality"].lower()
    return stored


def _check_offered_types(type_ids: list[str], country_id: str) -> None:
    """Each offered type exists and belongs to the doctor's country (400 on appointmentTypeIds naming
    it): one BatchGetItem."""
    found = appointment_types_found(appointment_type_ids=type_ids)
    for type_id in type_ids:
        appointment_type = found.get(type_id)
        if appointment_type is None:
            raise InvalidInput("appointmentTypeIds", f"Appointment type '{type_id}' does not exist.")
        if appointment_type.country_id != country_id:
            raise InvalidInput(
                "appointmentTypeIds",
                f"Appointment type '{type_id}' belongs to country '{appointment_type.country_id}'; "
                f"a doctor of country '{country_id}' offers its own country's types.",
            )


def _offered_types_still_there(tx: Transaction, type_ids: list[str]) -> None:
    """In the doctor's write: each offered type still exists at commit (none deleted since the read)."""

    def gone(type_id: str) -> Callable[[], InvalidInput]:
        return lambda: InvalidInput("appointmentTypeIds", f"Appointment type '{type_id}' does not exist.")

    for type_id in type_ids:
        tx.check(
            AppointmentType, type_id, condition=AppointmentType.appointment_type_id.exists(), on_fail=gone(type_id)
        )


def _subdivision_in(code: str, subdivision: str, *, kept: bool) -> str | None:
    try:
        return valid_subdivision(code, subdivision)
    except InvalidInput as exc:
        if not kept:
            raise
        kept_note = "The doctor's subdivision stays when countryId changes: send a new one, or null."
        raise InvalidInput("subdivision", f"{exc.message} {kept_note}") from None


def doctor_create(
    *,
    name: str,
    speciality: str,
    country_id: str,
    available_times: list[WeeklyWindow],
    doctor_id: str | None = None,
    slot_minutes: int = 30,
    time_zone: str | None = None,
    unavailable: list[dict[str, Any]] | None = None,
    email: str | None = None,
    appointment_type_ids: list[str] | None = None,
    subdivision: str | None = None,
    works_on_holidays: bool = False,
) -> Doctor:
    country = country_get_referenced(country_id=country_id)
    subdivision = valid_subdivision(country.code, subdivision)
    type_ids = list(appointment_type_ids or [])
    _check_offered_types(type_ids, country_id)
    doctor = Doctor(
        doctor_id or new_id(),
        **_stored_fields(
            {
                "name": name,
                "speciality": speciality,
                "country_id": country_id,
                "time_zone": time_zone or country.time_zone,
                "slot_minutes": slot_minutes,
                "available_times": available_times,
                "unavailable": unavailable or [],
                "email": email,
                "appointment_type_ids": type_ids,
                "subdivision": subdivision,
                "works_on_holidays": works_on_holidays,
            }
        ),
    )
    doctor.touch()

    def also(tx: Transaction) -> None:
        country_must_exist(tx, country_id)
        _offered_types_still_there(tx, type_ids)
        audit.join(tx)

    create_record(doctor, key=Doctor.doctor_id, kind="Doctor", also=also)
    return doctor


def doctor_update(
    *, doctor_id: str, changes: dict[str, Any], if_match: int | None, replace: bool, current: Doctor | None = None
) -> Doctor:
    """PATCH (`replace=False`) or PUT (`replace=True`, absent optional fields back to defaults)."""
    doctor = current or doctor_get(doctor_id=doctor_id)  # `current`: the record the view checked
    if replace:
        changes.setdefault("time_zone", None)
        changes.setdefault("unavailable", [])
        changes.setdefault("email", None)
        changes.setdefault("appointment_type_ids", [])
        changes.setdefault("subdivision", None)
    country_changed = "country_id" in changes and changes["country_id"] != doctor.country_id
    zone_from_country = changes.get("time_zone", "") is None or (country_changed and "time_zone" not in changes)
    # A subdivision is checked against the country's code: a new one, and the kept one in a new country.
    subdivision = changes.get("subdivision", doctor.subdivision)
    check_subdivision = subdivision is not None and ("subdivision" in changes or country_changed)
    if zone_from_country or country_changed or check_subdivision:
        country = country_get_referenced(country_id=changes.get("country_id", doctor.country_id))
        if zone_from_country:
            changes["time_zone"] = country.time_zone
        if check_subdivision:
            changes["subdivision"] = _subdivision_in(country.code, subdivision, kept="subdivision" not in changes)
    types_changed = "appointment_type_ids" in changes or country_changed
    if types_changed:
        type_ids = changes.get("appointment_type_ids", doctor.appointment_type_ids or [])
        _check_offered_types(list(type_ids), changes.get("country_id", doctor.country_id))
    apply_changes(doctor, _stored_fields(changes), if_match=if_match)

    def also(tx: Transaction) -> None:
        if country_changed:
            country_must_exist(tx, doctor.country_id)
        if types_changed:
            _offered_types_still_there(tx, list(doctor.appointment_type_ids or []))
        audit.join(tx)

    save_record(doctor, if_match=if_match, also=also)
    return doctor


def doctor_delete(*, doctor_id: str, if_match: int | None, current: Doctor | None = None) -> None:
    # `current`: the record the view checked. A hook's items may lose more races than the record's
    # (a login's user item, to its sign-ins): delete_guarded retries as often as the hooks need.
    delete_guarded(
        lambda: doctor_get(doctor_id=doctor_id),
        doctor_id,
        if_match=if_match,
        current=current,
        guards=doctor_delete_guards,
        hooks=doctor_delete_hooks,
        also=audit.join,
    )
