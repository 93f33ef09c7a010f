"""ISO 3166-1 country codes and IANA time zones, from the tz database that `tzdata` ships."""

from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


def _table(name: str) -> list[list[str]]:
    text = resources.files("tzdata.zoneinfo").joinpath(name).read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


@cache
def country_names() -> dict[str, str]:
    """ISO 3166-1 alpha-2 code → English short name."""
    return {row[0]: row[1] for row in _table("iso3166.tab")}


@cache
def _principal_zones() -> dict[str, str]:
    zones: dict[str, str] = {}
    for row in _table("zone.tab"):
        zones.setdefault(row[0], row[2])  # the first zone the database lists for the code
    return zones


def is_country_code(code: str) -> bool:
    return code.upper() in country_names()


def principal_zone(code: str) -> str | None:
    """The country's principal zone: the first one the tz database lists for the code."""
    return _principal_zones().get(code.upper())


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def is_time_zone(name: str) -> bool:
    if name not in _zone_names():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
