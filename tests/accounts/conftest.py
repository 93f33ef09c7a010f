from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.appointments.conftest import next_local, z
from tests.conftest import signed_in

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
