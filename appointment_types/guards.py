"""What appointment types refuses to let countries delete: a country that still has types.
Registered into the country's delete guards in AppointmentTypesConfig.ready."""

from appointment_types.selectors import appointment_type_exists_in_country
from countries.services import country_delete_guards


def country_delete_guard(country_id: str) -> str | None:
    if appointment_type_exists_in_country(country_id=country_id):
        return f"Country '{country_id}' still has appointment types; delete them first."
    return None


def register() -> None:
    """Once per process (AppointmentTypesConfig.ready); a second call adds nothing."""
    if country_delete_guard not in country_delete_guards:
        country_delete_guards.append(country_delete_guard)
