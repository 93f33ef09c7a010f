"""Field encryption: unit tests of the cipher and key ring (no services), and key rotation against
DynamoDB Local."""

import base64
import io
import json
import os

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import override_settings

from scheduler import db
from scheduler.security import crypto
from scheduler.security.crypto import DecryptionError, decrypt, encrypt, key_id_of, parse_keys


def key(key_id: str) -> str:
    return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"


@pytest.fixture
def keys(settings):
    """Run a test under its own key list; the cached key ring follows."""

    def use(*entries):
        settings.FIELD_ENCRYPTION_KEYS = list(entries)
        crypto.keyring.cache_clear()

    original = list(settings.FIELD_ENCRYPTION_KEYS)
    yield use
    settings.FIELD_ENCRYPTION_KEYS = original
    crypto.keyring.cache_clear()


class TestCipher:
    def test_round_trip_with_a_fresh_nonce_each_time(self, keys):
        keys(key("k1"))
        first, second = encrypt("Jorge Moros", context="name"), encrypt("Jorge Moros", context="name")
        assert first != second and "Jorge" not in first
        assert first.startswith("enc:v1:k1:") and key_id_of(first) == "k1"
        assert decrypt(first, context="name") == decrypt(second, context="name") == "Jorge Moros"

    def test_a_value_moved_to_another_field_or_tampered_does_not_decrypt(self, keys):
        keys(key("k1"))
        sealed = encrypt("jorge@example.com", context="email")
        with pytest.raises(DecryptionError):
            decrypt(sealed, context="name")
        tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
        with pytest.raises(DecryptionError):
            decrypt(tampered, context="email")

    def test_old_keys_stay_readable_and_a_missing_key_is_named(self, keys):
        old, new = key("k1"), key("k2")
        keys(old)
        sealed = encrypt("secret", context="reason")
        keys(new, old)
        assert decrypt(sealed, context="reason") == "secret"
        assert key_id_of(encrypt("secret", context="reason")) == "k2"
        keys(new)
        with pytest.raises(DecryptionError, match="No key 'k1'"):
            decrypt(sealed, context="reason")

    @pytest.mark.parametrize(
        "entries, message",
        [
            ([], "FIELD_ENCRYPTION_KEYS is not set"),
            (["k1:not base64!"], "not base64"),
            ([f"k1:{base64.b64encode(b'short').decode()}"], "32 bytes"),
            ([f"bad id:{base64.b64encode(os.urandom(32)).decode()}"], "not a key id"),
        ],
    )
    def test_bad_key_settings_are_named(self, entries, message):
        with pytest.raises(ImproperlyConfigured, match=message):
            parse_keys(entries)


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
