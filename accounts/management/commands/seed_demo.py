"""A small demo clinic network: countries, doctors with schedules, patients, a week of appointments,
and on the local stage one user per role. Safe to run again: what exists is kept."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts import services as accounts
from appointment_types import services as appointment_types
from appointment_types.serializers import AppointmentTypeSerializer
from appointments import services as appointments
from appointments.serializers import AppointmentCreateSerializer
from countries import services as countries
from countries.serializers import CountrySerializer
from doctors import services as doctors
from doctors.serializers import DoctorSerializer
from patients import services as patients
from patients.serializers import PatientSerializer
from scheduler.exceptions import ApplicationError, Conflict

COUNTRIES = [
    {"countryId": "002", "name": "CHILE", "code": "CL", "minNoticeMinutes": 60},
    {"countryId": "604", "name": "PERU", "code": "PE"},
    {"countryId": "724", "name": "SPAIN", "code": "ES"},
]
TYPES = [
    {"appointmentTypeId": "demo-cl-first-visit", "countryId": "002", "name": "Primera consulta",
     "durationMinutes": 45, "bufferAfterMinutes": 15},
    {"appointmentTypeId": "demo-cl-follow-up", "countryId": "002", "name": "Control", "durationMinutes": 15},
    {"appointmentTypeId": "demo-es-visit", "countryId": "724", "name": "Consulta", "durationMinutes": 20,
     "bufferBeforeMinutes": 5, "bufferAfterMinutes": 5},
]  # fmt: skip
DOCTORS = [
    {"doctorId": "demo-lorea", "name": "Dr. Lorea", "speciality": "Estomatolog", "countryId": "002",
     "availableTimes": ["Monday 10am-4pm", "Wednesday 1pm-5pm", "Friday 9am-1pm"],
     "appointmentTypeIds": ["demo-cl-first-visit", "demo-cl-follow-up"]},
    {"doctorId": "demo-quispe", "name": "Dr. Quispe", "speciality": "Cardiology", "countryId": "604",
     "availableTimes": ["Tuesday 08:00-12:00", "Thursday 14:00-18:00"], "slotMinutes": 20},
    {"doctorId": "demo-garcia", "name": "Dra. García", "speciality": "General practice", "countryId": "724",
     "availableTimes": ["Mon 09:00-14:00", "Tue 09:00-14:00", "Wed 09:00-14:00", "Thu 09:00-14:00"],
     "appointmentTypeIds": ["demo-es-visit"], "subdivision": "MD"},
    {"doctorId": "demo-puig", "name": "Dr. Puig", "speciality": "General practice", "countryId": "724",
     "availableTimes": ["Mon 09:00-14:00", "Wed 15:00-19:00"], "subdivision": "CT",
     "appointmentTypeIds": ["demo-es-visit"]},
]  # fmt: skip
PATIENTS = [
    {"patientId": "demo-ana", "name": "Ana Pérez", "countryId": "002", "email": "ana@example.com"},
    {"patientId": "demo-jorge", "name": "Jorge Moros", "countryId": "002", "phoneNumber": "+56 9 1234 5678"},
    {"patientId": "demo-rosa", "name": "Rosa Huamán", "countryId": "604", "email": "rosa@example.com"},
    {"patientId": "demo-lucia", "name": "Lucía Martín", "countryId": "724", "birthDate": "1980-04-02"},
]
USERS = [
    {"username": "demo-staff-cl", "role": "staff", "country_ids": ["002"]},
    {"username": "demo-doctor", "role": "doctor", "doctor_id": "demo-lorea"},
    {"username": "demo-patient", "role": "patient", "patient_id": "demo-ana"},
]
DEMO_PASSWORD = "demo passphrase 2026"  # noqa: S105 - local stage only (see handle)


class Command(BaseCommand):
    help = (
        "Create a demo clinic network: 3 countries, 3 appointment types, 4 doctors (one in Madrid, one in "
        "Catalonia: their regional holidays differ) with weekly schedules, "
        "4 patients and a week of appointments (and, on the local stage, a staff, a doctor and a patient user). "
        "Run it again at will: what exists is kept."
    )

    def handle(self, *args, **options):
        self.counts = {"created": 0, "kept": 0}
        for body in COUNTRIES:
            self._make("country", body["countryId"], CountrySerializer, body, countries.country_create)
        for body in TYPES:
            self._make(
                "appointment type",
                body["appointmentTypeId"],
                AppointmentTypeSerializer,
                body,
                appointment_types.appointment_type_create,
            )
        for body in DOCTORS:
            self._make("doctor", body["doctorId"], DoctorSerializer, body, doctors.doctor_create)
        for body in PATIENTS:
            self._make("patient", body["patientId"], PatientSerializer, body, patients.patient_create)
        self._week_of_appointments()
        if settings.IS_LOCAL:
            for user in USERS:
                try:
                    accounts.user_create(password=DEMO_PASSWORD, **user)
                    self._report("created", f"user {user['username']} ({user['role']})")
                except Conflict:
                    self._report("kept", f"user {user['username']}")
        self.stdout.write(
            self.style.SUCCESS(f"seed_demo done: {self.counts['created']} created, {self.counts['kept']} kept")
        )
        if settings.IS_LOCAL:
            self.stdout.write(
                f"Sign in at /auth/login (or POST /auth/token) as the admin make run printed, or as "
                f"{', '.join(u['username'] for u in USERS)} with the password '{DEMO_PASSWORD}'."
            )

    def _report(self, outcome: str, what: str) -> None:
        self.counts[outcome] += 1
        self.stdout.write(f"{outcome:>8}  {what}")

    def _make(self, kind, record_id, serializer_class, body, create) -> None:
        serializer = serializer_class(data=body)
        serializer.is_valid(raise_exception=True)
        try:
            create(**serializer.validated_data)
            self._report("created", f"{kind} {record_id}")
        except Conflict:
            self._report("kept", f"{kind} {record_id}")

    def _week_of_appointments(self) -> None:
        """Two bookings a day per doctor over the next 7 days, at the first free times (of the doctor's
        first appointment type, if it offers any)."""
        from appointments.selectors import doctor_availability

        for doctor in DOCTORS:
            zone_patients = [p["patientId"] for p in PATIENTS if p["countryId"] == doctor["countryId"]]
            first = (datetime.now(ZoneInfo("UTC")) + timedelta(days=1)).date()
            type_id = (doctor.get("appointmentTypeIds") or [None])[0]
            slots = doctor_availability(
                doctor_id=doctor["doctorId"],
                first_day=first,
                last_day=first + timedelta(6),
                appointment_type_id=type_id,
            )
            kind = next((t for t in TYPES if t["appointmentTypeId"] == type_id), {})
            gap = timedelta(minutes=kind.get("bufferAfterMinutes", 0) + kind.get("bufferBeforeMinutes", 0))
            by_day: dict[str, list[str]] = {}
            free_from: dict[str, datetime] = {}
            for slot in slots["slots"]:
                day, start = slot["start"][:10], datetime.fromisoformat(slot["start"])
                if day in free_from and start < free_from[day]:
                    continue  # the day's earlier booking (with its buffers) holds this start
                by_day.setdefault(day, []).append(slot["start"])
                free_from[day] = datetime.fromisoformat(slot["end"]) + gap
            starts = [start for day in sorted(by_day) for start in by_day[day][:2]]
            for index, start in enumerate(starts):
                appointment_id = f"{doctor['doctorId']}-{start[:10]}-{index % 2}"
                body = {
                    "appointmentId": appointment_id,
                    "doctorId": doctor["doctorId"],
                    "patientId": zone_patients[index % len(zone_patients)],
                    "appointmentDate": start,
                    **({"appointmentTypeId": type_id} if type_id else {}),
                }
                serializer = AppointmentCreateSerializer(data=body)
                serializer.is_valid(raise_exception=True)
                try:
                    _, created = appointments.appointment_create(**serializer.validated_data)
                    self._report("created" if created else "kept", f"appointment {appointment_id} at {start}")
                except ApplicationError as exc:  # taken meanwhile, or the same id booked another time
                    self._report("kept", f"appointment {appointment_id} ({exc.message})")
