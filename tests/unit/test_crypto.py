"""Field encryption: the cipher and key ring, no services (key rotation against DynamoDB Local is in
tests/integration/scheduler/test_crypto.py)."""

import base64
import os

import pytest
from django.core.exceptions import ImproperlyConfigured

from scheduler.security.crypto import DecryptionError, decrypt, encrypt, key_id_of, parse_keys
from tests.helpers import key


class TestCipher:
    def test_round_trip_with_a_fresh_nonce_each_time(self, keys):
        keys(key("k1"))
        first, second = encrypt("Jorge Moros", context="name"), encrypt("Jorge Moros", context="name")
        assert first != second and "Jorge" not in first
        assert first.startswith("enc:v2:k1:") and key_id_of(first) == "k1"
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
        with pytest.raises(DecryptionError, match="no key 'k1'"):
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


def _v1(value: str, *, key_entry: str, attribute: str) -> str:
    """A value as the release before record binding wrote it: `enc:v1:`, the attribute name as AAD."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key_id, _, encoded = key_entry.partition(":")
    nonce = os.urandom(12)
    sealed = AESGCM(base64.b64decode(encoded)).encrypt(nonce, value.encode(), attribute.encode())
    return f"enc:v1:{key_id}:{base64.b64encode(nonce + sealed).decode()}"


def _patient(patient_id: str, **values):
    from patients.models import Patient

    fields = {"name": f"Name of {patient_id}", "country_id": "002", "email": f"{patient_id}@example.com"}
    patient = Patient(patient_id, **{**fields, **values})
    patient.touch()
    return patient


class TestRecordBinding:
    """A ciphertext authenticates its table, record key and attribute (finding 5 of issue 17)."""

    def test_a_value_copied_to_another_patient_is_refused_and_kept(self, keys):
        from patients.models import Patient

        keys(key("k1"))
        victim, source = _patient("p-1").serialize(), _patient("p-2").serialize()
        assert victim["name"]["S"].startswith("enc:v2:k1:")
        victim["email"] = source["email"]
        patient = Patient.from_raw_data(victim)
        assert patient.name == "Name of p-1"
        assert patient.email is None and patient.undecryptable_fields == ["email"]
        # Saving it again keeps the stored value as it is, never a null in its place.
        assert patient.serialize()["email"] == source["email"]

    def test_a_value_copied_from_a_patient_to_an_appointment_or_another_field_is_refused(self, keys):
        from appointments.models import Appointment
        from patients.models import Patient

        keys(key("k1"))
        raw = _patient("x-1", address="Street 1").serialize()
        raw["name"] = raw["address"]  # same record, another attribute
        assert Patient.from_raw_data(raw).undecryptable_fields == ["name"]
        appointment = {"appointmentId": {"S": "x-1"}, "reason": raw["address"], "state": {"S": "pending"}}
        assert Appointment.from_raw_data(appointment).undecryptable_fields == ["reason"]

    def test_a_planted_plaintext_is_refused_unless_legacy_values_are_accepted(self, keys, settings):
        from patients.models import Patient

        keys(key("k1"))
        raw = _patient("p-1").serialize()
        raw["name"] = {"S": "Planted Name"}
        planted = Patient.from_raw_data(raw)
        assert planted.name is None and planted.undecryptable_fields == ["name"]
        settings.FIELD_ENCRYPTION_ACCEPT_LEGACY = True
        assert Patient.from_raw_data(raw).name == "Planted Name"

    def test_a_v1_value_reads_only_while_legacy_values_are_accepted(self, keys, settings):
        from patients.models import Patient

        entry = key("k1")
        keys(entry)
        raw = _patient("p-1").serialize()
        raw["name"] = {"S": _v1("Old Name", key_entry=entry, attribute="name")}
        assert Patient.from_raw_data(raw).undecryptable_fields == ["name"]
        settings.FIELD_ENCRYPTION_ACCEPT_LEGACY = True
        patient = Patient.from_raw_data(raw)
        assert patient.name == "Old Name" and patient.undecryptable_fields == []
        assert patient.serialize()["name"]["S"].startswith("enc:v2:k1:")

    def test_the_table_is_bound_by_its_logical_name_not_its_prefix(self, keys):
        from patients.models import Patient

        keys(key("k1"))
        assert Patient.Meta.logical_name == "patients"
        sealed = _patient("p-1").serialize()["name"]["S"]
        assert decrypt(sealed, context="patients|p-1|name") == "Name of p-1"

    def test_an_update_action_on_an_encrypted_attribute_is_refused(self, keys):
        from patients.models import Patient

        keys(key("k1"))
        with pytest.raises(RuntimeError, match="outside its record"):
            Patient.email.set("x@example.com")

    def test_the_refusal_names_the_record_and_key_id_never_the_value(self, keys):
        from patients.models import Patient
        from scheduler.exceptions import Undecryptable
        from scheduler.security.crypto import refuse_undecryptable

        keys(key("k1"))
        raw = _patient("p-1").serialize()
        keys(key("k9"))
        patient = Patient.from_raw_data(raw)
        with pytest.raises(Undecryptable) as caught:
            refuse_undecryptable(patient)
        assert caught.value.status_code == 503 and caught.value.code == "undecryptable"
        assert "p-1" in caught.value.message and "'k1'" in caught.value.message
        assert "example.com" not in caught.value.message and "enc:" not in caught.value.message


def test_the_schema_shows_the_marker_and_lets_the_fields_it_names_be_null():
    from drf_spectacular.generators import SchemaGenerator

    components = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    patient, appointment = components["Patient"]["properties"], components["Appointment"]["properties"]
    assert patient["undecryptable"]["readOnly"] and "undecryptable" not in components["PatientRequest"]["properties"]
    assert all(patient[name].get("nullable") for name in ("name", "email", "birthDate", "address", "phoneNumber"))
    assert appointment["reason"].get("nullable") and "nullable" not in patient["countryId"]
    assert "nullable" not in components["PatientRequest"]["properties"]["name"]


@pytest.mark.parametrize(
    "is_local, legacy, warned",
    [(False, True, True), (True, True, False), (False, False, False)],
)
def test_accepting_legacy_values_outside_the_local_stage_is_logged_once_at_startup(
    settings, caplog, is_local, legacy, warned
):
    from django.apps import apps

    settings.IS_LOCAL, settings.FIELD_ENCRYPTION_ACCEPT_LEGACY = is_local, legacy
    with caplog.at_level("WARNING"):
        apps.get_app_config("scheduler").ready()
    messages = [r.getMessage() for r in caplog.records if "FIELD_ENCRYPTION_ACCEPT_LEGACY" in r.getMessage()]
    assert len(messages) == (1 if warned else 0)
    assert all("\n" not in message for message in messages)  # one line
