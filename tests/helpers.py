"""Helpers the integration and system tiers share: the test week's times, bookings, queue drains,
items written directly, users signed in. Nothing here talks to a service at import time (conftests load
before the test settings are chosen); the functions that do need the `aws_stack` fixture up."""

import base64
import os
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SANTIAGO = ZoneInfo("America/Santiago")


def anchor_monday(today: date | None = None) -> date:
    """The first Monday at least 8 days after today: the start of the week every test books in.

    Every weekday of a test week is derived from this one Monday, so "Monday" always comes before
    "Wednesday" of the same week whatever day the suite runs on (a Tuesday used to find next
    Wednesday before next Monday)."""
    today = today or date.today()
    return today + timedelta(days=8 + (-(today.weekday() + 8)) % 7)


def next_local(weekday: int, clock: str, *, zone: ZoneInfo = SANTIAGO, weeks: int = 1) -> datetime:
    """The given weekday (0 = Monday) of the test week (`weeks` = 2: the week after), at a local
    clock time in `zone`. The test week starts on `anchor_monday()`, 8 to 14 days from today."""
    day = anchor_monday() + timedelta(days=7 * (weeks - 1) + weekday)
    hours, minutes = map(int, clock.split(":"))
    return datetime.combine(day, time(hours, minutes), zone)


def set_booking_clock(monkeypatch, now: datetime) -> None:
    """The in-process booking check and listings read `now` as the time (the API processes of the
    system tier keep the real clock): notice, past and default windows then follow the test."""
    from appointments import selectors  # not at import: see drain()
    from appointments.services import booking, lifecycle, pipeline

    for module in (booking, lifecycle, pipeline, selectors):  # each module that reads the clock
        monkeypatch.setattr(module, "utcnow", lambda: now)


def z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def book(api, *, at: datetime, patient: str = "0315", doctor: str = "doctor001", **extra):
    body = {"patientId": patient, "doctorId": doctor, "appointmentDate": z(at), **extra}
    return api.post("/appointments", body, format="json")


def drain(suffix: str) -> list[dict]:
    """Every message waiting on a queue of this run, removed from it (after this process's
    hand-offs have gone out)."""
    from scheduler.messaging import aws  # not at import: conftests load before the test settings are chosen
    from scheduler.messaging.handoff import handoff

    assert handoff.flush(10)

    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=aws.queue_name(suffix))["QueueUrl"]
    found = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return found
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        found += messages


# --- Items written directly, for the sweeps and listings over sharded indexes -------------------


def put_appointment(appointment_id: str, *, at: datetime, state: str = "pending", country: str = "002", **extra):
    """An appointment item written directly (no locks): what the sweeps and listings read."""
    from appointments.models import Appointment  # not at import: see drain()

    appointment = Appointment(
        appointment_id,
        patient_id="0315",
        doctor_id="doctor001",
        country_id=country,
        appointment_date=at,
        end_date=at + timedelta(minutes=30),
        duration_minutes=30,
    )
    appointment.set_state(state)
    if extra.get("reminder"):
        appointment.set_next_reminder(extra["reminder"])
    appointment.touch()
    if extra.get("updated"):
        appointment.updated_at = extra["updated"]
    appointment.save()
    return appointment


def set_raw(model, item_id: str, **values) -> None:
    """Overwrite attributes as an older release wrote them (None removes one)."""
    from scheduler import db

    table = model.Meta.table_name
    key = {model._hash_key_attribute().attr_name: {"S": item_id}}
    sets = {name: value for name, value in values.items() if value is not None}
    removes = [name for name, value in values.items() if value is None]
    expression = ""
    names = {f"#{name}": name for name in values}
    if sets:
        expression += "SET " + ", ".join(f"#{name} = :{name}" for name in sets)
    if removes:
        expression += " REMOVE " + ", ".join(f"#{name}" for name in removes)
    kwargs = {"ExpressionAttributeValues": {f":{n}": {"S": v} for n, v in sets.items()}} if sets else {}
    db.connection().client.update_item(
        TableName=table, Key=key, UpdateExpression=expression, ExpressionAttributeNames=names, **kwargs
    )


def shards_of(values) -> set[str]:
    return {value.rsplit("#", 1)[1] for value in values}


def day_at(day, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), UTC)


def read_all(api, query: str, limit: int) -> tuple[list[dict], int]:
    seen, pages, url = [], 0, f"/appointments?{query}&limit={limit}"
    while url:
        response = api.get(url)
        assert response.status_code == 200, response.content
        page = response.json()
        assert len(page["results"]) <= limit
        seen += page["results"]
        pages += 1
        assert pages < 100
        url = f"/appointments?{query}&limit={limit}&cursor={page['next']}" if page["next"] else None
    return seen, pages


# --- Users, tables and times shared by the tiers ---------------------------------------------


PASSWORD = "correct horse battery staple"


def signed_in(username: str, role: str = "admin", **links) -> "APIClient":  # noqa: F821
    """A client carrying a real token of a new user with this role (created through the service,
    signed in through POST /auth/token)."""
    from rest_framework.test import APIClient

    from accounts import services

    services.user_create(username=username, password=PASSWORD, role=role, **links)
    client = APIClient()
    response = client.post("/auth/token", {"username": username, "password": PASSWORD}, format="json")
    assert response.status_code == 201, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    client.token = response.json()["token"]
    return client


def clear_tables() -> None:
    from countries.selectors import country_policy_forget
    from scheduler import db

    country_policy_forget()
    client = db.connection().client
    for model in db.registered_models():
        # Raw keys only: an item encrypted under a key another test used need not be readable here.
        key_names = [
            attribute.attr_name
            for attribute in (model._hash_key_attribute(), model._range_key_attribute())
            if attribute
        ]
        table = model.Meta.table_name
        for page in client.get_paginator("scan").paginate(
            TableName=table,
            ProjectionExpression=", ".join(f"#k{i}" for i in range(len(key_names))),
            ExpressionAttributeNames={f"#k{i}": name for i, name in enumerate(key_names)},
        ):
            for start in range(0, len(page["Items"]), 25):
                batch = [{"DeleteRequest": {"Key": item}} for item in page["Items"][start : start + 25]]
                client.batch_write_item(RequestItems={table: batch})


def later(at, minutes: int) -> str:
    return z(at + timedelta(minutes=minutes))


def key(key_id: str) -> str:
    return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"


# --- Countries at scale (the many-countries test and `make bench-countries`) ---------------------

# Countries other tests use: a queue a many-countries worker consumed can still be long-polled by SQS
# for up to a wait time after the worker stops, and would take those tests' messages.
OTHER_TESTS_COUNTRIES = {"CL", "US", "PE", "UY", "AR", "ES"}
WEEK = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ROUND_THE_CLOCK = [f"{day} 00:00-23:55" for day in WEEK]


def scale_codes(count: int, skip: int = 0) -> list[str]:
    """ISO codes with a principal time zone, none another test uses, in a stable order."""
    from countries.reference import country_names, principal_zone

    usable = [code for code in sorted(country_names()) if principal_zone(code) and code not in OTHER_TESTS_COUNTRIES]
    return usable[skip : skip + count]


def open_country(api, code: str, *, pairs: int = 1) -> None:
    """Country `c-<code>` (5 minutes' notice) with `pairs` doctors `d-<code>-<n>`, working round the
    clock on a 5-minute grid, and patients `p-<code>-<n>`."""

    def created(response, what: str) -> None:
        assert response.status_code == 201, f"{what} of {code}: {response.status_code} {response.content[:300]!r}"

    body = {"countryId": f"c-{code}", "name": code, "code": code, "minNoticeMinutes": 5}
    created(api.post("/countries", body, format="json"), "country")
    for pair in range(pairs):
        doctor = {
            "doctorId": f"d-{code}-{pair}",
            "name": f"Dr. {code} {pair}",
            "speciality": "GP",
            "countryId": f"c-{code}",
            "availableTimes": ROUND_THE_CLOCK,
            "slotMinutes": 5,
        }
        created(api.post("/doctors", doctor, format="json"), "doctor")
        patient = {"patientId": f"p-{code}-{pair}", "name": f"Patient {code} {pair}", "countryId": f"c-{code}"}
        created(api.post("/patients", patient, format="json"), "patient")
