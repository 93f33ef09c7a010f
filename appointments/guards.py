"""What appointments refuses to let the apps below it delete: a doctor or a patient with upcoming
appointments. Registered into their delete guards in AppointmentsConfig.ready, so that doctors and
patients never import appointments."""

from appointments.selectors import doctor_has_upcoming, patient_has_upcoming
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


def register() -> None:
    """Once per process (AppointmentsConfig.ready); a second call adds nothing."""
    for guards, guard in ((doctor_delete_guards, doctor_delete_guard), (patient_delete_guards, patient_delete_guard)):
        if guard not in guards:
            guards.append(guard)
