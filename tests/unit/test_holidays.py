"""Public holidays and closures as pure logic (countries/holidays.py): which local dates close a
doctor, what the message quotes, and what the holidays endpoint lists. No emulator."""

from datetime import date

import pytest

from countries import holidays
from countries.holidays import closed_on, holidays_of, subdivisions, valid_subdivision
from scheduler.exceptions import InvalidInput

FIESTAS_PATRIAS = date(2026, 9, 18)
MADRID_DAY = date(2026, 5, 2)  # Fiesta de la Comunidad de Madrid: Madrid only, not Catalonia
ORDINARY_DAY = date(2026, 9, 16)  # a Wednesday that is no holiday in Chile


def closed(day, *, code="CL", observes=True, closures=(), subdivision=None, works_on_holidays=False):
    return closed_on(
        day,
        code=code,
        observes=observes,
        closures=closures,
        subdivision=subdivision,
        works_on_holidays=works_on_holidays,
    )


def test_chile_is_closed_on_its_independence_day_and_not_on_an_ordinary_one():
    assert closed(FIESTAS_PATRIAS) == "Día de la Independencia"
    assert closed(ORDINARY_DAY) is None


def test_names_are_in_the_countrys_own_language_whatever_the_servers_locale(monkeypatch):
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    monkeypatch.setenv("LC_ALL", "en_US.UTF-8")
    holidays._public.cache_clear()  # computed afresh under this locale
    assert closed(date(2026, 12, 25), code="PE") == "Navidad del Señor"  # not "Christmas Day"
    assert closed(date(2026, 12, 25), code="US") == "Christmas Day"


def test_madrid_closes_on_its_regional_day_and_barcelona_does_not():
    assert closed(MADRID_DAY, code="ES", subdivision="MD") == "Fiesta de la Comunidad de Madrid"
    assert closed(MADRID_DAY, code="ES", subdivision="CT") is None
    assert closed(MADRID_DAY, code="ES") is None  # a doctor without a subdivision: the nation's days only
    assert closed(date(2026, 12, 25), code="ES", subdivision="CT") == "Natividad del Señor"


def test_closures_apply_always():
    closures = {ORDINARY_DAY: "Inventario"}
    for observes in (True, False):
        for works in (True, False):
            assert closed(ORDINARY_DAY, closures=closures, observes=observes, works_on_holidays=works) == "Inventario"
    assert closed(date(2026, 9, 17), closures=closures) is None
    pairs = [(ORDINARY_DAY, "Inventario")]  # (date, name) pairs work as a mapping does
    assert closed(ORDINARY_DAY, closures=pairs, observes=False, works_on_holidays=True) == "Inventario"


def test_a_closure_on_a_public_holiday_names_both_once():
    assert closed(FIESTAS_PATRIAS, closures={FIESTAS_PATRIAS: "Cierre"}) == "Cierre; Día de la Independencia"
    assert closed(FIESTAS_PATRIAS, closures={FIESTAS_PATRIAS: "Día de la Independencia"}) == "Día de la Independencia"
    assert closed(FIESTAS_PATRIAS, closures={FIESTAS_PATRIAS: "Cierre"}, works_on_holidays=True) == "Cierre"


def test_works_on_holidays_and_a_country_that_does_not_observe_ignore_public_ones():
    assert closed(FIESTAS_PATRIAS, works_on_holidays=True) is None
    assert closed(FIESTAS_PATRIAS, observes=False) is None
    assert closed(MADRID_DAY, code="ES", subdivision="MD", works_on_holidays=True) is None


def test_a_country_the_package_does_not_know_has_closures_only():
    assert closed(date(2026, 1, 1), code="ZZ") is None
    assert closed(date(2026, 1, 1), code="ZZ", closures={date(2026, 1, 1): "Año nuevo"}) == "Año nuevo"
    assert subdivisions("ZZ") == []
    assert holidays_of(2026, code="ZZ", observes=True, closures={date(2026, 1, 1): "X"}, subdivision=None) == [
        {"date": "2026-01-01", "name": "X", "kind": "closure"}
    ]


def test_a_subdivision_the_package_no_longer_knows_falls_back_to_the_country():
    """Stored before an upgrade of the package (or a change of the country's code): not a 500."""
    assert closed(FIESTAS_PATRIAS, subdivision="QQ") == "Día de la Independencia"


def test_several_holidays_on_one_date_are_one_entry_each_and_joined_in_the_message():
    veterans, holy_thursday = "Día del Veterano y de los Caidos en la Guerra de Malvinas", "Jueves Santo"
    day = date(2026, 4, 2)  # Argentina: both fall on Thursday 2 April 2026
    assert closed(day, code="AR") == f"{veterans}; {holy_thursday}"
    entries = holidays_of(2026, code="AR", observes=True, closures={day: "Cierre"}, subdivision=None)
    assert [entry for entry in entries if entry["date"] == "2026-04-02"] == [
        {"date": "2026-04-02", "name": "Cierre", "kind": "closure"},
        {"date": "2026-04-02", "name": veterans, "kind": "public"},
        {"date": "2026-04-02", "name": holy_thursday, "kind": "public"},
    ]
    assert closed(day, code="AR", closures={day: "Cierre"}) == f"Cierre; {veterans}; {holy_thursday}"


def test_holidays_of_a_year_are_sorted_with_their_kinds():
    closures = {date(2026, 12, 24): "Nochebuena", date(2025, 12, 24): "Last year", date(2026, 3, 10): "Cierre"}
    entries = holidays_of(2026, code="CL", observes=True, closures=closures, subdivision=None)
    assert [entry["date"] for entry in entries] == sorted(entry["date"] for entry in entries)
    assert {"date": "2026-09-18", "name": "Día de la Independencia", "kind": "public"} in entries
    assert {"date": "2026-12-24", "name": "Nochebuena", "kind": "closure"} in entries
    assert {"date": "2026-03-10", "name": "Cierre", "kind": "closure"} in entries
    assert all(entry["date"].startswith("2026-") for entry in entries)  # last year's closure is not listed
    assert entries[0] == {"date": "2026-01-01", "name": "Año Nuevo", "kind": "public"}
    not_observed = holidays_of(2026, code="CL", observes=False, closures=closures, subdivision=None)
    assert [entry["kind"] for entry in not_observed] == ["closure", "closure"]


def test_a_subdivisions_holidays_are_listed_with_the_countrys():
    madrid = holidays_of(2026, code="ES", observes=True, closures={}, subdivision="MD")
    barcelona = holidays_of(2026, code="ES", observes=True, closures={}, subdivision="CT")
    assert {"date": "2026-05-02", "name": "Fiesta de la Comunidad de Madrid", "kind": "public"} in madrid
    assert not [entry for entry in barcelona if entry["date"] == "2026-05-02"]
    assert {"date": "2026-09-11", "name": "Fiesta Nacional de Cataluña", "kind": "public"} in barcelona


def test_subdivisions_are_the_iso_codes_the_package_knows():
    spain = subdivisions("es")
    assert {"MD", "CT", "AN"} <= set(spain) and spain == sorted(spain)
    assert "Barcelona" not in spain  # the package's city calendar is not an ISO 3166-2 subdivision
    assert subdivisions("AE") == []


@pytest.mark.parametrize(("given", "stored"), [("MD", "MD"), ("md", "MD"), (" es-md ", "MD"), ("ES-MD", "MD")])
def test_a_valid_subdivision_is_stored_upper_case_without_the_country(given, stored):
    assert valid_subdivision("ES", given) == stored


@pytest.mark.parametrize("given", [None, "", "  "])
def test_no_subdivision_is_none(given):
    assert valid_subdivision("ES", given) is None


def test_an_unknown_subdivision_names_the_field_and_lists_the_valid_ones():
    with pytest.raises(InvalidInput) as raised:
        valid_subdivision("ES", "XX")
    assert raised.value.field == "subdivision"
    assert "'XX' is not a subdivision of ES" in raised.value.message
    assert "AN, AR, AS" in raised.value.message and "MD" in raised.value.message
    with pytest.raises(InvalidInput) as none_there:
        valid_subdivision("AE", "DU")
    assert none_there.value.field == "subdivision"
    assert "has no subdivisions" in none_there.value.message
