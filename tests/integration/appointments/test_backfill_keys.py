"""The migration to sharded index keys: a table of the old layout (byCountry, no byCountryDay) with
items as the old release wrote them is upgraded by `bootstrap` and `backfill_keys`, after which the
sweeps (without the legacy keys) and the country listing find every item."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from appointments import outbox, services
from appointments.management.commands import backfill_keys
from appointments.models import PENDING, REMINDER_DUE, SCHEDULED, UNPUBLISHED, Appointment, Event
from scheduler import db
from scheduler.db import tables
from tests.helpers import next_local, put_appointment, read_all, set_raw, shards_of

MONDAY = 0


def indexes() -> set[str]:
    table = db.dynamodb_client().describe_table(TableName=Appointment.Meta.table_name)["Table"]
    return {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}


@pytest.fixture
def old_layout(quiet):
    """The appointments table as the release before made it: byCountry, and no byCountryDay.
    Afterwards the layout this release makes is put back for the other tests."""
    table = Appointment.Meta.table_name
    tables.drop_index(Appointment, "byCountryDay")
    db.dynamodb_client().update_table(
        TableName=table,
        AttributeDefinitions=[
            {"AttributeName": "countryId", "AttributeType": "S"},
            {"AttributeName": "appointmentDate", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": "byCountry",
                    "KeySchema": [
                        {"AttributeName": "countryId", "KeyType": "HASH"},
                        {"AttributeName": "appointmentDate", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            }
        ],
    )
    tables.wait_for_index(table, "byCountry", lambda status: status == "ACTIVE")
    assert "byCountryDay" not in indexes() and "byCountry" in indexes()
    yield quiet
    tables.ensure_indexes(Appointment, lambda *_: None)
    tables.drop_index(Appointment, "byCountry")


def run(command: str, *args: str) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_bootstrap_and_backfill_upgrade_an_old_table(old_layout, settings):
    now = db.utcnow()
    stale, soon = now - timedelta(minutes=5), next_local(MONDAY, "10:00")
    pending = [f"p-{n:02d}" for n in range(10)]
    for n, appointment_id in enumerate(pending):
        put_appointment(appointment_id, at=soon + timedelta(minutes=30 * n), updated=stale)
        set_raw(Appointment, appointment_id, pendingKey=PENDING, countryDay=None)
    reminded = [f"r-{n:02d}" for n in range(8)]
    for appointment_id in reminded:
        put_appointment(appointment_id, at=soon, state=SCHEDULED, reminder=now - timedelta(minutes=1))
        set_raw(Appointment, appointment_id, reminderKey=REMINDER_DUE, countryDay=None)
    appointment = Appointment.get("r-00")
    events = [outbox.event_for(appointment, "scheduled", occurred_at=stale) for _ in range(9)]
    for event in events:
        event.save()
        set_raw(Event, event.event_id, unpublishedKey=UNPUBLISHED)
    versions = {a.appointment_id: a.version for a in Appointment.scan()}

    with pytest.raises(CommandError, match="bootstrap"):
        run("backfill_keys", "--no-progress")
    assert f"created  index byCountryDay of table {Appointment.Meta.table_name}" in run("bootstrap")
    assert "byCountryDay" in indexes()

    output = run("backfill_keys", "--no-progress")
    assert "appointments: 18 rewritten, 0 changed meanwhile" in output
    assert "events: 9 rewritten, 0 changed meanwhile" in output
    assert "appointments: 0 rewritten" in run("backfill_keys", "--no-progress")  # idempotent
    assert {a.appointment_id: a.version for a in Appointment.scan()} == versions  # versions (ETags) stay
    keys = [Appointment.get(i).pending_key for i in pending]
    assert all(key.startswith("pending#") for key in keys) and len(shards_of(keys)) >= 2
    assert all(Appointment.get(i).reminder_key.startswith("due#") for i in reminded)
    assert all(Appointment.get(i).country_day.startswith("002#") for i in pending + reminded)

    # The legacy keys are no longer needed: the sweeps and the listing find everything on the shards.
    settings.SPARSE_INDEX_LEGACY_KEYS = False
    assert services.appointments_requeue_stale() == len(pending)
    assert services.reminders_send_due(now=now) == len(reminded)
    # The old events, and the reminders' own (a requeue writes none).
    assert outbox.events_publish_pending(now=now + timedelta(minutes=1)) == len(events) + len(reminded)
    seen, _ = read_all(old_layout, f"countryId=002&from={soon.date()}&to={soon.date() + timedelta(days=1)}", 4)
    assert sorted(a["appointmentId"] for a in seen) == sorted(pending + reminded)

    assert "byCountry" in indexes()  # never dropped without being asked
    output = run("backfill_keys", "--no-progress", "--drop-old-indexes")
    assert "dropped index byCountry" in output and indexes() == {
        "byDoctor",
        "byPatient",
        "byCountryDay",
        "byState",
        "byReminder",
        "byType",
    }


def test_backfill_leaves_an_item_changed_meanwhile(quiet, monkeypatch):
    put_appointment("x-1", at=next_local(MONDAY, "10:00"))
    set_raw(Appointment, "x-1", pendingKey=PENDING, countryDay=None)
    table = Appointment.Meta.table_name
    read_by_scan = db.connection().client.get_item(TableName=table, Key={"appointmentId": {"S": "x-1"}})["Item"]
    changed = Appointment.get("x-1")  # a request writes it after the backfill's scan read it
    changed.reason = "changed meanwhile"
    changed.save()
    monkeypatch.setattr(
        backfill_keys.Command,
        "_scan",
        lambda self, model, **kwargs: iter([read_by_scan] if model is Appointment else []),
    )
    assert "appointments: 0 rewritten, 1 changed meanwhile" in run("backfill_keys", "--no-progress")
    assert Appointment.get("x-1").reason == "changed meanwhile"  # the request's write stands
    with pytest.raises(CommandError, match="run again"):
        run("backfill_keys", "--no-progress", "--drop-old-indexes")
    assert Appointment.get("x-1").pending_key.startswith("pending#")  # the request wrote the new key
