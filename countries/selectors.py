import threading
import time
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from countries.holidays import holidays_of, valid_subdivision
from countries.models import COUNTRY_LIST_KEY, Country
from scheduler.db import Page, paginate, utcnow
from scheduler.exceptions import InvalidInput, NotFound


def country_get(*, country_id: str) -> Country:
    try:
        return Country.get(country_id)
    except Country.DoesNotExist:
        raise NotFound(f"Country '{country_id}' not found.") from None


def country_get_referenced(*, country_id: str, field: str = "countryId") -> Country:
    """The country another record points at; a missing one is the client's 400, named by field."""
    try:
        return Country.get(country_id)
    except Country.DoesNotExist:
        raise InvalidInput(field, f"Country '{country_id}' does not exist.") from None


def country_observes_holidays(country: Country) -> bool:
    """Whether the country's public holidays close its doctors: a country stored before the
    attribute existed (None) observes them."""
    return country.observes_holidays is not False


def country_closures(country: Country) -> dict[date, str]:
    """The country's closures: local date → name."""
    return {date.fromisoformat(closure.date): closure.name for closure in country.closures or []}


def country_holidays(*, country: Country, year: int | None = None, subdivision: str | None = None) -> dict[str, Any]:
    """GET /countries/{id}/holidays: the year's public holidays (when the country observes them; the
    subdivision's too) and closures, by date. `year` defaults to the current one in the country's zone."""
    subdivision = valid_subdivision(country.code, subdivision)
    if year is None:
        year = utcnow().astimezone(ZoneInfo(country.time_zone)).year
    entries = holidays_of(
        year,
        code=country.code,
        observes=country_observes_holidays(country),
        closures=country_closures(country),
        subdivision=subdivision,
    )
    return {"countryId": country.country_id, "year": year, "subdivision": subdivision, "holidays": entries}


# Countries are reference data read by every booking: each process keeps them for a short while.
# A change made through another process applies there within POLICY_CACHE_SECONDS.
POLICY_CACHE_SECONDS = 30.0
_policy_cache: dict[str, tuple[float, Country]] = {}
_policy_lock = threading.Lock()


def country_policy(*, country_id: str) -> Country:
    """The country (time zone, booking policy) as of at most POLICY_CACHE_SECONDS ago."""
    now = time.monotonic()
    with _policy_lock:
        cached = _policy_cache.get(country_id)
    if cached and cached[0] > now:
        return cached[1]
    country = country_get(country_id=country_id)
    with _policy_lock:
        _policy_cache[country_id] = (now + POLICY_CACHE_SECONDS, country)
    return country


def country_policy_forget(*, country_id: str | None = None) -> None:
    with _policy_lock:
        if country_id is None:
            _policy_cache.clear()
        else:
            _policy_cache.pop(country_id, None)


def country_list(*, limit: int, cursor: str | None, code: str | None = None) -> Page:
    if code:
        return paginate(Country.by_code.query, hash_key=code.upper(), limit=limit, cursor=cursor, scope=f"code:{code}")
    return paginate(Country.by_list.query, hash_key=COUNTRY_LIST_KEY, limit=limit, cursor=cursor, scope="all")


# When each code's country was created, for the routing of its first tasks (scheduler.messaging.workers):
# kept for good once older than NEW_COUNTRY_DEFAULT_QUEUE_SECONDS, else looked up again after a second.
_created_cache: dict[str, tuple[float, datetime | None]] = {}


def country_created_at(*, code: str) -> datetime | None:
    """When the country with this code was created; None if the code's index does not have it yet."""
    from django.conf import settings

    now = time.monotonic()
    with _policy_lock:
        cached = _created_cache.get(code)
    if cached and cached[0] > now:
        return cached[1]
    found = next(iter(Country.by_code.query(code.upper(), limit=1)), None)
    created = found.created_at if found is not None else None
    settled = created is not None and (utcnow() - created).total_seconds() >= settings.NEW_COUNTRY_DEFAULT_QUEUE_SECONDS
    with _policy_lock:
        _created_cache[code] = (float("inf") if settled else now + 1.0, created)
    return created


def country_codes() -> list[str]:
    """Every country's code (one Query on the list index, page by page)."""
    return [country.code for country in Country.by_list.query(COUNTRY_LIST_KEY)]
