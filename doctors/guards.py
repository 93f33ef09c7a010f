"""What doctors refuses to let the apps below it delete: a country that still has doctors, an
appointment type a doctor offers. Registered into their delete guards in DoctorsConfig.ready, so that
countries and appointment_types never import doctors."""

from appointment_types.selectors import appointment_type_get
from appointment_types.services import appointment_type_delete_guards
from countries.services import country_delete_guards
from doctors.selectors import doctor_exists_in_country, doctors_offering


def country_delete_guard(country_id: str) -> str | None:
    if doctor_exists_in_country(country_id=country_id):
        return f"Country '{country_id}' still has doctors; delete or move them first."
    return None


def appointment_type_delete_guard(appointment_type_id: str) -> str | None:
    appointment_type = appointment_type_get(appointment_type_id=appointment_type_id)
    offering = doctors_offering(country_id=appointment_type.country_id, appointment_type_id=appointment_type_id)
    if offering:
        shown = ", ".join(offering[:5]) + (", …" if len(offering) > 5 else "")
        return (
            f"Appointment type '{appointment_type_id}' is offered by doctors ({shown}); take it off their "
            "appointmentTypeIds first, or set active to false to retire it."
        )
    return None


def register() -> None:
    """Once per process (DoctorsConfig.ready); a second call adds nothing."""
    for guards, guard in (
        (country_delete_guards, country_delete_guard),
        (appointment_type_delete_guards, appointment_type_delete_guard),
    ):
        if guard not in guards:
            guards.append(guard)
