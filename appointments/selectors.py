from datetime import UTC, date, datetime, time, timedelta
from functools import partial, reduce
from operator import and_
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.conf import settings
from pynamodb.expressions.condition import Condition

from appointment_types.models import AppointmentType
from appointment_types.rules import MAX_BUFFER_MINUTES
from appointment_types.selectors import type_minutes
from appointments import timegrid
from appointments.models import ACTIVE_STATES, COMPLETED, NO_SHOW, Appointment, country_day_kind
from countries.models import Country
from countries.selectors import country_policy
from doctors.models import Doctor
from doctors.selectors import doctor_closed_on, doctor_get, doctor_slot_minutes
from scheduler.db import (
    Page,
    batch_get,
    decode_cursor,
    encode_cursor,
    in_parallel,
    merge_shard_pages,
    paginate,
    query_page,
    shard_keys,
    utcnow,
)
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
    """One Query per page on the most selective GSI given (doctor, patient), ordered by
    appointmentDate; the other filters narrow it, so a page can be shorter than `limit` (follow
    `next`). A country alone: its days on byCountryDay (country_appointments). With no id at all,
    the admin listing: a paginated Scan, in no particular order."""
    if country_id and not doctor_id and not patient_id:
        return country_appointments(
            country_id=country_id, state=state, start=start, end=end, limit=limit, cursor=cursor
        )
    keys = [
        (doctor_id, Appointment.by_doctor, Appointment.doctor_id),
        (patient_id, Appointment.by_patient, Appointment.patient_id),
    ]
    given = [key for key in keys if key[0]]
    filters: list[Condition] = [attribute == value for value, _, attribute in given[1:]]
    if country_id:
        filters.append(Appointment.country_id == country_id)
    if state:
        filters.append(Appointment.state == state)
    when: Condition | None = None
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


# A country's listing reads one range of days: by default the 31 days from today (UTC), at most 92.
COUNTRY_DEFAULT_DAYS = 31
COUNTRY_MAX_DAYS = 92
_DAY = timedelta(days=1)
_TICK = timedelta(microseconds=1)
_EARLIEST, _LATEST = datetime(1900, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)


def country_window(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """The range a country's listing reads: `from` defaults to the start of today (UTC) or to
    COUNTRY_DEFAULT_DAYS before `to`; `to` to COUNTRY_DEFAULT_DAYS after `from`. Over
    COUNTRY_MAX_DAYS is a 400 naming `to`."""
    for name, bound in (("from", start), ("to", end)):
        # Days are walked one by one and defaults added: keep clear of datetime's limits.
        if bound is not None and not _EARLIEST <= bound <= _LATEST:
            raise InvalidInput(name, f"Give a time between {_EARLIEST.year} and {_LATEST.year}.")
    if start is None:
        start = end - timedelta(days=COUNTRY_DEFAULT_DAYS) if end else datetime.combine(utcnow().date(), time(), UTC)
    if end is None:
        end = start + timedelta(days=COUNTRY_DEFAULT_DAYS) - _TICK
    if end - start >= timedelta(days=COUNTRY_MAX_DAYS):
        raise InvalidInput(
            "to",
            f"A country's appointments are listed for at most {COUNTRY_MAX_DAYS} days at a time; "
            "ask for a shorter range from `from` to `to`.",
        )
    return start, end


def _utc_day_start(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def country_appointments(
    *, country_id: str, state: str | None, start: datetime | None, end: datetime | None, limit: int, cursor: str | None
) -> Page:
    """A country's appointments in appointmentDate order, from byCountryDay. Each UTC day's items are
    spread over COUNTRY_DAY_SHARDS keys: a page queries the day's shards at once (one Query each, at
    most `limit` items), merges them by time and emits what no unread item can precede; the cursor
    keeps each shard's position. While the page has room the next days follow, read 1, 2, 4, ... days
    at a time (in parallel), up to COUNTRY_LISTING_DAYS_PER_PAGE days per page.
    Budget: at most COUNTRY_DAY_SHARDS × COUNTRY_LISTING_DAYS_PER_PAGE Queries per page (4 × 31), and
    COUNTRY_DAY_SHARDS when the first day read fills the page. With `state`, a page can be shorter
    than `limit` (follow `next`)."""
    scope = f"country-day|{country_id}|{state}|{start}|{end}"
    saved = decode_cursor(cursor, scope)
    if saved:
        start, end, day, positions = _country_position(saved)
    else:
        start, end = country_window(start, end)
        day, positions = start.date(), {}
    shards = settings.COUNTRY_DAY_SHARDS
    results: list[Appointment] = []
    days_left, batch = settings.COUNTRY_LISTING_DAYS_PER_PAGE, 1
    while days_left > 0 and day <= end.date() and len(results) < limit:
        days = [day + n * _DAY for n in range(min(batch, days_left)) if day + n * _DAY <= end.date()]
        room = limit - len(results)
        reads = [
            (moment, str(shard), keys, positions if moment == day else {})
            for moment in days
            for keys in [shard_keys(country_day_kind(country_id, moment.isoformat()), shards)]
            for shard in range(shards)
            if (positions if moment == day else {}).get(str(shard), _FRESH) is not None
        ]
        pages = in_parallel(
            [
                partial(_read_shard, keys[int(shard)], at.get(shard), _day_range(moment, start, end), state, room)
                for moment, shard, keys, at in reads
            ]
        )
        read = {(moment, shard): page for (moment, shard, _, _), page in zip(reads, pages, strict=True)}
        days_left -= len(days)
        batch *= 2
        for moment in days:
            day_pages = {shard: page for (when, shard), page in read.items() if when == moment}
            emitted, positions = _merge_day(day_pages, positions, limit - len(results))
            results += emitted
            if any(positions.get(str(shard), _FRESH) is not None for shard in range(shards)):
                break  # the day goes on: the page is full, or a filter left it short
            day, positions = moment + _DAY, {}
            if len(results) >= limit:
                break
        else:
            continue  # every day of the batch read to its end, with room left: read the next days
        break
    if day > end.date():
        return Page(items=results, next=None)
    saved = {"w": [start.isoformat(), end.isoformat()], "d": day.isoformat(), "p": positions}
    return Page(items=results, next=encode_cursor(saved, scope))


def _day_range(day: date, start: datetime, end: datetime):
    """The part of [start, end] on one UTC day, as a range condition on appointmentDate."""
    lower, upper = max(start, _utc_day_start(day)), min(end, _utc_day_start(day + _DAY) - _TICK)
    return Appointment.appointment_date.between(lower, upper)


def _read_shard(
    key: str, after: dict | None, condition, state: str | None, room: int
) -> tuple[list[dict], dict | None]:
    """One Query of one shard: at most `room` raw items from `after` on, and its LastEvaluatedKey."""
    return query_page(
        Appointment.by_country_day.query,
        key,
        after=after,
        page_size=room,
        range_key_condition=condition,
        filter_condition=Appointment.state == state if state else None,
    )


def _country_position(saved: dict) -> tuple[datetime, datetime, date, dict]:
    """The window, day and shard positions a cursor carries (signed, so only ours get here)."""
    try:
        start, end = (datetime.fromisoformat(value) for value in saved["w"])
        positions = {str(shard): key for shard, key in saved["p"].items()}
        if not all(key is None or isinstance(key, dict) for key in positions.values()):
            raise ValueError(positions)
        return start, end, date.fromisoformat(saved["d"]), positions
    except (KeyError, TypeError, ValueError, AttributeError):
        raise InvalidInput("cursor", "This cursor belongs to another listing; start again without a cursor.") from None


# A shard's position in the cursor: absent, not read yet; a key, read up to it; None, all read.
_FRESH = object()


def _merge_day(pages: dict, positions: dict, room: int) -> tuple[list[Appointment], dict]:
    """Merge one day's shard pages (shard → (raw items, LastEvaluatedKey)) in appointmentDate order,
    up to `room`, and the shards' new positions (scheduler.db.merge_shard_pages)."""
    emitted, new_positions = merge_shard_pages(
        pages,
        positions,
        room=room,
        sort_name="appointmentDate",
        key_names=("countryDay", "appointmentDate", "appointmentId"),
    )
    return [Appointment.from_raw_data(raw) for raw in emitted], new_positions


def active_for_doctor(*, doctor_id: str, start: datetime, end: datetime) -> list[Appointment]:
    """Appointments of a doctor that hold its time (buffers included) over [start, end): pending and
    scheduled ones, and completed or no-show ones, which keep their locks (an appointment marked
    completed early still holds the rest of its time and its buffer after). One Query, widened by
    the longest appointment and buffers that can reach in."""
    earliest = start - timedelta(minutes=MAX_DURATION_MINUTES + MAX_BUFFER_MINUTES)
    latest = end + timedelta(minutes=MAX_BUFFER_MINUTES)
    found = Appointment.by_doctor.query(
        doctor_id,
        range_key_condition=Appointment.appointment_date.between(earliest, latest),
        filter_condition=Appointment.state.is_in(*ACTIVE_STATES, COMPLETED, NO_SHOW),
    )
    return [a for a in found for held in [a.doctor_span()] if timegrid.overlaps(held[0], held[1], start, end)]


def doctor_agenda(
    doctor: Doctor, country: Country, *, now: datetime, busy: tuple[tuple[datetime, datetime], ...] = ()
) -> timegrid.Agenda:
    """What the time rules know of this doctor now (timegrid.Agenda): its schedule, zone, blocked
    periods, the country's notice and horizon, its holidays and closures (of the doctor's country and
    subdivision, on local days in the doctor's zone), and `busy`, the time other bookings hold.
    `country` gives the policy (an appointment's own country, for a reschedule); the holidays are
    always those of the doctor's country."""
    moved = country.country_id != doctor.country_id  # the doctor has moved since the booking
    holidays_of = country_policy(country_id=doctor.country_id) if moved else country
    return timegrid.Agenda(
        windows=tuple(timegrid.stored_windows(doctor.available_times)),
        slot_minutes=doctor_slot_minutes(doctor),
        zone=ZoneInfo(doctor.time_zone),
        now=now,
        notice_minutes=int(country.min_notice_minutes),
        advance_days=int(country.max_advance_days),
        blocked=tuple((period.start, period.end) for period in doctor.unavailable or []),
        busy=busy,
        closed=doctor_closed_on(doctor, holidays_of),
    )


def booking_shape(
    doctor: Doctor, appointment_type: AppointmentType | None, *, duration_minutes: int | None
) -> timegrid.Shape:
    """What a booking holds: a type's duration and buffers, or the duration asked (default one slot)."""
    if appointment_type is None:
        return timegrid.Shape(duration_minutes or doctor_slot_minutes(doctor))
    return timegrid.Shape(*type_minutes(appointment_type))


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


def appointment_type_has_upcoming(*, appointment_type_id: str) -> bool:
    return _has_upcoming(Appointment.by_type, appointment_type_id)


def doctor_availability(
    *, doctor_id: str, first_day: date, last_day: date, appointment_type_id: str | None = None
) -> dict[str, Any]:
    """The starts between two local days at which a booking (of the type, if given) would be accepted
    now: the weekly schedule minus held time (buffers included), blocked periods, the past and the
    country's notice and horizon. Two reads: the doctor (with the type, one BatchGetItem), and one
    Query of the doctor's appointments in the range (the country's policy is cached)."""
    if last_day < first_day:
        raise InvalidInput("to", "`to` must not be before `from`.")
    if (last_day - first_day).days + 1 > MAX_AVAILABILITY_DAYS:
        raise InvalidInput("to", f"Ask for at most {MAX_AVAILABILITY_DAYS} days at a time.")
    doctor, appointment_type = _doctor_and_type(doctor_id, appointment_type_id)
    zone = ZoneInfo(doctor.time_zone)
    country = country_policy(country_id=doctor.country_id)
    range_start = datetime.combine(first_day, time(), zone).astimezone(UTC)
    range_end = datetime.combine(last_day + timedelta(days=1), time(), zone).astimezone(UTC)
    shape = booking_shape(doctor, appointment_type, duration_minutes=None)
    # Held time that reaches into the range, or that a start in it (with its buffers) reaches.
    busy = tuple(
        a.doctor_span()
        for a in active_for_doctor(
            doctor_id=doctor_id,
            start=range_start - timedelta(minutes=shape.before),
            end=range_end + timedelta(minutes=shape.duration + shape.after),
        )
    )
    agenda = doctor_agenda(doctor, country, now=utcnow(), busy=busy)
    slots = [
        {"start": timegrid.iso_z(start), "end": timegrid.iso_z(end)}
        for start, end in timegrid.offered(agenda, shape, first_day=first_day, last_day=last_day)
    ]
    found = _availability(doctor, slots)
    if appointment_type is not None:
        found |= {"appointmentTypeId": appointment_type.appointment_type_id, "durationMinutes": shape.duration}
    return found


def _doctor_and_type(doctor_id: str, appointment_type_id: str | None) -> tuple[Doctor, AppointmentType | None]:
    """The doctor (404 if missing) and the type it offers (else a 400 on appointmentTypeId), one read."""
    if appointment_type_id is None:
        return doctor_get(doctor_id=doctor_id), None
    doctor, appointment_type = batch_get([(Doctor, doctor_id), (AppointmentType, appointment_type_id)])
    if doctor is None:
        raise NotFound(f"Doctor '{doctor_id}' not found.")
    doctor = cast(Doctor, doctor)
    return doctor, check_offered_type(doctor, cast("AppointmentType | None", appointment_type), appointment_type_id)


def check_offered_type(
    doctor: Doctor, appointment_type: AppointmentType | None, appointment_type_id: str
) -> AppointmentType:
    """The type as read, or a 400 on appointmentTypeId: it does not exist, the doctor does not offer
    it, or it is retired. Booking and availability refuse a type the same way."""
    field = "appointmentTypeId"
    if appointment_type is None:
        raise InvalidInput(field, f"Appointment type '{appointment_type_id}' does not exist.")
    if appointment_type_id not in (doctor.appointment_type_ids or []):
        offers = ", ".join(doctor.appointment_type_ids or []) or "none"
        raise InvalidInput(
            field,
            f"Doctor '{doctor.doctor_id}' does not offer appointment type '{appointment_type_id}' (offers: {offers}).",
        )
    if not appointment_type.active:
        raise InvalidInput(
            field, f"Appointment type '{appointment_type_id}' is retired (active: false) and can no longer be booked."
        )
    return appointment_type


def _availability(doctor, slots: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "doctorId": doctor.doctor_id,
        "timeZone": doctor.time_zone,
        "slotMinutes": doctor.slot_minutes,
        "slots": slots,
    }
