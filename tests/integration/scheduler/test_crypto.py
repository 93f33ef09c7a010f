"""Field encryption against DynamoDB Local: key rotation re-encrypts every record, a changed blind-index
key is re-indexed, and nothing personal reaches events or logs (the cipher itself: tests/unit/test_crypto.py)."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from scheduler import db
from scheduler.security.audit import AuditEntry
from scheduler.security.crypto import key_id_of
from tests.helpers import key, set_raw
from tests.unit.test_crypto import _v1


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


def raw_item(model, item_id: str) -> dict:
    hash_name = model._hash_key_attribute().attr_name
    return db.connection().client.get_item(
        TableName=model.Meta.table_name, Key={hash_name: {"S": item_id}}, ConsistentRead=True
    )["Item"]


def tampered(value: str) -> str:
    return value[:-6] + ("AAAAAA" if not value.endswith("AAAAAA") else "BBBBBB")


def test_a_ciphertext_copied_from_another_patient_is_a_503_for_that_patient_alone(world, settings):
    from patients.models import Patient

    key_id = settings.FIELD_ENCRYPTION_KEYS[0].split(":")[0]
    set_raw(Patient, "p-cl", email=raw_item(Patient, "p-pe")["email"]["S"])
    response = world["admin"].get("/patients/p-cl")
    assert response.status_code == 503, response.content
    body = response.json()
    assert body["code"] == "undecryptable"
    assert "p-cl" in body["detail"] and "email" in body["detail"] and f"'{key_id}'" in body["detail"]
    assert "Retry-After" not in response
    assert "example.com" not in body["detail"] and "enc:" not in body["detail"]
    assert world["admin"].get("/patients/p-pe").json()["email"] == "p-pe@example.com"


def test_an_appointment_reason_copied_from_another_record_is_refused(world):
    from appointments.models import Appointment
    from patients.models import Patient

    set_raw(Appointment, "a-cl", reason=raw_item(Patient, "p-cl")["address"]["S"])
    assert world["admin"].get("/appointments/a-cl").json()["code"] == "undecryptable"
    set_raw(Appointment, "a-cl", reason=raw_item(Appointment, "a-pe")["reason"]["S"])
    assert world["admin"].get("/appointments/a-cl").json()["code"] == "undecryptable"


def test_a_tampered_patient_leaves_the_rest_of_its_list_intact(world):
    from patients.models import Patient

    other = {"patientId": "p-cl2", "name": "Other Chilean", "countryId": "002", "email": "o@example.com"}
    assert world["admin"].post("/patients", other, format="json").status_code == 201
    set_raw(Patient, "p-cl", name=tampered(raw_item(Patient, "p-cl")["name"]["S"]))

    listed = world["admin"].get("/patients?countryId=002")
    assert listed.status_code == 200, listed.content
    by_id = {item["patientId"]: item for item in listed.json()["results"]}
    assert by_id["p-cl2"]["name"] == "Other Chilean" and "undecryptable" not in by_id["p-cl2"]
    assert by_id["p-cl"]["name"] is None and by_id["p-cl"]["undecryptable"] == ["name"]
    assert by_id["p-cl"]["email"] == "p-cl@example.com"  # the fields that do decrypt are shown
    assert world["admin"].get("/patients/p-cl").status_code == 503
    assert world["admin"].patch("/patients/p-cl", {"age": 70}, format="json").status_code == 503
    assert world["admin"].get("/patients/p-cl2").status_code == 200


def test_a_planted_plaintext_is_refused_by_default_and_read_while_migrating(world, settings):
    from patients.models import Patient

    set_raw(Patient, "p-cl", name="Planted Name")
    response = world["admin"].get("/patients/p-cl")
    assert response.status_code == 503 and "Planted" not in response.json()["detail"]
    settings.FIELD_ENCRYPTION_ACCEPT_LEGACY = True
    assert world["admin"].get("/patients/p-cl").json()["name"] == "Planted Name"


def test_rotate_keys_skips_and_reports_an_undecryptable_record_and_exits_non_zero(world, keys, settings):
    from patients.models import Patient

    old = settings.FIELD_ENCRYPTION_KEYS[0]
    old_id = old.split(":")[0]
    keys(key("k2"), old)
    set_raw(Patient, "p-cl", email=tampered(raw_item(Patient, "p-cl")["email"]["S"]))
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 record"):
        call_command("rotate_keys", no_progress=True, stdout=out, stderr=err)
    assert "Patient p-cl: email" in err.getvalue() and f"'{old_id}'" in err.getvalue()
    assert "Patient: 1 re-encrypted, 1 skipped" in out.getvalue()  # p-pe
    assert "Appointment: 2 re-encrypted" in out.getvalue()
    assert key_id_of(raw_item(Patient, "p-pe")["name"]["S"]) == "k2"
    assert key_id_of(raw_item(Patient, "p-cl")["name"]["S"]) == old_id  # left as it was


def test_rotate_keys_reports_a_copied_value_already_under_the_active_key(world):
    """Nothing needs rewriting (every value is v2 under the active key), yet a reason copied from
    another appointment, or a patient's e-mail from another patient, is reported, not passed over."""
    from appointments.models import Appointment
    from patients.models import Patient

    set_raw(Appointment, "a-cl", reason=raw_item(Appointment, "a-pe")["reason"]["S"])
    set_raw(Patient, "p-pe", email=raw_item(Patient, "p-cl")["email"]["S"])
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="2 records skipped"):
        call_command("rotate_keys", no_progress=True, stdout=out, stderr=err)
    assert "skipped Appointment a-cl: reason: " in err.getvalue()
    assert "skipped Patient p-pe: email: " in err.getvalue()
    assert "a-pe" not in err.getvalue() and "p-cl" not in err.getvalue()
    assert "Patient: 0 re-encrypted, 1 skipped" in out.getvalue()
    assert "Appointment: 0 re-encrypted, 1 skipped" in out.getvalue()


def test_rotate_keys_upgrades_v1_and_plaintext_to_v2_and_audits_each_rewrite(world, keys, settings):
    from appointments.models import Appointment
    from patients.models import Patient

    entry = settings.FIELD_ENCRYPTION_KEYS[0]
    set_raw(Patient, "p-cl", name=_v1("Patient cl", key_entry=entry, attribute="name"), address="Street cl 1")
    set_raw(Appointment, "a-cl", reason=_v1("chest pain since Tuesday", key_entry=entry, attribute="reason"))
    settings.FIELD_ENCRYPTION_ACCEPT_LEGACY = True
    before = {item.entry_id for item in AuditEntry.scan()}
    out = io.StringIO()
    call_command("rotate_keys", no_progress=True, stdout=out, stderr=io.StringIO())
    assert "Patient: 1 re-encrypted" in out.getvalue() and "Appointment: 1 re-encrypted" in out.getvalue()
    for value in (raw_item(Patient, "p-cl")["name"]["S"], raw_item(Patient, "p-cl")["address"]["S"]):
        assert value.startswith(f"enc:v2:{entry.split(':')[0]}:")
    assert raw_item(Appointment, "a-cl")["reason"]["S"].startswith("enc:v2:")
    written = [item for item in AuditEntry.scan() if item.entry_id not in before]
    assert sorted((e.actor, e.action, e.object_type, e.object_id) for e in written) == [
        ("rotate_keys", "update", "appointment", "a-cl"),
        ("rotate_keys", "update", "patient", "p-cl"),
    ]

    settings.FIELD_ENCRYPTION_ACCEPT_LEGACY = False
    patient = world["admin"].get("/patients/p-cl").json()
    assert (patient["name"], patient["address"]) == ("Patient cl", "Street cl 1")
    assert world["admin"].get("/appointments/a-cl").json()["reason"] == "chest pain since Tuesday"
