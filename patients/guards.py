"""What patients refuses to let countries delete: a country that still has patients. Registered into
the country's delete guards in PatientsConfig.ready, so that countries never imports patients."""

from countries.services import country_delete_guards
from patients.selectors import patient_exists_in_country


def country_delete_guard(country_id: str) -> str | None:
    if patient_exists_in_country(country_id=country_id):
        return f"Country '{country_id}' still has patients; delete or move them first."
    return None


def register() -> None:
    """Once per process (PatientsConfig.ready); a second call adds nothing."""
    if country_delete_guard not in country_delete_guards:
        country_delete_guards.append(country_delete_guard)
