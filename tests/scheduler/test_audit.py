"""The audit trail: every write and every read of personal data is recorded, with no personal value."""

import json

import pytest
from pynamodb.exceptions import PutError

from scheduler import aws, db
from scheduler.audit import AuditEntry

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
    assert read.request_id == "req-123"

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
    assert world["admin"].post("/appointments", taken, format="json").status_code == 409
    assert len(entries(action="create")) == before


def test_a_read_whose_entry_cannot_be_written_is_refused(world, monkeypatch):
    def unavailable(self, *args, **kwargs):
        raise PutError("audit table unavailable")

    monkeypatch.setattr(AuditEntry, "save", unavailable)
    response = world["admin"].get("/patients/p-cl")
    assert response.status_code == 503
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
    }  # fmt: skip
    by_actor = admin.get("/audit?actor=patient-cl").json()["results"]
    assert by_actor and all(e["actor"] == "patient-cl" for e in by_actor)
    assert admin.get("/audit").status_code == 400
    assert admin.get("/audit?objectId=p-cl&actor=admin").status_code == 400


def test_the_trail_is_append_only_in_the_api(world):
    for method in ("post", "put", "patch", "delete"):
        assert getattr(world["admin"], method)("/audit?objectId=p-cl").status_code == 405


@pytest.mark.parametrize("model_name", ["patients", "appointments", "audit", "events", "slots"])
def test_a_raw_scan_finds_no_protected_value(world, model_name):
    client = aws.client("dynamodb")
    table = next(m.Meta.table_name for m in db.registered_models() if m.Meta.table_name.endswith(model_name))
    items = client.scan(TableName=table)["Items"]
    assert items
    dumped = json.dumps(items)
    for value in PROTECTED:
        assert value not in dumped, f"{value!r} stored in the clear in {model_name}"
