"""The audit trail: every write and every read of personal data is recorded, with no personal value."""

import json
from datetime import timedelta

import pytest
from pynamodb.exceptions import PutError

from scheduler import db
from scheduler.security.audit import AuditEntry, object_keys
from tests.helpers import z

PROTECTED = ["Patient cl", "p-cl@example.com", "+56912345678", "Street cl 1", "1950-01-02", "chest pain since Tuesday"]


def entries(**match) -> list[AuditEntry]:
    found = [e for e in AuditEntry.scan() if all(getattr(e, k) == v for k, v in match.items())]
    return sorted(found, key=lambda e: e.entry_id)


def test_each_write_and_each_read_of_a_patient_or_appointment_is_recorded(world):
    admin = world["admin"]
    created = entries(action="create", object_id="p-cl")
    assert len(created) == 1 and created[0].object_type == "patient" and created[0].actor == "admin"
    assert created[0].role == "admin" and created[0].outcome == "ok" and created[0].request_id
    assert len(entries(action="create", object_id="a-cl", object_type="appointment")) == 1

    response = admin.get("/patients/p-cl", HTTP_X_REQUEST_ID="req-123")
    assert response.status_code == 200
    (read,) = entries(action="read", object_id="p-cl")
    assert read.request_id == response["X-Request-ID"] and read.client_request_id == "req-123"

    world["patient"].patch("/appointments/a-cl", {"reason": "checkup"}, format="json")
    (updated,) = entries(action="update", object_id="a-cl")
    assert updated.actor == "patient-cl" and updated.role == "patient"

    listed = admin.get("/appointments?doctorId=d-cl")
    assert listed.status_code == 200
    (page,) = entries(action="list", object_id="d-cl")
    assert page.object_ids == ["a-cl"]

    world["staff"].get("/patients/p-pe")
    (denied,) = entries(outcome="denied", object_id="p-pe")
    assert denied.actor == "staff-cl" and denied.action == "read"


def test_no_entry_holds_a_personal_value(world):
    world["admin"].get("/patients/p-cl")
    world["admin"].get("/appointments/a-cl")
    dumped = json.dumps([e.attribute_values for e in AuditEntry.scan()], default=str)
    for value in PROTECTED:
        assert value not in dumped


def test_a_write_that_fails_leaves_no_entry(world):
    before = len(entries(action="create"))
    taken = {
        "patientId": "p-pe",
        "doctorId": "d-cl",
        "appointmentDate": world["admin"].get("/appointments/a-cl").json()["appointmentDate"],
    }
    refused = world["admin"].post("/appointments", taken, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "slot_taken"
    assert len(entries(action="create")) == before


def test_a_read_whose_entry_cannot_be_written_is_refused(world, monkeypatch):
    def unavailable(self, *args, **kwargs):
        raise PutError("audit table unavailable")

    monkeypatch.setattr(AuditEntry, "save", unavailable)
    response = world["admin"].get("/patients/p-cl")
    assert response.status_code == 503 and response.json()["code"] == "unavailable"
    assert "audit" in response.json()["detail"] and "Patient cl" not in response.content.decode()
    assert response["Retry-After"]


def test_admins_read_the_trail_by_object_or_actor_newest_first_page_by_page(world):
    admin = world["admin"]
    for _ in range(3):
        admin.get("/patients/p-cl")
    first = admin.get("/audit?objectId=p-cl&limit=2")
    assert first.status_code == 200
    body = first.json()
    assert [e["action"] for e in body["results"]] == ["read", "read"] and body["next"]
    rest = admin.get(f"/audit?objectId=p-cl&limit=50&cursor={body['next']}").json()["results"]
    actions = [e["action"] for e in body["results"] + rest]
    assert actions == ["read", "read", "read", "create"]
    times = [e["at"] for e in body["results"] + rest]
    assert times == sorted(times, reverse=True)
    assert set(body["results"][0]) == {
        "at", "actor", "role", "action", "objectType", "objectId", "objectIds", "outcome", "requestId",
        "clientRequestId",
    }  # fmt: skip
    by_actor = admin.get("/audit?actor=patient-cl").json()["results"]
    assert by_actor and all(e["actor"] == "patient-cl" for e in by_actor)
    assert admin.get("/audit").status_code == 400
    assert admin.get("/audit?objectId=p-cl&actor=admin").status_code == 400


def trail(client, object_id: str, limit: int) -> list[dict]:
    """Every entry `/audit?objectId=` gives, following `next` to the end."""
    found, cursor, pages = [], None, 0
    while True:
        query = f"/audit?objectId={object_id}&limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(query)
        assert response.status_code == 200, response.content
        found += response.json()["results"]
        cursor, pages = response.json()["next"], pages + 1
        if not cursor:
            return found
        assert pages < 100, "the trail never ends"


@pytest.mark.parametrize("shards", [2, 4])
def test_a_countrys_listing_entries_spread_over_shards_and_its_trail_finds_them_all(world, settings, shards):
    settings.AUDIT_LIST_SHARDS = shards
    admin, staff = world["admin"], world["staff"]
    listings = ["/appointments?countryId=002", "/patients?countryId=002"]
    for n in range(60):  # until the entries are on at least two keys (each lands on one at random)
        client = staff if n % 3 else admin
        assert client.get(listings[n % 2], HTTP_X_REQUEST_ID=f"list-{n}").status_code == 200
        keys = {e.object_id for e in entries(action="list") if e.subject_id == "002"}
        if n >= 8 and len(keys) >= 2:
            break
    listed = [e for e in entries(action="list") if e.subject_id == "002"]
    assert {e.object_id for e in listed} <= set(object_keys("002")[1:]) and len(keys) >= 2
    # Everything about the country: its own entries (its creation, on the bare key) and its listings'.
    about = sorted((e for e in entries() if e.object_id in object_keys("002")), key=lambda e: e.entry_id)
    assert any(e.object_id == "002" and e.action == "create" for e in about)
    for limit in (1, 2, 5, 50):
        found = trail(admin, "002", limit)
        assert [e["requestId"] for e in found] == [e.request_id for e in reversed(about)]
        assert len({e["requestId"] for e in found}) == len(found)  # no entry twice
        assert [e["at"] for e in found] == sorted((e["at"] for e in found), reverse=True)
        assert {e["objectId"] for e in found} == {"002"}  # the shard is storage, not what the entry is about
    # Another country's trail holds none of them; a cursor of one trail is refused by another.
    assert all(e["requestId"] not in {x.request_id for x in listed} for e in trail(admin, "003", 50))
    cursor = admin.get("/audit?objectId=002&limit=1").json()["next"]
    assert admin.get(f"/audit?objectId=003&cursor={cursor}").status_code == 400


def test_a_records_own_entries_stay_on_its_id(world):
    admin = world["admin"]
    admin.get("/patients/p-cl")
    admin.get("/appointments?patientId=p-cl")
    admin.get("/appointments?doctorId=d-cl")
    for object_id in ("p-cl", "d-cl", "a-cl"):
        mine = entries(object_id=object_id)
        assert mine and all(e.object_id == object_id for e in mine)
        found = trail(admin, object_id, 1)
        assert [e["action"] for e in found] == [e.action for e in reversed(mine)]
    assert [e.action for e in entries(object_id="p-cl")] == ["create", "read", "list"]
    assert not [e for e in entries() if e.object_id.startswith(("p-cl#", "d-cl#", "a-cl#"))]


def test_the_unfiltered_listing_is_spread_too_and_found_under_its_star(world, settings):
    admin = world["admin"]
    for n in range(4):
        assert admin.get("/appointments", HTTP_X_REQUEST_ID=f"all-{n}").status_code == 200
    listed = [e for e in entries(action="list") if e.subject_id == "*"]
    assert len(listed) == 4 and all(e.object_id in object_keys("*")[1:] for e in listed)
    found = [e["clientRequestId"] for e in trail(admin, "*", 3)]
    assert found[:4] == ["all-3", "all-2", "all-1", "all-0"]


def test_the_trail_is_append_only_in_the_api(world):
    for method in ("post", "put", "patch", "delete"):
        assert getattr(world["admin"], method)("/audit?objectId=p-cl").status_code == 405


@pytest.mark.parametrize("model_name", ["patients", "appointments", "audit", "events", "slots"])
def test_a_raw_scan_finds_no_protected_value(world, model_name):
    client = db.dynamodb_client()
    table = next(m.Meta.table_name for m in db.registered_models() if m.Meta.table_name.endswith(model_name))
    items = client.scan(TableName=table)["Items"]
    assert items
    dumped = json.dumps(items)
    for value in PROTECTED:
        assert value not in dumped, f"{value!r} stored in the clear in {model_name}"


def test_a_transaction_holds_only_the_items_its_service_added(empty_tables):
    """The audit entry is a visible part of a write: the DynamoDB layer adds nothing behind a
    service's back, `audit.join` adds exactly the announced write's entry, and a write of the
    announced kind that forgot it is refused before anything is sent."""
    from countries.models import Country
    from scheduler.security import audit

    announced = audit.PendingWrite(audit.CREATE, "country", Country, None)
    actor = audit.Actor("admin", "admin", "req-1")

    def country(country_id: str) -> Country:
        record = Country(country_id, name="X", code=f"X{country_id[-1]}", time_zone="UTC", reminder_offsets_minutes=[])
        record.touch()
        return record

    with audit.acting(actor, announced), pytest.raises(audit.UnauditedWrite):
        db.run_transaction(lambda tx: tx.put(country("901")), default_conflict=RuntimeError)
    assert entries(object_id="901") == [] and Country.count("901") == 0

    def joined(country_id: str):
        def build(tx: db.Transaction) -> None:
            tx.put(country(country_id))
            audit.join(tx)

        return build

    with audit.acting(actor, announced):
        db.run_transaction(joined("902"), default_conflict=RuntimeError)
    (entry,) = entries(object_id="902")
    assert (entry.action, entry.object_type, entry.actor) == ("create", "country", "admin")

    # Outside a request nothing is announced, so joining adds nothing.
    db.run_transaction(joined("903"), default_conflict=RuntimeError)
    assert Country.get("903").name == "X" and entries(object_id="903") == []


def about(object_id: str) -> list[AuditEntry]:
    return entries(object_id=object_id)


def test_every_response_that_shows_an_appointment_or_patient_is_recorded_whatever_the_method(world):
    """A PATCH that changes nothing, an echo and a replayed booking commit no write, yet answer the
    whole record (the decrypted reason too): each is a read entry. A response whose record the
    request's own write entry already covers gets no second one."""
    patient = world["patient"]
    shown = patient.get("/appointments/a-cl").json()
    assert shown["reason"] == "chest pain since Tuesday"
    echo = {name: shown[name] for name in ("appointmentId", "appointmentDate", "reason", "state", "patientId")}
    booking = {name: shown[name] for name in ("appointmentId", "patientId", "doctorId", "appointmentDate", "reason")}
    for label, send in (
        ("PATCH {}", lambda: patient.patch("/appointments/a-cl", {}, format="json")),
        ("echo PATCH", lambda: patient.patch("/appointments/a-cl", echo, format="json")),
        ("replayed POST", lambda: patient.post("/appointments", booking, format="json")),
    ):
        before = about("a-cl")
        response = send()
        assert response.status_code == 200, (label, response.content)
        assert response.json()["reason"] == "chest pain since Tuesday"
        new = about("a-cl")[len(before) :]
        assert [(e.action, e.actor, e.outcome) for e in new] == [("read", "patient-cl", "ok")], label

    before = len(about("a-cl"))
    assert patient.patch("/appointments/a-cl", {"reason": "checkup"}, format="json").status_code == 200
    assert [e.action for e in about("a-cl")[before:]] == ["update"]  # the write's entry covers its answer

    profile = patient.get("/patients/p-cl").json()
    replaced = {k: v for k, v in profile.items() if k not in ("createdAt", "updatedAt", "version")}
    for label, send in (
        ("PATCH {}", lambda: patient.patch("/patients/p-cl", {}, format="json")),
        ("PUT echo", lambda: patient.put("/patients/p-cl", replaced, format="json")),
    ):
        before = len(about("p-cl"))
        response = send()
        assert response.status_code == 200, (label, response.content)
        assert response.json()["email"] == "p-cl@example.com"
        assert [e.action for e in about("p-cl")[before:]] == ["update"], label


def test_a_patch_that_changed_nothing_is_refused_when_its_read_entry_cannot_be_written(world, monkeypatch):
    def unavailable(self, *args, **kwargs):
        raise PutError("audit table unavailable")

    monkeypatch.setattr(AuditEntry, "save", unavailable)
    response = world["patient"].patch("/appointments/a-cl", {}, format="json")
    assert response.status_code == 503 and response.json()["code"] == "unavailable"
    assert "chest pain" not in response.content.decode()


def test_the_signed_in_users_own_record_is_a_read_of_that_user(world):
    before = len(about("patient-cl"))
    assert world["patient"].get("/auth/me").json()["username"] == "patient-cl"
    assert [(e.action, e.object_type) for e in about("patient-cl")[before:]] == [("read", "user")]


def test_booking_under_another_patients_appointment_id_is_a_denied_entry_and_reveals_nothing(world):
    """Finding 12: the 409 is kept (ids are the client's own, unguessable choice, and the answer is
    the one a clash with one's own booking gets), but the attempt is recorded as denied."""
    patient, staff = world["patient"], world["staff"]
    at = z(world["at_cl"] + timedelta(hours=2))
    mine = {"appointmentId": "a-cl", "patientId": "p-cl", "doctorId": "d-cl", "appointmentDate": at}
    theirs = {**mine, "appointmentId": "a-pe"}
    own_clash = patient.post("/appointments", mine, format="json")
    before = len(about("a-pe"))
    probe = patient.post("/appointments", theirs, format="json")
    answer = (probe.status_code, probe.json()["code"])
    assert answer == (own_clash.status_code, own_clash.json()["code"]) == (409, "duplicate")
    assert probe.json()["detail"] == own_clash.json()["detail"].replace("a-cl", "a-pe")
    for leaked in ("p-pe", "d-pe", "003", world["at_pe"].isoformat()[:10]):
        assert leaked not in probe.content.decode()
    new = about("a-pe")[before:]
    assert [(e.action, e.actor, e.outcome) for e in new] == [("create", "patient-cl", "denied")]

    staff_probe = staff.post("/appointments", theirs, format="json")
    assert (staff_probe.status_code, staff_probe.json()["code"]) == (409, "duplicate")
    assert [(e.actor, e.outcome) for e in about("a-pe")[before + 1 :]] == [("staff-cl", "denied")]


def test_the_server_names_each_request_and_keeps_the_clients_id_beside_its_own(world):
    """Finding 11: an actor cannot give its entries another request's id: the entry's requestId is
    the server's (the one the response's X-Request-ID and the log line carry); a well-formed client
    X-Request-ID is kept as clientRequestId and echoed as X-Client-Request-ID."""
    admin = world["admin"]
    first = admin.get("/patients/p-cl", HTTP_X_REQUEST_ID="req-123")
    second = admin.get("/patients/p-cl", HTTP_X_REQUEST_ID="req-123")
    reads = entries(action="read", object_id="p-cl")
    assert [e.request_id for e in reads] == [first["X-Request-ID"], second["X-Request-ID"]]
    assert len(set(e.request_id for e in reads)) == 2 and "req-123" not in {e.request_id for e in reads}
    assert [e.client_request_id for e in reads] == ["req-123", "req-123"]
    assert first["X-Client-Request-ID"] == "req-123"
    shown = admin.get("/audit?objectId=p-cl&limit=1").json()["results"][0]
    assert shown["clientRequestId"] == "req-123" and shown["requestId"] == second["X-Request-ID"]
    ill_formed = admin.get("/patients/p-cl", HTTP_X_REQUEST_ID="bad id with spaces " + "x" * 200)
    assert "X-Client-Request-ID" not in ill_formed
    assert entries(action="read", object_id="p-cl")[-1].client_request_id is None
