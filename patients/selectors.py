from patients.models import Patient
from scheduler.db import Page, paginate
from scheduler.exceptions import NotFound


def patient_get(*, patient_id: str) -> Patient:
    try:
        return Patient.get(patient_id)
    except Patient.DoesNotExist:
        raise NotFound(f"Patient '{patient_id}' not found.") from None


def patient_list(*, limit: int, cursor: str | None, country_id: str | None = None) -> Page:
    """One Query on byCountry per page; without a country, the admin listing (a paginated Scan)."""
    if country_id:
        return paginate(
            Patient.by_country.query, hash_key=country_id, limit=limit, cursor=cursor, scope=f"country:{country_id}"
        )
    return paginate(Patient.scan, limit=limit, cursor=cursor, scope="all")


def patient_exists_in_country(*, country_id: str) -> bool:
    return any(True for _ in Patient.by_country.query(country_id, limit=1))
