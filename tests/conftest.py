import os
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.appointments.conftest import next_local, z
from tests.stack import LocalStack

_stack = LocalStack()


def pytest_configure(config):
    # Before pytest-django sets Django up (its pytest_configure runs last): PynamoDB models read
    # endpoints and table names from settings when they are defined.
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


def later(at, minutes: int) -> str:
    return z(at + timedelta(minutes=minutes))
