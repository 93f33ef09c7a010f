"""A doctor's day as a table, in the doctor's time zone."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandError

from appointments.models import Appointment
from doctors.selectors import doctor_get
from scheduler.exceptions import NotFound


class Command(BaseCommand):
    help = "Print a doctor's appointments of one day (default: today in the doctor's time zone) as a table."

    def add_arguments(self, parser):
        parser.add_argument("--doctor", required=True, help="The doctorId.")
        parser.add_argument("--date", type=date.fromisoformat, help="The day, YYYY-MM-DD, in the doctor's zone.")

    def handle(self, *args, doctor: str, date: date | None, **options):
        try:
            record = doctor_get(doctor_id=doctor)
        except NotFound as exc:
            raise CommandError(exc.message) from None
        zone = ZoneInfo(record.time_zone)
        day = date or datetime.now(zone).date()
        start = datetime.combine(day, time(), zone).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)
        rows = Appointment.by_doctor.query(
            doctor, range_key_condition=Appointment.appointment_date.between(start, end - timedelta(microseconds=1))
        )
        self.stdout.write(f"{record.name} ({doctor}), {day:%A %Y-%m-%d}, times in {record.time_zone}")
        header = f"{'time':<13} {'state':<10} {'type (doctor held)':<34} {'patient':<20} appointment"
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        count = 0
        for appointment in rows:
            begins = appointment.appointment_date.astimezone(zone)
            ends = appointment.end_date.astimezone(zone)
            when = f"{begins:%H:%M}-{ends:%H:%M}"
            kind = appointment.appointment_type_id or "-"
            if any(appointment.buffers()):
                held_start, held_end = (moment.astimezone(zone) for moment in appointment.doctor_span())
                kind += f" ({held_start:%H:%M}-{held_end:%H:%M})"
            self.stdout.write(
                f"{when:<13} {appointment.state:<10} {kind:<34} {appointment.patient_id:<20} "
                f"{appointment.appointment_id}"
            )
            count += 1
        self.stdout.write(f"{count} appointment{'s' if count != 1 else ''}" if count else "no appointments")
