import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from django.conf import settings

from countries import reference
from countries.models import Closure, Country
from countries.selectors import country_get, country_policy_forget
from scheduler.db import (
    Transaction,
    apply_changes,
    check_if_match,
    create_record,
    delete_record,
    new_id,
    save_record,
)
from scheduler.db.locks import Lock, unique_value_key
from scheduler.exceptions import Conflict, InvalidInput
from scheduler.messaging import aws
from scheduler.security import audit

logger = logging.getLogger(__name__)

DEFAULT_REMINDER_OFFSETS = [1440, 120]

# Why a country may not be deleted yet, asked of the apps that refer to countries (doctors and
# patients add theirs in their AppConfig.ready, in INSTALLED_APPS order), so that countries imports
# none of them: a guard takes the country's id and returns the refusal's message, or None. They run
# in order; the first refusal stands.
DeleteGuard = Callable[[str], str | None]
country_delete_guards: list[DeleteGuard] = []


def _code_lock(code: str, country_id: str) -> Lock:
    return Lock(unique_value_key("country-code", code), owner=country_id)


def _code_taken(code: str) -> Conflict:
    return Conflict(f"Another country already uses code '{code}'.", code="duplicate")


def _observes_by_default() -> bool:
    return bool(settings.COUNTRIES_OBSERVE_HOLIDAYS_BY_DEFAULT)


def _stored_closures(closures: list[dict[str, Any]] | None) -> list[Closure]:
    """Validated closures ({"date": date, "name": str}) → map attributes, by date."""
    entries = sorted(closures or [], key=lambda entry: entry["date"])
    return [Closure(date=_iso(entry["date"]), name=entry["name"]) for entry in entries]


def _iso(day: date | str) -> str:
    return day if isinstance(day, str) else day.isoformat()


def country_must_exist(tx: Transaction, country_id: str, *, field: str = "countryId") -> None:
    """Add to a write that references the country: guards against its deletion since it was read."""
    tx.check(
        Country,
        country_id,
        condition=Country.country_id.exists(),
        on_fail=lambda: InvalidInput(field, f"Country '{country_id}' does not exist."),
    )


def country_create(
    *,
    name: str,
    code: str,
    country_id: str | None = None,
    time_zone: str | None = None,
    min_notice_minutes: int = 60,
    max_advance_days: int = 180,
    cancellation_cutoff_minutes: int = 0,
    reminder_offsets_minutes: list[int] | None = None,
    observes_holidays: bool | None = None,
    closures: list[dict[str, Any]] | None = None,
) -> Country:
    """`observes_holidays` left out: COUNTRIES_OBSERVE_HOLIDAYS_BY_DEFAULT."""
    country = Country(
        country_id or new_id(),
        name=name,
        code=code,
        time_zone=time_zone or reference.principal_zone(code),
        min_notice_minutes=min_notice_minutes,
        max_advance_days=max_advance_days,
        cancellation_cutoff_minutes=cancellation_cutoff_minutes,
        reminder_offsets_minutes=(
            DEFAULT_REMINDER_OFFSETS if reminder_offsets_minutes is None else reminder_offsets_minutes
        ),
        observes_holidays=_observes_by_default() if observes_holidays is None else observes_holidays,
        closures=_stored_closures(closures),
    )
    country.touch()

    def also(tx: Transaction) -> None:
        tx.put(
            _code_lock(code, country.country_id),
            condition=Lock.slot_key.does_not_exist(),
            on_fail=lambda: _code_taken(code),
        )
        audit.join(tx)

    create_record(country, key=Country.country_id, kind="Country", also=also)
    _ensure_queue(country.code)
    return country


def _ensure_queue(code: str) -> None:
    """The country's processing queue (with its dead-letter queue), there at once for bookings;
    workers started with --all-countries pick it up. If SQS does not answer, bootstrap creates it."""
    try:
        aws.ensure_queue(aws.country_queue_suffix(code), lambda *_: None)
    except Exception:
        logger.warning("could not create the queue for %s; run bootstrap", code, exc_info=True)


def country_update(
    *, country_id: str, changes: dict[str, Any], if_match: int | None, replace: bool, current: Country | None = None
) -> Country:
    """PATCH (`replace=False`) or PUT (`replace=True`, absent optional fields back to defaults)."""
    country = current or country_get(country_id=country_id)  # `current`: the record the view checked
    old_code = country.code
    if replace:
        changes.setdefault("time_zone", None)
        changes.setdefault("reminder_offsets_minutes", DEFAULT_REMINDER_OFFSETS)
        changes.setdefault("observes_holidays", _observes_by_default())
        changes.setdefault("closures", [])
    if "closures" in changes:
        changes["closures"] = _stored_closures(changes["closures"])
    if "time_zone" in changes and changes["time_zone"] is None:
        changes["time_zone"] = reference.principal_zone(changes.get("code", old_code))
    apply_changes(country, changes, if_match=if_match)

    def also(tx: Transaction) -> None:
        if country.code != old_code:  # the code's uniqueness lock moves with it
            tx.delete(_code_lock(old_code, country_id))
            tx.put(
                _code_lock(country.code, country_id),
                condition=Lock.slot_key.does_not_exist(),
                on_fail=lambda: _code_taken(country.code),
            )
        audit.join(tx)

    save_record(country, if_match=if_match, also=also)
    country_policy_forget(country_id=country_id)  # its policy, holidays and closures, in this process
    if country.code != old_code:
        _ensure_queue(country.code)
    return country


def country_delete(*, country_id: str, if_match: int | None, current: Country | None = None) -> None:
    country = current or country_get(country_id=country_id)  # `current`: the record the view checked
    check_if_match(country, if_match)
    for guard in country_delete_guards:
        if refusal := guard(country_id):
            raise Conflict(refusal, code="in_use")

    def also(tx: Transaction) -> None:
        tx.delete(_code_lock(country.code, country_id))
        audit.join(tx)

    delete_record(country, if_match=if_match, also=also)
    country_policy_forget(country_id=country_id)
