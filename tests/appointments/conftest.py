from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

SANTIAGO = ZoneInfo("America/Santiago")


def next_local(weekday: int, clock: str, *, zone: ZoneInfo = SANTIAGO, weeks: int = 1) -> datetime:
    """The given weekday (0 = Monday) at a local clock time, at least `weeks` weeks from today."""
    today = date.today()
    day = today + timedelta(days=(weekday - today.weekday()) % 7 + 7 * weeks)
    hours, minutes = map(int, clock.split(":"))
    return datetime.combine(day, time(hours, minutes), zone)


def z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def book(api, *, at: datetime, patient: str = "0315", doctor: str = "doctor001", **extra):
    body = {"patientId": patient, "doctorId": doctor, "appointmentDate": z(at), **extra}
    return api.post("/appointments", body, format="json")


def drain(suffix: str) -> list[dict]:
    """Every message waiting on a queue of this run, removed from it (after this process's
    hand-offs have gone out)."""
    from scheduler import aws  # not at import: conftests load before the test settings are chosen
    from scheduler.handoff import handoff

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
