from countries.models import COUNTRY_LIST_KEY, Country
from scheduler.db import Page, paginate
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


def country_list(*, limit: int, cursor: str | None, code: str | None = None) -> Page:
    if code:
        return paginate(Country.by_code.query, hash_key=code.upper(), limit=limit, cursor=cursor, scope=f"code:{code}")
    return paginate(Country.by_list.query, hash_key=COUNTRY_LIST_KEY, limit=limit, cursor=cursor, scope="all")


def country_codes() -> list[str]:
    """Every country's code (one Query on the list index, page by page)."""
    return [country.code for country in Country.by_list.query(COUNTRY_LIST_KEY)]
