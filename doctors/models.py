from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from scheduler.db import RecordModel, register, table_meta


class AvailableTime(MapAttribute):
    """One weekly window in the doctor's zone: day name, "HH:MM" start and end."""

    day = UnicodeAttribute()
    start = UnicodeAttribute()
    end = UnicodeAttribute()


class BlockedPeriod(MapAttribute):
    start = UTCDateTimeAttribute()
    end = UTCDateTimeAttribute()
    reason = UnicodeAttribute(null=True)


class ByCountryIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "byCountry"
        projection = AllProjection()

    country_id = UnicodeAttribute(hash_key=True, attr_name="countryId")
    doctor_id = UnicodeAttribute(range_key=True, attr_name="doctorId")


@register
class Doctor(RecordModel):
    class Meta(table_meta("doctors")):
        pass

    doctor_id = UnicodeAttribute(hash_key=True, attr_name="doctorId")
    name = UnicodeAttribute()
    speciality = UnicodeAttribute()
    # Lower-cased speciality, so that a filter matches whatever the case of the query.
    speciality_key = UnicodeAttribute(attr_name="specialityKey")
    country_id = UnicodeAttribute(attr_name="countryId")
    time_zone = UnicodeAttribute(attr_name="timeZone")
    slot_minutes = NumberAttribute(attr_name="slotMinutes", default=30)
    available_times = ListAttribute(of=AvailableTime, attr_name="availableTimes")
    unavailable = ListAttribute(of=BlockedPeriod, default=list)
    email = UnicodeAttribute(null=True)
    # The appointment types (of the doctor's country) it offers; none on doctors made before types.
    # PynamoDB types `of` as the element's Python type, not its attribute class (PynamoDB issue #1246).
    appointment_type_ids = ListAttribute[str](of=UnicodeAttribute, attr_name="appointmentTypeIds", default=list)  # type: ignore[arg-type]
    # ISO 3166-2 code without the country part ("MD"): its public holidays close the doctor too.
    subdivision = UnicodeAttribute(null=True)
    works_on_holidays = BooleanAttribute(attr_name="worksOnHolidays", default=False)

    by_country = ByCountryIndex()
