"""Time on a doctor's agenda: the slot grid of a weekly schedule in the doctor's zone (daylight-saving
aware) and whether a booking fits it. Pure logic, no I/O (the lock keys are in appointments.locks)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from doctors.schedule import DAYS, WeeklyWindow, format_clock


def stored_windows(entries: Iterable) -> list[WeeklyWindow]:
    """A doctor's stored `availableTimes` (day name, "HH:MM" start and end) as weekly windows."""
    return [WeeklyWindow(DAYS.index(entry.day), _minutes(entry.start), _minutes(entry.end)) for entry in entries or []]


def describe(window: WeeklyWindow) -> str:
    return f"{window.day.capitalize()} {format_clock(window.start)}-{format_clock(window.end)}"


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


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
    windows: Iterable[WeeklyWindow], *, slot_minutes: int, zone: ZoneInfo, first_day: date, last_day: date
) -> Iterator[tuple[datetime, datetime]]:
    """Every slot (UTC start, UTC end) of the weekly schedule on the local days first_day..last_day.
    A slot whose local start the clock skips (spring forward) does not exist."""
    by_day: dict[int, list[WeeklyWindow]] = {}
    for window in windows:
        by_day.setdefault(window.day_index, []).append(window)
    day = first_day
    while day <= last_day:
        for window in sorted(by_day.get(day.weekday(), []), key=lambda w: w.start):
            minute = window.start
            while minute + slot_minutes <= window.end:
                start = _local(day, minute, zone)
                if start is not None:
                    start_utc = start.astimezone(UTC)
                    yield start_utc, start_utc + timedelta(minutes=slot_minutes)
                minute += slot_minutes
        day += timedelta(days=1)


def schedule_problem(
    start: datetime, duration_minutes: int, windows: Iterable[WeeklyWindow], *, slot_minutes: int, zone: ZoneInfo
) -> str | None:
    """Why a booking does not fit the doctor's weekly schedule, or None when it does: it must start
    on a slot of `grid_slots` and run over consecutive slots of that day (the same rule availability
    uses, so whatever is offered can be booked, daylight-saving changes included)."""
    windows = list(windows)
    local_start = start.astimezone(zone)
    day = local_start.date()
    next_slot = dict(grid_slots(windows, slot_minutes=slot_minutes, zone=zone, first_day=day, last_day=day))
    moment = start
    for _ in range(max(1, duration_minutes // slot_minutes)):
        if moment not in next_slot:
            return _why_not(start, duration_minutes, windows, slot_minutes=slot_minutes, zone=zone)
        moment = next_slot[moment]
    return None


def _why_not(
    start: datetime, duration_minutes: int, windows: list[WeeklyWindow], *, slot_minutes: int, zone: ZoneInfo
) -> str:
    """A message a person can act on for a time that is not bookable."""
    local_start = start.astimezone(zone)
    local_end = (start + timedelta(minutes=duration_minutes)).astimezone(zone)
    where = f"{local_start:%H:%M} on {local_start:%A %Y-%m-%d} in {zone.key}"
    if local_start.second or local_start.microsecond:
        return f"{where} is not on the slot grid: slots start on whole minutes."
    day_windows = sorted((w for w in windows if w.day_index == local_start.weekday()), key=lambda w: w.start)
    if not day_windows:
        return f"The doctor does not work on {local_start:%A}s ({where})."
    start_minute = local_start.hour * 60 + local_start.minute
    end_minute = local_end.hour * 60 + local_end.minute
    if local_end.date() != local_start.date():
        ends_at_midnight = local_end.date() == local_start.date() + timedelta(days=1) and end_minute == 0
        end_minute = 24 * 60 if ends_at_midnight else 24 * 60 + 1  # past midnight: no window holds it
    for window in day_windows:
        if window.start <= start_minute and end_minute <= window.end and (start_minute - window.start) % slot_minutes:
            return (
                f"{where} is not on the doctor's {slot_minutes}-minute grid; slots in {describe(window)} "
                f"start at {format_clock(window.start)}, {format_clock(window.start + slot_minutes)}, …"
            )
        if window.start <= start_minute and end_minute <= window.end:
            return f"{where} is not a bookable slot that day: the clocks change then."
    hours = ", ".join(describe(w) for w in day_windows)
    return f"{where} to {local_end:%H:%M} is outside the doctor's available times ({hours})."
