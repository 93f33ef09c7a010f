from datetime import UTC, date, datetime, time, timedelta
from functools import reduce
from operator import and_
from typing import Any
from zoneinfo import ZoneInfo

from appointments import timegrid
from appointments.models import ACTIVE_STATES, Appointment
from countries.selectors import country_policy
from doctors.selectors import doctor_get
from scheduler.db import Page, paginate, utcnow
from scheduler.exceptions import InvalidInput, NotFound

# Longest booking (the longest slot a doctor may have): with its locks (doctor and patient, one per
# 5 minutes), its event and two checks it fills a TransactWriteItems of at most 100 items.
MAX_DURATION_MINUTES = 240
MAX_AVAILABILITY_DAYS = 31


def appointment_get(*, appointment_id: str) -> Appointment:
    try:
        return Appointment.get(appointment_id, consistent_read=True)
    except Appointment.DoesNotExist:
        raise NotFound(f"Appointment '{appointment_id}' not found.") from None


def appointment_list(
    *,
    limit: int,
    cursor: str | None,
    country_id: str | None = None,
    doctor_id: str | None = None,
    patient_id: str | None = None,
    state: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Page:
    """One Query per page on the most selective GSI given (doctor, patient, country), ordered by
    appointmentDate; the other filters narrow it, so a page can be shorter than `limit` (follow
    `next`). With no id at all, the admin listing: a paginated Scan, in no particular order."""
    keys = [
        (doctor_id, Appointment.by_doctor, Appointment.doctor_id),
        (patient_id, Appointment.by_patient, Appointment.patient_id),
        (country_id, Appointment.by_country, Appointment.country_id),
    ]
    given = [key for key in keys if key[0]]
    filters = [attribute == value for value, _, attribute in given[1:]]
    if state:
        filters.append(Appointment.state == state)
    when = None
    if start and end:
        when = Appointment.appointment_date.between(start, end)
    elif start:
        when = Appointment.appointment_date >= start
    elif end:
        when = Appointment.appointment_date <= end
    scope = f"{doctor_id}|{patient_id}|{country_id}|{state}|{start}|{end}"
    if not given:
        filters += [when] if when is not None else []
        condition = reduce(and_, filters) if filters else None
        return paginate(Appointment.scan, filter_condition=condition, limit=limit, cursor=cursor, scope=scope)
    value, index, _ = given[0]
    return paginate(
        index.query,
        hash_key=value,
        range_key_condition=when,
        filter_condition=reduce(and_, filters) if filters else None,
        limit=limit,
        cursor=cursor,
        scope=scope,
    )


def active_for_doctor(*, doctor_id: str, start: datetime, end: datetime) -> list[Appointment]:
    """Pending and scheduled appointments of a doctor overlapping [start, end): one Query."""
    earliest = start - timedelta(minutes=MAX_DURATION_MINUTES)
    return [
        appointment
        for appointment in Appointment.by_doctor.query(
            doctor_id,
            range_key_condition=Appointment.appointment_date.between(earliest, end),
            filter_condition=Appointment.state.is_in(*ACTIVE_STATES),
        )
        if timegrid.overlaps(appointment.appointment_date, appointment.end_date, start, end)
    ]


def _has_upcoming(index, owner_id: str) -> bool:
    """Any pending or scheduled appointment not yet over (one in progress included)."""
    now = utcnow()
    upcoming = index.query(
        owner_id,
        range_key_condition=Appointment.appointment_date >= now - timedelta(minutes=MAX_DURATION_MINUTES),
        filter_condition=Appointment.state.is_in(*ACTIVE_STATES) & (Appointment.end_date > now),
        page_size=50,
    )
    return next(iter(upcoming), None) is not None


def doctor_has_upcoming(*, doctor_id: str) -> bool:
    return _has_upcoming(Appointment.by_doctor, doctor_id)


def patient_has_upcoming(*, patient_id: str) -> bool:
    return _has_upcoming(Appointment.by_patient, patient_id)


def doctor_availability(*, doctor_id: str, first_day: date, last_day: date) -> dict[str, Any]:
    """Free slots on the doctor's grid between two local days: the weekly schedule minus booked
    time, blocked periods, the past and the country's notice and horizon. Two reads: the doctor,
    and one Query of the doctor's appointments in the range (the country's policy is cached)."""
    if last_day < first_day:
        raise InvalidInput("to", "`to` must not be before `from`.")
    if (last_day - first_day).days + 1 > MAX_AVAILABILITY_DAYS:
        raise InvalidInput("to", f"Ask for at most {MAX_AVAILABILITY_DAYS} days at a time.")
    doctor = doctor_get(doctor_id=doctor_id)
    zone = ZoneInfo(doctor.time_zone)
    country = country_policy(country_id=doctor.country_id)
    range_start = datetime.combine(first_day, time(), zone).astimezone(UTC)
    range_end = datetime.combine(last_day + timedelta(days=1), time(), zone).astimezone(UTC)
    now = utcnow()
    earliest = now + timedelta(minutes=country.min_notice_minutes)
    latest = now + timedelta(days=country.max_advance_days)
    busy = [
        (a.appointment_date, a.end_date)
        for a in active_for_doctor(doctor_id=doctor_id, start=range_start, end=range_end)
    ]
    busy += [(period.start, period.end) for period in doctor.unavailable or []]
    windows = timegrid.stored_windows(doctor.available_times)
    slots = [
        {"start": timegrid.iso_z(start), "end": timegrid.iso_z(end)}
        for start, end in timegrid.grid_slots(
            windows, slot_minutes=doctor.slot_minutes, zone=zone, first_day=first_day, last_day=last_day
        )
        if earliest <= start <= latest and not any(timegrid.overlaps(start, end, b0, b1) for b0, b1 in busy)
    ]
    return _availability(doctor, slots)


def _availability(doctor, slots: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "doctorId": doctor.doctor_id,
        "timeZone": doctor.time_zone,
        "slotMinutes": doctor.slot_minutes,
        "slots": slots,
    }
