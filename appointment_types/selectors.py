from appointment_types.models import AppointmentType
from scheduler.db import Page, batch_get, paginate
from scheduler.exceptions import NotFound


def appointment_type_get(*, appointment_type_id: str) -> AppointmentType:
    try:
        return AppointmentType.get(appointment_type_id)
    except AppointmentType.DoesNotExist:
        raise NotFound(f"Appointment type '{appointment_type_id}' not found.") from None


def appointment_type_list(*, limit: int, cursor: str | None, country_id: str | None = None) -> Page:
    """One Query on byCountry per page; without a country, the admin listing (a paginated Scan)."""
    if country_id:
        return paginate(
            AppointmentType.by_country.query,
            hash_key=country_id,
            limit=limit,
            cursor=cursor,
            scope=f"country:{country_id}",
        )
    return paginate(AppointmentType.scan, limit=limit, cursor=cursor, scope="all")


def appointment_types_found(*, appointment_type_ids: list[str]) -> dict[str, AppointmentType]:
    """The types of these ids that exist, by id: one BatchGetItem (none for no ids)."""
    if not appointment_type_ids:
        return {}
    found = batch_get([(AppointmentType, type_id) for type_id in appointment_type_ids])
    return {item.appointment_type_id: item for item in found if item is not None}


def appointment_type_exists_in_country(*, country_id: str) -> bool:
    return any(True for _ in AppointmentType.by_country.query(country_id, limit=1))


def type_minutes(appointment_type: AppointmentType) -> tuple[int, int, int]:
    """(duration, buffer before, buffer after). A NumberAttribute is a float to PynamoDB's types; these
    are only ever written from integers, and whole numbers load as int, so int() changes nothing."""
    return (
        int(appointment_type.duration_minutes),
        int(appointment_type.buffer_before_minutes or 0),
        int(appointment_type.buffer_after_minutes or 0),
    )
