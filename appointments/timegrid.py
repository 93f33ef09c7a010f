"""Time on a doctor's agenda: the slot grid of a weekly schedule in the doctor's zone (daylight-saving
aware), whether a booking fits it, and the lock keys a booking takes. Pure logic, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from doctors.schedule import DAYS

# Locks are taken per 5-minute bucket of a booking's time, for the doctor and for the patient: any two
# overlapping bookings share a bucket, whatever grid each was made on, so a schedule or slot-length
# change can never let two bookings of one doctor overlap. Schedules and slots are multiples of it.
LOCK_MINUTES = 5


@dataclass(frozen=True)
class Window:
    """A weekly window in minutes from local midnight (as stored: day name, "HH:MM")."""

    day: str
    start: int
    end: int

    @classmethod
    def from_stored(cls, day: str, start: str, end: str) -> Window:
        return cls(day, _minutes(start), _minutes(end))

    def describe(self) -> str:
        return f"{self.day.capitalize()} {_clock(self.start)}-{_clock(self.end)}"


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end


def _local(day: date, minutes: int, zone: ZoneInfo) -> datetime | None:
    """The instant a local wall-clock time names, or None when the clock skips it (spring forward)."""
    naive = datetime.combine(day, time()) + timedelta(minutes=minutes)
    aware = naive.replace(tzinfo=zone)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        return None
    return aware


def grid_slots(
    windows: Iterable[Window], *, slot_minutes: int, zone: ZoneInfo, first_day: date, last_day: date
) -> Iterator[tuple[datetime, datetime]]:
    """Every slot (UTC start, UTC end) of the weekly schedule on the local days first_day..last_day."""
    by_day: dict[str, list[Window]] = {}
    for window in windows:
        by_day.setdefault(window.day, []).append(window)
    day = first_day
    while day <= last_day:
        for window in sorted(by_day.get(DAYS[day.weekday()], []), key=lambda w: w.start):
            minute = window.start
            while minute + slot_minutes <= window.end:
                start = _local(day, minute, zone)
                if start is not None:
                    start_utc = start.astimezone(UTC)
                    yield start_utc, start_utc + timedelta(minutes=slot_minutes)
                minute += slot_minutes
        day += timedelta(days=1)


def schedule_problem(
    start: datetime, duration_minutes: int, windows: Iterable[Window], *, slot_minutes: int, zone: ZoneInfo
) -> str | None:
    """Why a booking does not fit the doctor's weekly schedule, or None when it does."""
    local_start = start.astimezone(zone)
    local_end = (start + timedelta(minutes=duration_minutes)).astimezone(zone)
    where = f"{local_start:%H:%M} on {local_start:%A %Y-%m-%d} in {zone.key}"
    if local_start.second or local_start.microsecond:
        return f"{iso_z(start)} is not on the slot grid (slots start on whole minutes)."
    day_windows = [w for w in windows if w.day == DAYS[local_start.weekday()]]
    if not day_windows:
        return f"The doctor does not work on {local_start:%A}s ({where})."
    start_minute = local_start.hour * 60 + local_start.minute
    end_minute = local_end.hour * 60 + local_end.minute
    if local_end.date() != local_start.date():
        ends_at_midnight = local_end.date() == local_start.date() + timedelta(days=1) and end_minute == 0
        end_minute = 24 * 60 if ends_at_midnight else 24 * 60 + 1  # past midnight: no window holds it
    for window in day_windows:
        if window.start <= start_minute and end_minute <= window.end:
            if (start_minute - window.start) % slot_minutes:
                return (
                    f"{where} is not on the doctor's {slot_minutes}-minute grid; slots in {window.describe()} "
                    f"start at {_clock(window.start)}, {_clock(window.start + slot_minutes)}, …"
                )
            return None
    hours = ", ".join(w.describe() for w in sorted(day_windows, key=lambda w: w.start))
    return f"{where} to {local_end:%H:%M} is outside the doctor's available times ({hours})."


def lock_keys(kind: str, owner_id: str, start: datetime, end: datetime) -> list[str]:
    """One key per LOCK_MINUTES bucket of [start, end) for a doctor's or patient's time."""
    step = timedelta(minutes=LOCK_MINUTES)
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    bucket = epoch + ((start - epoch) // step) * step
    keys = []
    while bucket < end:
        keys.append(f"{kind}#{owner_id}#{bucket.astimezone(UTC):%Y-%m-%dT%H:%MZ}")
        bucket += step
    return keys
