"""How many DynamoDB calls each request makes, counted with botocore's event hooks on the clients
the app uses. A regression guard: a new read per request shows up here.

Every request starts with one GetItem of its token (authentication), and a read of an appointment or
patient ends with one PutItem of its audit entry; a write's audit entry is inside its transaction. A
replayed booking writes nothing, yet shows the appointment: its read entry is one PutItem. After a
new booking's response, its hand-off sends the queue message, then writes the enqueued marker (one
UpdateItem); the request itself waits for neither."""

from datetime import UTC, timedelta

import pytest

from scheduler import db
from tests.helpers import book, next_local, z

MONDAY = 0


@pytest.fixture
def dynamodb_calls():
    calls: list[str] = []

    def count(model, **kwargs):
        calls.append(model.name)

    clients = {db.connection().client}
    clients |= {model._get_connection().connection.client for model in db.registered_models()}
    for client in clients:
        client.meta.events.register("before-call.dynamodb", count, unique_id="call-budget")
    yield calls
    for client in clients:
        client.meta.events.unregister("before-call.dynamodb", unique_id="call-budget")


@pytest.fixture
def sqs_sends(monkeypatch):
    """Messages sent to SQS by this process: kombu's (every Celery task goes through its channel's
    `_put`) and any plain SendMessage on the app's own SQS client; counted after the hand-offs ran."""
    from kombu.transport.SQS import Channel

    from scheduler.messaging import aws

    sent: list[str] = []
    real_put = Channel._put

    def put(self, queue, message, **kwargs):
        sent.append(queue)
        return real_put(self, queue, message, **kwargs)

    monkeypatch.setattr(Channel, "_put", put)

    def count(model, **kwargs):
        sent.append(model.name)

    client = aws.client("sqs")
    client.meta.events.register("before-call.sqs.SendMessage", count, unique_id="sends-one")
    client.meta.events.register("before-call.sqs.SendMessageBatch", count, unique_id="sends-batch")
    yield sent
    client.meta.events.unregister("before-call.sqs.SendMessage", unique_id="sends-one")
    client.meta.events.unregister("before-call.sqs.SendMessageBatch", unique_id="sends-batch")


AUTH = ["GetItem"]  # the token
AUDIT = ["PutItem"]  # the audit entry of a read


# What a new booking's hand-off writes after the response: its enqueued marker (appointments/services/pipeline.py).
HANDOFF_MARKER = ["UpdateItem"]


def measure(calls: list[str], request) -> list[str]:
    """The request's calls and those of the hand-offs it leaves (run after its response, on threads:
    waited for before and after, so that no hand-off's call lands in another measurement)."""
    from scheduler.messaging.handoff import handoff

    assert handoff.flush(10)
    calls.clear()
    response = request()
    assert handoff.flush(10)
    assert response.status_code < 300, response.content
    assert calls[:1] == AUTH, calls
    return list(calls[1:])


def test_a_booking_sends_at_most_one_queue_message(clinic, sqs_sends):
    from scheduler.messaging.handoff import handoff

    at = next_local(MONDAY, "10:00")
    for index in range(3):
        sqs_sends.clear()
        response = book(clinic, at=at + timedelta(days=7 * index), appointmentId=f"a-{index}")
        assert response.status_code == 201, response.content
        assert handoff.flush(10)
        assert len(sqs_sends) == 1, sqs_sends
    # A replayed booking (same appointmentId, same details) sends nothing at all.
    sqs_sends.clear()
    assert book(clinic, at=at, appointmentId="a-0").status_code == 200
    assert handoff.flush(10) and sqs_sends == []


def test_call_budget(clinic, dynamodb_calls):
    at = next_local(MONDAY, "10:00")
    # Warm-up: the first booking of a process also reads the country (then cached for 30 s).
    assert book(clinic, at=at + timedelta(days=7), patient="0316").status_code == 201

    created = measure(dynamodb_calls, lambda: book(clinic, at=at, appointmentId="a-1"))
    assert created == ["BatchGetItem", "TransactWriteItems", *HANDOFF_MARKER]

    assert measure(dynamodb_calls, lambda: clinic.get("/appointments/a-1")) == ["GetItem", *AUDIT]
    assert measure(dynamodb_calls, lambda: clinic.get("/appointments?doctorId=doctor001")) == ["Query", *AUDIT]
    assert measure(dynamodb_calls, lambda: clinic.get("/appointments/patient/0315?limit=1")) == ["Query", *AUDIT]
    week = f"from={at.date()}&to={at.date() + timedelta(days=6)}"
    availability = measure(dynamodb_calls, lambda: clinic.get(f"/doctors/doctor001/availability?{week}"))
    assert availability == ["GetItem", "Query"]
    replay = measure(dynamodb_calls, lambda: book(clinic, at=at, appointmentId="a-1"))
    assert replay == ["BatchGetItem", *AUDIT]
    moved = z(at + timedelta(hours=1))
    patched = measure(
        dynamodb_calls, lambda: clinic.patch("/appointments/a-1", {"appointmentDate": moved}, format="json")
    )
    assert patched == ["GetItem", "BatchGetItem", "TransactWriteItems"]
    assert measure(dynamodb_calls, lambda: clinic.delete("/appointments/a-1")) == ["GetItem", "TransactWriteItems"]
    for path in ("/doctors?countryId=002", "/patients?countryId=002", "/countries", "/doctors/doctor001"):
        assert "Scan" not in measure(dynamodb_calls, lambda path=path: clinic.get(path))
    # A filter never makes a page read more than once, even when it leaves the page short.
    filtered = "/appointments?doctorId=doctor001&state=completed&limit=1"
    assert measure(dynamodb_calls, lambda: clinic.get(filtered)) == ["Query", *AUDIT]
    # The admin listing is the one place a Scan is allowed.
    assert measure(dynamodb_calls, lambda: clinic.get("/appointments")) == ["Scan", *AUDIT]
    assert measure(dynamodb_calls, lambda: clinic.get("/appointments?state=completed&limit=1")) == ["Scan", *AUDIT]


def test_staff_booking_budget(clinic, dynamodb_calls):
    """Staff book only with their countries' doctors and patients: the one BatchGetItem the booking
    makes anyway is what that check reads."""
    from tests.helpers import signed_in

    staff = signed_in("staff-cl", "staff", country_ids=["002"])
    at = next_local(MONDAY, "10:00")
    # Warm-up: the first booking of a process also reads the country (then cached for 30 s).
    assert book(staff, at=at + timedelta(days=7), patient="0316").status_code == 201

    created = measure(dynamodb_calls, lambda: book(staff, at=at, appointmentId="a-1"))
    assert created == ["BatchGetItem", "TransactWriteItems", *HANDOFF_MARKER]
    replay = measure(dynamodb_calls, lambda: book(staff, at=at, appointmentId="a-1"))
    assert replay == ["BatchGetItem", *AUDIT]


def test_country_listing_budget(clinic, dynamodb_calls, settings):
    """A country's listing page: one Query per shard of each UTC day it reads (COUNTRY_DAY_SHARDS),
    at most COUNTRY_LISTING_DAYS_PER_PAGE days; a page that the first day fills costs one day."""
    shards = settings.COUNTRY_DAY_SHARDS
    at = next_local(MONDAY, "10:00")
    for n in range(3):
        assert book(clinic, at=at + timedelta(minutes=30 * n), appointmentId=f"a-{n}").status_code == 201
    day = at.astimezone(UTC).date()
    one_day = f"/appointments?countryId=002&from={day}&to={day}&limit=2"
    assert measure(dynamodb_calls, lambda: clinic.get(one_day)) == ["Query"] * shards + AUDIT
    cursor = clinic.get(one_day).json()["next"]
    following = measure(dynamodb_calls, lambda: clinic.get(f"{one_day}&cursor={cursor}"))
    assert following[-1:] == AUDIT and set(following[:-1]) == {"Query"} and len(following) - 1 <= shards
    # An empty range reads every day it may on one page: the most a page costs.
    quiet = f"/appointments?countryId=002&from={day + timedelta(days=1)}&to={day + timedelta(days=40)}"
    longest = measure(dynamodb_calls, lambda: clinic.get(quiet))
    assert longest == ["Query"] * shards * settings.COUNTRY_LISTING_DAYS_PER_PAGE + AUDIT


def test_audit_trail_budget(clinic, dynamodb_calls, settings):
    """`GET /audit?objectId=`: one Query per byObject key of the id (its own and AUDIT_LIST_SHARDS
    shards of its listings' entries), in parallel; a next page skips the keys read to their end.
    `?actor=`: one Query. Reading the trail writes no entry of its own."""
    keys = 1 + settings.AUDIT_LIST_SHARDS
    for _ in range(4):
        assert clinic.get("/appointments?countryId=002").status_code == 200
    first = measure(dynamodb_calls, lambda: clinic.get("/audit?objectId=002&limit=2"))
    assert first == ["Query"] * keys
    cursor = clinic.get("/audit?objectId=002&limit=2").json()["next"]
    following = measure(dynamodb_calls, lambda: clinic.get(f"/audit?objectId=002&limit=2&cursor={cursor}"))
    assert set(following) == {"Query"} and len(following) <= keys
    assert measure(dynamodb_calls, lambda: clinic.get("/audit?actor=admin&limit=2")) == ["Query"]
    # A country's listing still writes one entry, whichever key it lands on.
    assert measure(dynamodb_calls, lambda: clinic.get("/appointments?countryId=002&limit=1"))[-1:] == AUDIT
