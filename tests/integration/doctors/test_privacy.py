"""What of a doctor each role reads (issue 17, finding 6): everyone signed in reads every doctor's name,
speciality, schedule and blocked times; the e-mail and the reasons of blocked periods only those who
may change the doctor (admins, staff of its country) and the doctor itself."""

from datetime import timedelta

import pytest

from tests.helpers import book, next_local, z

MONDAY = 0
PUBLIC = {"doctorId", "name", "speciality", "countryId", "availableTimes", "slotMinutes", "timeZone", "unavailable"}


@pytest.fixture
def doctors(world):
    """Both doctors with an e-mail and a blocked Monday morning whose reason is medical."""
    blocked_at = next_local(MONDAY, "11:00")
    for suffix in ("cl", "pe"):
        period = {"start": z(blocked_at - timedelta(hours=1)), "end": z(blocked_at + timedelta(hours=1))}
        body = {"email": f"d-{suffix}@example.com", "unavailable": [{**period, "reason": "chemotherapy"}]}
        response = world["admin"].patch(f"/doctors/d-{suffix}", body, format="json")
        assert response.status_code == 200, response.content
    return {**world, "blocked_at": blocked_at}


def shown(client, doctor_id):
    """The doctor as GET /doctors/{id} and as the listing show it to this client."""
    one = client.get(f"/doctors/{doctor_id}")
    assert one.status_code == 200, one.content
    listing = client.get("/doctors")
    assert listing.status_code == 200, listing.content
    (listed,) = [d for d in listing.json()["results"] if d["doctorId"] == doctor_id]
    return one.json(), listed


@pytest.mark.parametrize("role", ["patient", "doctor", "staff"])
def test_a_doctor_outside_ones_reach_is_read_without_email_or_reasons(doctors, role):
    """The Chilean patient, the Chilean doctor and Chile's staff read the Peruvian doctor."""
    for body in shown(doctors[role], "d-pe"):
        assert "email" not in body and "d-pe@example.com" not in str(body)
        assert "chemotherapy" not in str(body)
        assert set(body) >= PUBLIC
        assert body["name"] == "Dr. pe" and body["availableTimes"]
        # The blocked time itself stays visible (what availability leaves out), not why.
        assert [set(period) for period in body["unavailable"]] == [{"start", "end"}]


def test_a_patient_reads_its_own_countrys_doctor_without_email_or_reasons(doctors):
    for body in shown(doctors["patient"], "d-cl"):
        assert "email" not in body
        assert "reason" not in body["unavailable"][0]


@pytest.mark.parametrize(
    ("role", "doctor_id"), [("admin", "d-pe"), ("admin", "d-cl"), ("staff", "d-cl"), ("doctor", "d-cl")]
)
def test_admins_the_doctors_staff_and_the_doctor_itself_read_everything(doctors, role, doctor_id):
    for body in shown(doctors[role], doctor_id):
        assert body["email"] == f"{doctor_id}@example.com"
        assert body["unavailable"][0]["reason"] == "chemotherapy"


def test_a_patients_booking_in_a_blocked_period_does_not_quote_its_reason(doctors):
    response = book(doctors["patient"], at=doctors["blocked_at"], patient="p-cl", doctor="d-cl")
    assert response.status_code == 400, response.content
    (message,) = response.json()["appointmentDate"]
    assert "unavailable" in message
    assert "chemotherapy" not in message
