"""Time on a doctor's agenda: the slot grid of a weekly schedule in the doctor's zone (daylight-saving
aware) and whether a booking fits it. Pure logic, no I/O (the lock keys are in appointments.locks)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
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


def _window_cells(
    day: date, window: WeeklyWindow, slot_minutes: int, zone: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """The window's grid on one local day as real (UTC) intervals, in order: one cell per slot from
    the window's start, the last one cut at the window's end. A grid time the clock skips (spring
    forward) or passes a second time (fall back) starts no cell, so the cells around a change are
    not contiguous and no booking runs across them."""
    cells = []
    minute = window.start
    while minute < window.end:
        start = _local(day, minute, zone)
        if start is not None:
            start_utc = start.astimezone(UTC)
            cells.append((start_utc, start_utc + timedelta(minutes=min(slot_minutes, window.end - minute))))
        minute += slot_minutes
    return cells


def _fits(cells: list[tuple[datetime, datetime]], index: int, duration_minutes: int) -> bool:
    """Whether a booking from cell `index`'s start, `duration_minutes` long, lies in contiguous cells."""
    need = cells[index][0] + timedelta(minutes=duration_minutes)
    while True:
        if cells[index][1] >= need:
            return True
        if index + 1 == len(cells) or cells[index + 1][0] != cells[index][1]:
            return False
        index += 1


def _day_windows(windows: Iterable[WeeklyWindow], weekday: int) -> list[WeeklyWindow]:
    return sorted((w for w in windows if w.day_index == weekday), key=lambda w: w.start)


def grid_slots(
    windows: Iterable[WeeklyWindow],
    *,
    slot_minutes: int,
    zone: ZoneInfo,
    first_day: date,
    last_day: date,
    duration_minutes: int | None = None,
) -> Iterator[tuple[datetime, datetime]]:
    """Every start on the grid (UTC start, UTC end) of the weekly schedule on the local days
    first_day..last_day from which a booking of `duration_minutes` (default: one slot) lies within
    the window: it starts on a slot and runs over contiguous slots, the last one possibly in part
    (a 45-minute type on a 30-minute grid). A start the clock skips (spring forward) does not exist."""
    duration = duration_minutes or slot_minutes
    windows = list(windows)
    day = first_day
    while day <= last_day:
        for window in _day_windows(windows, day.weekday()):
            cells = _window_cells(day, window, slot_minutes, zone)
            for index, (start, _) in enumerate(cells):
                if _fits(cells, index, duration):
                    yield start, start + timedelta(minutes=duration)
        day += timedelta(days=1)


def schedule_problem(
    start: datetime, duration_minutes: int, windows: Iterable[WeeklyWindow], *, slot_minutes: int, zone: ZoneInfo
) -> str | None:
    """Why a booking does not fit the doctor's weekly schedule, or None when it does: it must start
    on a slot of its local day and run over contiguous slots of one window (the rule `grid_slots`
    offers by, so whatever is offered can be booked, daylight-saving changes included)."""
    windows = list(windows)
    day = start.astimezone(zone).date()
    for window in _day_windows(windows, day.weekday()):
        cells = _window_cells(day, window, slot_minutes, zone)
        for index, (cell_start, _) in enumerate(cells):
            if cell_start == start and _fits(cells, index, duration_minutes):
                return None
    return _why_not(start, duration_minutes, windows, slot_minutes=slot_minutes, zone=zone)


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


# --- The whole rule: schedule, notice, horizon, closed days, blocked periods, buffers -------------


@dataclass(frozen=True)
class Shape:
    """What a booking holds: the appointment (start to end) for the patient, and the doctor from
    `before` minutes earlier to `after` minutes later (an appointment type's buffers)."""

    duration: int
    before: int = 0
    after: int = 0

    def held(self, start: datetime) -> tuple[datetime, datetime]:
        return start - timedelta(minutes=self.before), start + timedelta(minutes=self.duration + self.after)


def _never_closed(day: date) -> str | None:
    return None


@dataclass(frozen=True)
class Agenda:
    """What the rules know of one doctor at one moment. `busy`: the doctor's time other bookings hold
    (buffers included); `closed(local_day)`: the name of the holiday or closure that closes the
    doctor that day, or None."""

    windows: tuple[WeeklyWindow, ...]
    slot_minutes: int
    zone: ZoneInfo
    now: datetime
    notice_minutes: int
    advance_days: int
    blocked: tuple[tuple[datetime, datetime], ...] = ()
    busy: tuple[tuple[datetime, datetime], ...] = ()
    closed: Callable[[date], str | None] = _never_closed

    @property
    def earliest(self) -> datetime:
        return self.now + timedelta(minutes=self.notice_minutes)

    @property
    def latest(self) -> datetime:
        return self.now + timedelta(days=self.advance_days)


@dataclass(frozen=True)
class Refusal:
    """Why a start cannot be booked: a 400 on `field`, or (`taken`) a 409 because time is held."""

    field: str
    message: str
    taken: bool = False


def refusal(agenda: Agenda, shape: Shape, start: datetime) -> Refusal | None:
    """The booking check: why this start cannot be booked now, or None. Checked in the order a person
    would want to hear it; `offered` lists exactly the starts this accepts."""
    if start < agenda.now:
        return Refusal("appointmentDate", f"{iso_z(start)} is in the past.")
    if start < agenda.earliest:
        return Refusal(
            "appointmentDate", f"{iso_z(start)} is too soon: book at least {agenda.notice_minutes} minutes ahead."
        )
    if start > agenda.latest:
        return Refusal(
            "appointmentDate", f"{iso_z(start)} is too far ahead: book at most {agenda.advance_days} days ahead."
        )
    problem = schedule_problem(
        start, shape.duration, agenda.windows, slot_minutes=agenda.slot_minutes, zone=agenda.zone
    )
    if problem:
        return Refusal("appointmentDate", problem)
    local_day = start.astimezone(agenda.zone).date()
    if name := agenda.closed(local_day):
        return Refusal(
            "appointmentDate",
            f"{local_day.isoformat()} is {name} in {agenda.zone.key}: the doctor does not work that day.",
        )
    end = start + timedelta(minutes=shape.duration)
    for period_start, period_end in agenda.blocked:
        if overlaps(start, end, period_start, period_end):
            # Not the period's reason: it is often medical, and the caller may be a patient.
            return Refusal(
                "appointmentDate",
                f"The doctor is unavailable from {iso_z(period_start)} to {iso_z(period_end)}.",
            )
    held_start, held_end = shape.held(start)
    for busy_start, busy_end in agenda.busy:
        if overlaps(held_start, held_end, busy_start, busy_end):
            return Refusal(
                "appointmentDate",
                f"The doctor is already booked during {iso_z(busy_start)}-{iso_z(busy_end)}, which this booking "
                f"needs ({iso_z(held_start)}-{iso_z(held_end)}, buffers included).",
                taken=True,
            )
    return None


def offered(agenda: Agenda, shape: Shape, *, first_day: date, last_day: date) -> list[tuple[datetime, datetime]]:
    """Every start (with its end) on the local days first_day..last_day that `refusal` accepts,
    enumerated from the grid and filtered interval by interval (not by calling `refusal`, so that
    the property tests compare two readings of one rule)."""
    closed = {}
    found = []
    for start, end in grid_slots(
        agenda.windows,
        slot_minutes=agenda.slot_minutes,
        zone=agenda.zone,
        first_day=first_day,
        last_day=last_day,
        duration_minutes=shape.duration,
    ):
        if not agenda.earliest <= start <= agenda.latest:
            continue
        local_day = start.astimezone(agenda.zone).date()
        if local_day not in closed:
            closed[local_day] = agenda.closed(local_day)
        if closed[local_day]:
            continue
        if any(overlaps(start, end, b0, b1) for b0, b1 in agenda.blocked):
            continue
        held_start, held_end = shape.held(start)
        if any(overlaps(held_start, held_end, b0, b1) for b0, b1 in agenda.busy):
            continue
        found.append((start, end))
    return found
