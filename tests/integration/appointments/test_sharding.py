"""Sharded sparse indexes and the per-country listing by day (issue #12): the sweeps find every item
on every shard, and the country listing pages across shards and days in time order, exactly once.
The test stage spreads the sparse indexes over SPARSE_INDEX_SHARDS=4 keys (tests/stack.py)."""

import base64
import json
from datetime import UTC, timedelta

import pytest
from django.conf import settings

from appointments import outbox, services
from appointments.models import PENDING, REMINDER_DUE, SCHEDULED, UNPUBLISHED, Appointment, Event
from scheduler import db
from tests.helpers import (
    anchor_monday,
    book,
    day_at,
    drain,
    next_local,
    put_appointment,
    read_all,
    set_booking_clock,
    set_raw,
    shards_of,
    z,
)

MONDAY, WEDNESDAY = 0, 2


def queued_ids(suffix: str) -> list[str]:
    ids = []
    for message in drain(suffix):
        body = json.loads(base64.b64decode(message["Body"]))["body"]
        ids.append(json.loads(base64.b64decode(body))[1]["appointment_id"])
    return ids


def test_requeue_finds_every_stale_pending_appointment_on_every_shard_and_the_legacy_key(quiet):
    old = db.utcnow() - timedelta(minutes=5)  # stale by the sweep's own (real) clock
    at = next_local(MONDAY, "10:00")
    ids = [f"p-{n:02d}" for n in range(22)]
    for appointment_id in ids:
        put_appointment(appointment_id, at=at, updated=old)
    put_appointment("fresh", at=at)  # pending, but not stale yet
    put_appointment("done", at=at, state=SCHEDULED, updated=old)  # not pending: not in byState
    set_raw(Appointment, "p-21", pendingKey=PENDING)  # as written before sharding
    keys = [Appointment.get(i).pending_key for i in ids[:-1]]
    assert all(key.startswith("pending#") for key in keys) and len(shards_of(keys)) >= 3

    assert services.appointments_requeue_stale() == len(ids)
    assert sorted(queued_ids("appointments-cl")) == ids
    assert all(Appointment.get(i).requeues == 1 for i in ids)
    assert Appointment.get("fresh").requeues == 0
    # The requeue rewrote the legacy item with its sharded key.
    assert Appointment.get("p-21").pending_key == db.shard_key(PENDING, "p-21", settings.SPARSE_INDEX_SHARDS)


def test_reminder_sweep_sends_each_due_reminder_once_across_shards(quiet):
    now = db.utcnow()
    at = next_local(MONDAY, "10:00")
    ids = [f"r-{n:02d}" for n in range(18)]
    for appointment_id in ids:
        put_appointment(appointment_id, at=at, state=SCHEDULED, reminder=now - timedelta(minutes=1))
    put_appointment("later", at=at, state=SCHEDULED, reminder=now + timedelta(hours=1))
    set_raw(Appointment, "r-17", reminderKey=REMINDER_DUE)
    keys = [Appointment.get(i).reminder_key for i in ids[:-1]]
    assert all(key.startswith("due#") for key in keys) and len(shards_of(keys)) >= 3

    assert services.reminders_send_due(now=now) == len(ids)
    assert services.reminders_send_due(now=now) == 0
    reminded = [
        json.loads(event.body)["appointment"]["appointmentId"]
        for event in Event.scan()
        if event.event_type == "appointment.reminder"
    ]
    assert sorted(reminded) == ids
    assert Appointment.get("later").next_reminder_at == now + timedelta(hours=1)


def test_event_sweep_publishes_every_event_once_within_its_batch(quiet, monkeypatch):
    appointment = put_appointment("e-1", at=next_local(MONDAY, "10:00"))
    written = db.utcnow() - timedelta(minutes=5)
    events = []
    for n in range(25):
        event = outbox.event_for(appointment, PENDING, occurred_at=written + timedelta(seconds=n))
        event.save()
        events.append(event)
    set_raw(Event, events[0].event_id, unpublishedKey=UNPUBLISHED)  # written before sharding
    assert len(shards_of(e.unpublished_key for e in events[1:])) >= 3
    monkeypatch.setattr(outbox, "SWEEP_BATCH", 10)

    published = []
    for _ in range(10):
        published.append(outbox.events_publish_pending())
        if published[-1] == 0:
            break
    assert max(published) <= 10 and sum(published) == len(events)
    assert all(Event.get(e.event_id).unpublished_key is None for e in events)
    delivered = [json.loads(m["Body"])["eventId"] for m in drain("notifications")]
    assert sorted(delivered) == sorted(e.event_id for e in events)


def test_without_legacy_keys_the_sweeps_query_only_the_shards(quiet, settings):
    settings.SPARSE_INDEX_LEGACY_KEYS = False
    assert db.sweep_keys(PENDING) == ["pending#0", "pending#1", "pending#2", "pending#3"]
    settings.SPARSE_INDEX_LEGACY_KEYS = True
    assert db.sweep_keys(PENDING)[-1] == PENDING


# --- The country listing -------------------------------------------------------------------------


@pytest.fixture
def country_days(clinic):
    """31 appointments of country 002 over three UTC days (several at the same time, so shards and
    ties mix), one cancelled; others outside the range or of another country."""
    first = anchor_monday()
    expected = {}
    n = 0
    for offset in (0, 1, 3):
        day = first + timedelta(days=offset)
        for hour, minute, copies in ((0, 0, 3), (9, 0, 4), (9, 30, 1), (14, 0, 2), (23, 30, 1)):
            for _ in range(copies):
                appointment_id = f"c-{n:02d}"
                at = day_at(day, hour, minute)
                put_appointment(appointment_id, at=at, state=SCHEDULED if n % 2 else PENDING)
                expected[appointment_id] = at
                n += 1
    put_appointment("other-country", at=day_at(first, 9), country="003")
    put_appointment("before", at=day_at(first - timedelta(days=1), 23, 59))
    put_appointment("after", at=day_at(first + timedelta(days=4), 0))
    keys = {Appointment.get(i).country_day for i in expected}
    assert len({key.rsplit("#", 1)[0] for key in keys}) == 3 and len(shards_of(keys)) >= 3
    return {"first": first, "last": first + timedelta(days=3), "expected": expected}


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 7, 50])
def test_country_listing_pages_over_shards_and_days_in_time_order(clinic, country_days, limit):
    query = f"countryId=002&from={country_days['first']}&to={country_days['last']}"
    seen, pages = read_all(clinic, query, limit)
    ids = [a["appointmentId"] for a in seen]
    assert len(ids) == len(set(ids))  # no item twice
    assert sorted(ids) == sorted(country_days["expected"])  # none missing, none extra
    dates = [a["appointmentDate"] for a in seen]
    assert dates == sorted(dates)
    if limit < 50:
        assert pages >= len(ids) // limit


def test_country_listing_with_a_state_filter_and_inner_bounds(clinic, country_days):
    first = country_days["first"]
    start, end = day_at(first, 9), day_at(first + timedelta(days=1), 14)
    query = f"countryId=002&state=scheduled&from={z(start)}&to={z(end)}"
    seen, _ = read_all(clinic, query, 2)
    expected = [
        i for i, at in country_days["expected"].items() if start <= at <= end and Appointment.get(i).state == SCHEDULED
    ]
    assert sorted(a["appointmentId"] for a in seen) == sorted(expected)
    assert [a["appointmentDate"] for a in seen] == sorted(a["appointmentDate"] for a in seen)


def test_country_listing_window_defaults_and_limits(clinic, monkeypatch):
    today = anchor_monday()
    set_booking_clock(monkeypatch, day_at(today, 12))  # the listing's "today"
    put_appointment("soon", at=day_at(today + timedelta(days=2), 12))
    put_appointment("far", at=day_at(today + timedelta(days=40), 12))
    put_appointment("past", at=day_at(today - timedelta(days=2), 12))
    ids = [a["appointmentId"] for a in clinic.get("/appointments?countryId=002").json()["results"]]
    assert ids == ["soon"]  # today and the next 30 days
    ids = [a["appointmentId"] for a in clinic.get(f"/appointments/country/002?from={today}").json()["results"]]
    assert ids == ["soon"]
    window = f"from={today - timedelta(days=5)}&to={today + timedelta(days=50)}"
    first = clinic.get(f"/appointments?countryId=002&{window}").json()
    # A page reads at most COUNTRY_LISTING_DAYS_PER_PAGE (31) days: the rest is on the next page.
    assert [a["appointmentId"] for a in first["results"]] == ["past", "soon"] and first["next"]
    seen, pages = read_all(clinic, f"countryId=002&{window}", 50)
    assert [a["appointmentId"] for a in seen] == ["past", "soon", "far"] and pages == 2
    too_long = clinic.get(f"/appointments?countryId=002&from={today}&to={today + timedelta(days=92)}")
    assert too_long.status_code == 400 and "92 days" in too_long.json()["to"][0]
    assert clinic.get(f"/appointments?countryId=002&from={today}&to={today + timedelta(days=91)}").status_code == 200
    assert "from" in clinic.get("/appointments?countryId=002&from=9999-12-31").json()  # 400, not an overflow
    assert "to" in clinic.get("/appointments?countryId=002&to=0001-01-01").json()
    # With a doctor, the doctor's agenda answers, over any range, as before.
    ids = [a["appointmentId"] for a in clinic.get("/appointments?countryId=002&doctorId=doctor001").json()["results"]]
    assert ids == ["past", "soon", "far"]


def test_country_listing_cursor_is_bound_to_its_listing(clinic, country_days):
    query = f"countryId=002&from={country_days['first']}&to={country_days['last']}"
    page = clinic.get(f"/appointments?{query}&limit=2").json()
    assert page["next"]
    assert clinic.get(f"/appointments?{query}&limit=2&cursor={page['next']}x").status_code == 400
    other = clinic.get(f"/appointments?countryId=003&limit=2&cursor={page['next']}")
    assert other.status_code == 400 and "cursor" in other.json()


def test_reschedule_moves_the_appointment_to_its_new_day(clinic):
    monday, wednesday = next_local(MONDAY, "10:00"), next_local(WEDNESDAY, "14:00")
    assert book(clinic, at=monday, appointmentId="a-1").status_code == 201
    assert Appointment.get("a-1").country_day.startswith(f"002#{monday.astimezone(UTC).date()}#")
    assert clinic.patch("/appointments/a-1", {"appointmentDate": z(wednesday)}, format="json").status_code == 200
    assert Appointment.get("a-1").country_day.startswith(f"002#{wednesday.astimezone(UTC).date()}#")

    def listed(day) -> list[str]:
        response = clinic.get(f"/appointments?countryId=002&from={day}&to={day}")
        return [a["appointmentId"] for a in response.json()["results"]]

    assert listed(monday.astimezone(UTC).date()) == []
    assert listed(wednesday.astimezone(UTC).date()) == ["a-1"]


def test_country_listing_a_day_of_single_items_on_separate_shards(clinic):
    """Each shard holds one item, so no Query leaves a LastEvaluatedKey: the page's limit alone must
    keep the shards not yet emitted open."""
    day = anchor_monday() + timedelta(days=WEDNESDAY)
    by_shard = {}
    for n in range(100):
        by_shard.setdefault(db.shard_of(f"s-{n}", settings.COUNTRY_DAY_SHARDS), f"s-{n}")
    ids = sorted(by_shard.values())
    for hour, appointment_id in enumerate(ids, start=8):
        put_appointment(appointment_id, at=day_at(day, hour))
    for limit in (1, 2, 3):
        seen, _ = read_all(clinic, f"countryId=002&from={day}&to={day}", limit)
        assert [a["appointmentId"] for a in seen] == ids
