from collections.abc import Callable
from datetime import date

from countries.holidays import closed_on
from countries.models import Country
from countries.selectors import country_closures, country_observes_holidays
from doctors.models import Doctor
from scheduler.db import Page, paginate
from scheduler.exceptions import NotFound


def doctor_get(*, doctor_id: str) -> Doctor:
    try:
        return Doctor.get(doctor_id)
    except Doctor.DoesNotExist:
        raise NotFound(f"Doctor '{doctor_id}' not found.") from None


def doctor_list(
    *, limit: int, cursor: str | None, country_id: str | None = None, speciality: str | None = None
) -> Page:
    """One Query on byCountry per page; without a country, the admin listing (a paginated Scan).
    A speciality filter can make a page shorter than `limit`; follow `next` for the rest."""
    wanted = speciality.strip().lower() if speciality else None
    condition = Doctor.speciality_key == wanted if wanted is not None else None
    # The scope as cursors already given carry it: "False" without a speciality.
    scope = f"speciality:{wanted is not None and wanted}"
    if country_id:
        return paginate(
            Doctor.by_country.query,
            hash_key=country_id,
            filter_condition=condition,
            limit=limit,
            cursor=cursor,
            scope=f"country:{country_id}|{scope}",
        )
    return paginate(Doctor.scan, filter_condition=condition, limit=limit, cursor=cursor, scope=f"all|{scope}")


def doctor_slot_minutes(doctor: Doctor) -> int:
    """The doctor's slot length. A NumberAttribute is a float to PynamoDB's types; slotMinutes is only
    ever written from an integer (the serializer's IntegerField, doctor_create's int) and whole numbers
    load as int, so int() returns the value unchanged."""
    return int(doctor.slot_minutes)


def doctor_exists_in_country(*, country_id: str) -> bool:
    return any(True for _ in Doctor.by_country.query(country_id, limit=1))


def doctors_offering(*, country_id: str, appointment_type_id: str, limit: int = 6) -> list[str]:
    """The ids of (up to `limit`) doctors of the country whose appointmentTypeIds name the type:
    one Query of the country's doctors, page by page, filtered."""
    found = Doctor.by_country.query(
        country_id, filter_condition=Doctor.appointment_type_ids.contains(appointment_type_id)
    )
    offering = []
    for doctor in found:
        offering.append(doctor.doctor_id)
        if len(offering) >= limit:
            break
    return offering


def doctor_closed_on(doctor: Doctor, country: Country) -> Callable[[date], str | None]:
    """For the doctor's LOCAL dates (in the doctor's zone): what closes the doctor that day (the
    public holiday's or closure's name, for a message to quote), or None. `country` is the doctor's
    (as read for its policy). Built once per availability or booking check: closures are read once."""
    if country.country_id != doctor.country_id:
        raise ValueError(f"Country '{country.country_id}' is not doctor '{doctor.doctor_id}''s ({doctor.country_id}).")
    code, subdivision = country.code, doctor.subdivision
    observes, works = country_observes_holidays(country), bool(doctor.works_on_holidays)
    closures = country_closures(country)

    def closed(day: date) -> str | None:
        return closed_on(
            day, code=code, observes=observes, closures=closures, subdivision=subdivision, works_on_holidays=works
        )

    return closed
