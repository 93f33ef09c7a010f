"""A doctor's weekly schedule: parsing the original service's strings ("Monday 10am-4pm",
"Tue 09:00-12:30") and the object form ({"day": "monday", "start": "10:00", "end": "16:00"}) into
one normalised form, ready for slot generation. Pure logic, no I/O."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_ALIASES = (
    {day: day for day in DAYS}
    | {day[:3]: day for day in DAYS}
    | {
        "tues": "tuesday",
        "wednes": "wednesday",
        "weds": "wednesday",
        "thur": "thursday",
        "thurs": "thursday",
    }
)
_CLOCK = r"(\d{1,2})(?:[:.](\d{2}))?\s*(?:([ap])\.?\s*(?:m\.?)?)?"
_CLOCK_RE = re.compile(rf"^\s*{_CLOCK}\s*$", re.IGNORECASE)
_ENTRY_RE = re.compile(rf"^\s*([A-Za-z]+)\.?,?\s+{_CLOCK}\s*(?:-|–|—|\bto\b)\s*{_CLOCK}\s*$", re.IGNORECASE)
MINUTES_PER_DAY = 24 * 60
MAX_ENTRIES = 70
# Booked time is locked per 5-minute bucket (appointments.locks): any two overlapping bookings share
# a bucket, whatever grid each was made on, so a schedule or slot-length change can never let two
# bookings of one doctor overlap. Schedules and slots are therefore multiples of it.
LOCK_MINUTES = 5

EXAMPLES = 'e.g. "Monday 10am-4pm", "Tue 09:00-12:30" or {"day": "monday", "start": "10:00", "end": "16:00"}'


class ScheduleError(ValueError):
    """An entry that cannot be used, with a message that quotes it."""


@dataclass(frozen=True, order=True)
class WeeklyWindow:
    """A window of one weekday, in minutes from local midnight: [start, end)."""

    day_index: int
    start: int
    end: int

    @property
    def day(self) -> str:
        return DAYS[self.day_index]

    def as_dict(self) -> dict[str, str]:
        return {"day": self.day, "start": format_clock(self.start), "end": format_clock(self.end)}


def format_clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _quote(entry: Any) -> str:
    return f'"{entry}"' if isinstance(entry, str) else json.dumps(entry, sort_keys=True, default=str)


def _day(word: Any, entry: Any) -> int:
    day = _DAY_ALIASES.get(str(word).strip().lower()) if isinstance(word, str) else None
    if day is None:
        raise ScheduleError(f"{_quote(entry)}: {word!r} is not a day of the week (use e.g. Monday or Mon).")
    return DAYS.index(day)


def _clock(hour: str, minute: str | None, meridiem: str | None, *, entry: Any, is_end: bool) -> int:
    h, m = int(hour), int(minute or 0)
    if m > 59:
        raise ScheduleError(f"{_quote(entry)}: minutes must be 00 to 59.")
    if meridiem:
        if not 1 <= h <= 12:
            raise ScheduleError(f"{_quote(entry)}: a 12-hour time takes hours 1 to 12.")
        h = h % 12 + (12 if meridiem.lower() == "p" else 0)
    elif h > 24 or (h == 24 and m):
        raise ScheduleError(f"{_quote(entry)}: a 24-hour time takes 00:00 to 24:00.")
    minutes = h * 60 + m
    if is_end and minutes == 0:
        return MINUTES_PER_DAY  # "…-12am" / "…-00:00" ends at midnight
    if not is_end and minutes == MINUTES_PER_DAY:
        raise ScheduleError(f"{_quote(entry)}: a window cannot start at 24:00.")
    return minutes


def _window(day_index: int, start: int, end: int, entry: Any) -> WeeklyWindow:
    if start >= end:
        raise ScheduleError(f"{_quote(entry)}: the start must be before the end.")
    return WeeklyWindow(day_index, start, end)


def parse_entry(entry: Any) -> WeeklyWindow:
    """One entry of `availableTimes`, in either form."""
    if isinstance(entry, str):
        match = _ENTRY_RE.match(entry)
        if not match:
            raise ScheduleError(f"{_quote(entry)}: cannot read a day and a time range; use {EXAMPLES}.")
        day, h1, m1, ap1, h2, m2, ap2 = match.groups()
        end = _clock(h2, m2, ap2, entry=entry, is_end=True)
        if ap2 and not ap1 and 1 <= int(h1) <= 12:
            # "Monday 9-11am": the start shares the end's am/pm, unless that puts it after the end:
            # "Monday 10-4pm" and "Monday 10-12pm" start in the morning.
            ap1 = ap2
            if ap2.lower() == "p" and _clock(h1, m1, "p", entry=entry, is_end=False) >= end:
                ap1 = "a"
        start = _clock(h1, m1, ap1, entry=entry, is_end=False)
        return _window(_day(day, entry), start, end, entry)
    if isinstance(entry, dict):
        unknown = set(entry) - {"day", "start", "end"}
        missing = {"day", "start", "end"} - set(entry)
        if unknown or missing:
            raise ScheduleError(f"{_quote(entry)}: an object entry has exactly the keys day, start and end.")
        bounds = []
        for key in ("start", "end"):
            value = entry[key]
            match = _CLOCK_RE.match(value) if isinstance(value, str) else None
            if not match:
                raise ScheduleError(f'{_quote(entry)}: {key} must be a time such as "10:00" or "4pm".')
            bounds.append(_clock(*match.groups(), entry=entry, is_end=key == "end"))
        return _window(_day(entry["day"], entry), bounds[0], bounds[1], entry)
    raise ScheduleError(f"{_quote(entry)}: each entry is a string or an object; use {EXAMPLES}.")


def parse_available_times(entries: Any) -> list[WeeklyWindow]:
    """All entries, sorted by day and start; overlapping windows on one day are refused."""
    if not isinstance(entries, list):
        raise ScheduleError(f"Expected a list of entries; use {EXAMPLES}.")
    if len(entries) > MAX_ENTRIES:
        raise ScheduleError(f"At most {MAX_ENTRIES} entries.")
    parsed = sorted((parse_entry(entry), index) for index, entry in enumerate(entries))
    for (previous, i), (current, j) in zip(parsed, parsed[1:], strict=False):
        if previous.day_index == current.day_index and current.start < previous.end:
            raise ScheduleError(f"{_quote(entries[i])} and {_quote(entries[j])} overlap on {current.day.capitalize()}.")
    return [window for window, _ in parsed]
