"""Public holidays (the `holidays` package, pinned) and a country's own closures: pure logic, no
DynamoDB. A country's public holidays are those of its ISO 3166-1 code plus, for a doctor, those of
its ISO 3166-2 subdivision ("MD" for Madrid); closures are extra closed days that apply always.

Names are in the package's default language for each country (Spanish for CL, ES and PE, Portuguese
for BR, English for US), asked for explicitly: left to itself the package picks the language from the
process's locale (LANG), so two servers could name one holiday differently.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping
from datetime import date
from functools import lru_cache
from types import MappingProxyType

import holidays as holiday_calendars

from scheduler.exceptions import InvalidInput

PUBLIC, CLOSURE = "public", "closure"
HOLIDAY_KINDS = (PUBLIC, CLOSURE)
# Names of several holidays on one date, in one string a message can quote.
NAME_SEPARATOR = "; "

# The package warns when a year lies outside what it has data for (India: 2001-2035) and then
# answers with what it has; the endpoint takes years 1900-2100, so say nothing each time.
warnings.filterwarnings("ignore", message="Requested Holidays are available only", category=UserWarning)

# ISO 3166-2 subdivision codes (without the country part) are 1-3 letters or digits. The package
# also lists a few regions that are not (ES "Barcelona", BR "São Paulo Capital", FR "Zone A"):
# they are not subdivisions in the contract's sense, so they are not offered.
_ISO_SUBDIVISION = re.compile(r"[A-Z0-9]{1,3}")

Closures = Mapping[date, str] | Iterable[tuple[date, str]]


@lru_cache(maxsize=512)
def _subdivisions(code: str) -> tuple[str, ...]:
    listed = holiday_calendars.list_supported_countries().get(code, [])
    return tuple(sorted(s for s in listed if _ISO_SUBDIVISION.fullmatch(s)))


def subdivisions(code: str) -> list[str]:
    """The subdivisions the holidays package knows for this ISO 3166-1 code, sorted; [] when it knows
    none (or does not know the country)."""
    return list(_subdivisions(code.upper()))


def valid_subdivision(code: str, subdivision: str | None) -> str | None:
    """`subdivision` as stored: upper-cased, without the country part ("es-md" and "ES-MD" give "MD"),
    None for none. Raises InvalidInput on `subdivision`, listing the valid ones, when the country has
    no such subdivision."""
    if subdivision is None or not subdivision.strip():
        return None
    code = code.upper()
    value = subdivision.strip().upper().removeprefix(f"{code}-")
    known = _subdivisions(code)
    if value in known:
        return value
    if not known:
        raise InvalidInput(
            "subdivision",
            f"The holidays calendar of {code} has no subdivisions: leave subdivision out "
            f"('{subdivision.strip()[:20]}' was given).",
        )
    raise InvalidInput(
        "subdivision",
        f"'{subdivision.strip()[:20]}' is not a subdivision of {code} (ISO 3166-2, without '{code}-'); "
        f"use one of: {', '.join(known)}.",
    )


@lru_cache(maxsize=512)
def _language(code: str) -> str | None:
    return holiday_calendars.country_holidays(code).default_language


@lru_cache(maxsize=4096)
def _public(code: str, subdivision: str | None, year: int) -> Mapping[date, tuple[str, ...]]:
    """The public holidays of one year: date → names (several holidays can share a date)."""
    if code not in holiday_calendars.list_supported_countries():
        return MappingProxyType({})
    if subdivision not in _subdivisions(code):
        # A subdivision stored before the package (or the country's code) changed: the country's own.
        subdivision = None
    calendar = holiday_calendars.country_holidays(code, subdiv=subdivision, years=year, language=_language(code))
    return MappingProxyType({day: tuple(calendar.get_list(day)) for day in sorted(calendar)})


def _closure_on(day: date, closures: Closures) -> str | None:
    if isinstance(closures, Mapping):
        return closures.get(day)
    return next((name for closed, name in closures if closed == day), None)


def closed_on(
    day: date,
    *,
    code: str,
    observes: bool,
    closures: Closures,
    subdivision: str | None,
    works_on_holidays: bool,
) -> str | None:
    """What closes a doctor on this LOCAL date (in the doctor's zone), as a message can quote it:
    the closure's name, and/or the public holiday's (several joined by "; "); None when open.
    Closures (date → name, or (date, name) pairs) apply always; public holidays (the country's and the
    subdivision's) only when the country `observes` them and the doctor does not work on holidays."""
    names: list[str] = []
    closure = _closure_on(day, closures)
    if closure:
        names.append(closure)
    if observes and not works_on_holidays:
        names += [name for name in _public(code.upper(), subdivision, day.year).get(day, ()) if name not in names]
    return NAME_SEPARATOR.join(names) or None


def holidays_of(
    year: int, *, code: str, observes: bool, closures: Closures, subdivision: str | None
) -> list[dict[str, str]]:
    """The year's closed days for the endpoint: `{"date", "name", "kind": "public" | "closure"}`,
    sorted by date (then kind, then name). A date with several public holidays has one entry per
    name; a closure on a public holiday is listed beside it. Public ones only when `observes`."""
    items = closures.items() if isinstance(closures, Mapping) else closures
    entries = [{"date": day.isoformat(), "name": name, "kind": CLOSURE} for day, name in items if day.year == year]
    if observes:
        for day, names in _public(code.upper(), subdivision, year).items():
            entries += [{"date": day.isoformat(), "name": name, "kind": PUBLIC} for name in names]
    return sorted(entries, key=lambda entry: (entry["date"], entry["kind"], entry["name"]))
