from doctors.models import Doctor
from scheduler.db import Page, paginate
from scheduler.exceptions import NotFound


def doctor_get(*, doctor_id: str) -> Doctor:
    try:
        return Doctor.get(doctor_id)
    except Doctor.DoesNotExist:
        raise NotFound(f"Doctor '{doctor_id}' not found.") from None


def doctor_list(
    *, limit: int, cursor: str | None, country_id: str | None = None, speciality: str | None = None
) -> Page:
    """One Query on byCountry per page; without a country, the admin listing (a paginated Scan).
    A speciality filter can make a page shorter than `limit`; follow `next` for the rest."""
    condition = Doctor.speciality_key == speciality.strip().lower() if speciality else None
    scope = f"speciality:{condition is not None and speciality.strip().lower()}"
    if country_id:
        return paginate(
            Doctor.by_country.query,
            hash_key=country_id,
            filter_condition=condition,
            limit=limit,
            cursor=cursor,
            scope=f"country:{country_id}|{scope}",
        )
    return paginate(Doctor.scan, filter_condition=condition, limit=limit, cursor=cursor, scope=f"all|{scope}")


def doctor_exists_in_country(*, country_id: str) -> bool:
    return any(True for _ in Doctor.by_country.query(country_id, limit=1))
