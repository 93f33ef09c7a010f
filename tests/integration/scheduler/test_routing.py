"""The one routing rule for a new country (scheduler.messaging.workers.route_task): its tasks go to
the default queue, which every shared worker consumes, until the workers have had time to find its
own queue; then to its own queue."""

import time

from countries.selectors import _created_cache
from scheduler.messaging import workers

TASK = "appointments.process"


def route(code: str):
    return workers.route_task(TASK, (), {"appointment_id": "a1", "country_code": code}, {})


def test_a_new_countrys_tasks_go_to_the_default_queue_then_to_its_own(api, settings):
    settings.NEW_COUNTRY_DEFAULT_QUEUE_SECONDS = 30
    _created_cache.clear()
    assert api.post("/countries", {"countryId": "c-nz", "name": "NZ", "code": "NZ"}, format="json").status_code == 201
    assert route("NZ") == {"queue": "default"}
    settings.NEW_COUNTRY_DEFAULT_QUEUE_SECONDS = 0.5
    time.sleep(0.6)
    assert route("NZ") == {"queue": "appointments-nz"}


def test_a_country_not_found_yet_is_new(empty_tables, settings):
    settings.NEW_COUNTRY_DEFAULT_QUEUE_SECONDS = 30
    _created_cache.clear()
    assert route("FJ") == {"queue": "default"}


def test_the_rule_is_off_at_zero_and_when_dynamodb_does_not_answer(empty_tables, settings, monkeypatch):
    settings.NEW_COUNTRY_DEFAULT_QUEUE_SECONDS = 0
    assert route("FJ") == {"queue": "appointments-fj"}
    settings.NEW_COUNTRY_DEFAULT_QUEUE_SECONDS = 30

    def unreachable(code):
        raise ConnectionError("DynamoDB is down")

    monkeypatch.setitem(workers._installed, "country_created_at", unreachable)
    assert route("FJ") == {"queue": "appointments-fj"}  # its own queue, as before the rule
