"""The management commands a person reaches for: seed_demo and agenda."""

import io
import re
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from appointments.models import Appointment
from tests.helpers import signed_in


def run(*args, **options) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


def test_seed_demo_makes_a_clinic_network_and_can_run_again(empty_tables):
    first = run("seed_demo")
    made = int(re.search(r"seed_demo done: (\d+) created", first).group(1))
    assert made >= 3 + 3 + 4 + 4 + 3 + 10  # countries, types, doctors, patients, users, a week of bookings
    assert "created  country 002" in first and "created  user demo-patient (patient)" in first
    assert "created  appointment type demo-cl-first-visit" in first
    assert "Sign in at /auth/login" in first
    booked = {a.appointment_id for a in Appointment.scan()}
    assert len(booked) >= 10
    again = run("seed_demo")
    assert "seed_demo done: 0 created" in again
    assert {a.appointment_id for a in Appointment.scan()} == booked
    patient = signed_in("check-demo", "admin")
    assert patient.get("/doctors/demo-lorea").json()["timeZone"] == "America/Santiago"
    # Doctors that offer types were booked with their first one, its buffers kept.
    lorea = [a for a in Appointment.scan() if a.doctor_id == "demo-lorea"]
    assert lorea and all(a.appointment_type_id == "demo-cl-first-visit" and a.buffers() == (0, 15) for a in lorea)
    assert all(a.appointment_type_id is None for a in Appointment.scan() if a.doctor_id == "demo-quispe")
    regions = {d: patient.get(f"/doctors/{d}").json()["subdivision"] for d in ("demo-garcia", "demo-puig")}
    assert regions == {"demo-garcia": "MD", "demo-puig": "CT"}


def test_agenda_prints_a_doctors_day_in_its_zone(empty_tables):
    run("seed_demo")
    first = min((a for a in Appointment.scan() if a.doctor_id == "demo-lorea"), key=lambda a: a.appointment_date)
    from zoneinfo import ZoneInfo

    local = first.appointment_date.astimezone(ZoneInfo("America/Santiago"))
    table = run("agenda", doctor="demo-lorea", date=local.date())
    assert f"{local:%A %Y-%m-%d}, times in America/Santiago" in table
    assert f"{local:%H:%M}-" in table and first.appointment_id in table and "pending" in table
    held_until = (first.end_date + timedelta(minutes=15)).astimezone(ZoneInfo("America/Santiago"))
    assert f"demo-cl-first-visit ({local:%H:%M}-{held_until:%H:%M})" in table  # the clean-up after it
    assert "no appointments" in run("agenda", doctor="demo-lorea", date=local.date().replace(year=2030))


def test_agenda_names_an_unknown_doctor(empty_tables):
    with pytest.raises(CommandError, match="Doctor 'nobody' not found"):
        run("agenda", doctor="nobody")
