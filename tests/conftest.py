"""The suite's three tiers share this: the test environment (chosen before Django is set up) and the
fixtures of the emulator-backed tiers. tests/unit needs no service (its conftest refuses `aws_stack`);
tests/integration and tests/system get DynamoDB Local and moto server started on first request."""

import os
from zoneinfo import ZoneInfo

import pytest

from tests.helpers import clear_tables, drain, next_local, signed_in, z
from tests.stack import LocalStack

_stack = LocalStack()


def pytest_configure(config):
    # Before pytest-django sets Django up (its pytest_configure runs last): PynamoDB models read
    # endpoints and table names from settings when they are defined. Only the environment is set
    # here; DynamoDB Local and moto start when a test first asks for `aws_stack`.
    _stack.prepare_environment()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scheduler.settings")
    import django

    django.setup()


def pytest_unconfigure(config):
    _stack.stop()


@pytest.fixture(scope="session")
def aws_stack():
    """DynamoDB Local and moto server up, with this run's tables, queues and topic."""
    from django.core.management import call_command

    from scheduler import db
    from scheduler.messaging import aws

    _stack.start()
    _stack.wait_until_up()
    call_command("bootstrap", wait=True, stdout=open(os.devnull, "w"))  # noqa: SIM115
    yield _stack
    for model in db.registered_models():
        if model.exists():
            model.delete_table()
    sqs = aws.client("sqs")
    for url in sqs.list_queues(QueueNamePrefix=os.environ["SQS_QUEUE_PREFIX"]).get("QueueUrls", []):
        sqs.delete_queue(QueueUrl=url)
    arn = aws.topic_arn()
    if arn:
        aws.client("sns").delete_topic(TopicArn=arn)


@pytest.fixture
def empty_tables(aws_stack):
    """Each integration test starts with empty tables (this run's tables only)."""
    clear_tables()
    yield


@pytest.fixture
def anonymous(empty_tables):
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def api(empty_tables):
    """An admin's client: the suites that test resources, not access, act as an admin."""
    return signed_in("admin")


MONDAY = 0
LIMA = ZoneInfo("America/Lima")


@pytest.fixture
def world(api):
    """Two countries, each with a doctor, a patient and a booked appointment; and one user of each
    role scoped to Chile (staff of 002, the Chilean doctor, the Chilean patient)."""
    for country_id, name, code in (("002", "CHILE", "CL"), ("003", "PERU", "PE")):
        body = {"countryId": country_id, "name": name, "code": code, "maxAdvanceDays": 365}
        assert api.post("/countries", body, format="json").status_code == 201
    for suffix, country_id in (("cl", "002"), ("pe", "003")):
        doctor = {
            "doctorId": f"d-{suffix}",
            "name": f"Dr. {suffix}",
            "speciality": "GP",
            "countryId": country_id,
            "availableTimes": ["Monday 8am-6pm"],
        }
        assert api.post("/doctors", doctor, format="json").status_code == 201
        patient = {
            "patientId": f"p-{suffix}",
            "name": f"Patient {suffix}",
            "countryId": country_id,
            "email": f"p-{suffix}@example.com",
            "phoneNumber": "+56 9 1234 5678",
            "address": f"Street {suffix} 1",
            "birthDate": "1950-01-02",
        }
        assert api.post("/patients", patient, format="json").status_code == 201
    at_cl = next_local(MONDAY, "09:00")
    at_pe = next_local(MONDAY, "09:00", zone=LIMA)
    for suffix, at in (("cl", at_cl), ("pe", at_pe)):
        body = {
            "appointmentId": f"a-{suffix}",
            "patientId": f"p-{suffix}",
            "doctorId": f"d-{suffix}",
            "appointmentDate": z(at),
            "reason": "chest pain since Tuesday",
        }
        response = api.post("/appointments", body, format="json")
        assert response.status_code == 201, response.content
    return {
        "admin": api,
        "staff": signed_in("staff-cl", "staff", country_ids=["002"]),
        "doctor": signed_in("doctor-cl", "doctor", doctor_id="d-cl"),
        "patient": signed_in("patient-cl", "patient", patient_id="p-cl"),
        "at_cl": at_cl,
        "at_pe": at_pe,
    }


@pytest.fixture
def clinic(api):
    """Chile, Dr. Lorea (Monday 10-16, Wednesday 13-17, 30-minute slots) and two patients."""
    assert (
        api.post(
            "/countries", {"countryId": "002", "name": "CHILE", "code": "CL", "maxAdvanceDays": 365}, format="json"
        ).status_code
        == 201
    )
    doctor = {
        "doctorId": "doctor001",
        "name": "Dr. Lorea",
        "speciality": "Estomatolog",
        "countryId": "002",
        "availableTimes": ["Monday 10am-4pm", "Wednesday 1pm-5pm"],
    }
    assert api.post("/doctors", doctor, format="json").status_code == 201
    for patient_id, name in (("0315", "Jorge Moros"), ("0316", "Ana Perez")):
        patient = {"patientId": patient_id, "name": name, "countryId": "002", "email": f"{patient_id}@example.com"}
        assert api.post("/patients", patient, format="json").status_code == 201
    return api


@pytest.fixture
def quiet(clinic):
    for suffix in ("default", "notifications", "appointments-cl"):
        drain(suffix)
    return clinic


@pytest.fixture
def keys(settings):
    """Run a test under its own key list; the cached key ring follows."""
    from scheduler.security import crypto

    def use(*entries):
        settings.FIELD_ENCRYPTION_KEYS = list(entries)
        crypto.keyring.cache_clear()

    original = list(settings.FIELD_ENCRYPTION_KEYS)
    yield use
    settings.FIELD_ENCRYPTION_KEYS = original
    crypto.keyring.cache_clear()
