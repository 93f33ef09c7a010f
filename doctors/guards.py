"""What doctors refuses to let countries delete: a country that still has doctors. Registered into
the country's delete guards in DoctorsConfig.ready, so that countries never imports doctors."""

from countries.services import country_delete_guards
from doctors.selectors import doctor_exists_in_country


def country_delete_guard(country_id: str) -> str | None:
    if doctor_exists_in_country(country_id=country_id):
        return f"Country '{country_id}' still has doctors; delete or move them first."
    return None


def register() -> None:
    """Once per process (DoctorsConfig.ready); a second call adds nothing."""
    if country_delete_guard not in country_delete_guards:
        country_delete_guards.append(country_delete_guard)
