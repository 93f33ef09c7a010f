"""What appointments refuses to let the apps below it delete: a doctor, a patient or an appointment
type with upcoming appointments. Registered into their delete guards in AppointmentsConfig.ready, so that doctors and
patients never import appointments."""

from appointment_types.services import appointment_type_delete_guards
from appointments.selectors import appointment_type_has_upcoming, doctor_has_upcoming, patient_has_upcoming
from doctors.services import doctor_delete_guards
from patients.services import patient_delete_guards


def doctor_delete_guard(doctor_id: str) -> str | None:
    if doctor_has_upcoming(doctor_id=doctor_id):
        return f"Doctor '{doctor_id}' has upcoming appointments; cancel or move them first."
    return None


def patient_delete_guard(patient_id: str) -> str | None:
    if patient_has_upcoming(patient_id=patient_id):
        return f"Patient '{patient_id}' has upcoming appointments; cancel them first."
    return None


def appointment_type_delete_guard(appointment_type_id: str) -> str | None:
    if appointment_type_has_upcoming(appointment_type_id=appointment_type_id):
        return (
            f"Appointment type '{appointment_type_id}' is used by upcoming appointments; "
            "set active to false to retire it instead."
        )
    return None


def register() -> None:
    """Once per process (AppointmentsConfig.ready); a second call adds nothing."""
    for guards, guard in (
        (doctor_delete_guards, doctor_delete_guard),
        (patient_delete_guards, patient_delete_guard),
        (appointment_type_delete_guards, appointment_type_delete_guard),
    ):
        if guard not in guards:
            guards.append(guard)
