"""Field encryption against DynamoDB Local: key rotation re-encrypts every record, a changed blind-index
key is re-indexed, and nothing personal reaches events or logs (the cipher itself: tests/unit/test_crypto.py)."""

import io
import json

from django.core.management import call_command
from django.test import override_settings

from scheduler import db
from scheduler.security.crypto import key_id_of
from tests.helpers import key


def test_rotate_keys_re_encrypts_every_record_and_old_and_new_read_back(world, keys, settings):
    old = settings.FIELD_ENCRYPTION_KEYS[0]
    new = key("k2")
    keys(new, old)
    # A record written after the new key became active, beside the ones written under the old key.
    patient = {"patientId": "p-new", "name": "New Person", "countryId": "002", "email": "new@example.com"}
    assert world["admin"].post("/patients", patient, format="json").status_code == 201
    for patient_id, name in (("p-cl", "Patient cl"), ("p-new", "New Person")):
        assert world["admin"].get(f"/patients/{patient_id}").json()["name"] == name

    out, err = io.StringIO(), io.StringIO()
    call_command("rotate_keys", stdout=out, stderr=err)
    assert "Patient: 2 re-encrypted" in out.getvalue()  # p-cl and p-pe; p-new was already under k2
    assert "Appointment: 2 re-encrypted" in out.getvalue()
    assert "100%" in err.getvalue()  # the progress bar

    raw = db.dynamodb_client().scan(TableName=settings.DYNAMODB_TABLES["patients"])["Items"]
    assert {key_id_of(item["name"]["S"]) for item in raw} == {"k2"}
    keys(new)  # the old key can go now
    for patient_id, email in (("p-cl", "p-cl@example.com"), ("p-new", "new@example.com")):
        assert world["admin"].get(f"/patients/{patient_id}").json()["email"] == email
    assert world["admin"].get("/appointments/a-cl").json()["reason"] == "chest pain since Tuesday"
    again = io.StringIO()
    call_command("rotate_keys", no_progress=True, stdout=again)
    assert "Patient: 0 re-encrypted" in again.getvalue()


def test_a_changed_blind_index_key_is_reindexed(world, settings):
    from patients.models import Patient
    from patients.services import email_blind_index

    with override_settings(EMAIL_INDEX_KEY="another index key"):
        call_command("rotate_keys", no_progress=True, stdout=io.StringIO())
        assert Patient.get("p-cl").email_index == email_blind_index("p-cl@example.com")
    assert Patient.get("p-cl").email_index != email_blind_index("p-cl@example.com")


def test_events_and_logs_carry_no_personal_value(world, caplog):
    from appointments.models import Event

    bodies = json.dumps([event.body for event in Event.scan()])
    for value in ("Patient cl", "p-cl@example.com", "chest pain"):
        assert value not in bodies
    world["admin"].get("/patients/p-cl")
    world["admin"].patch("/appointments/a-cl", {"reason": "new symptom: dizziness"}, format="json")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for value in ("Patient cl", "p-cl@example.com", "dizziness", "+56912345678"):
        assert value not in logged
