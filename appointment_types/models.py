from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from scheduler.db import RecordModel, register, table_meta


class ByCountryIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "byCountry"
        projection = AllProjection()

    country_id = UnicodeAttribute(hash_key=True, attr_name="countryId")
    appointment_type_id = UnicodeAttribute(range_key=True, attr_name="appointmentTypeId")


@register
class AppointmentType(RecordModel):
    """What a country's doctors offer: a first visit, a follow-up, a procedure, each with its length
    and the time the doctor needs before and after it. A booking copies these values (appointments
    keep them as booked), so editing a type changes no appointment."""

    class Meta(table_meta("appointment_types")):
        pass

    appointment_type_id = UnicodeAttribute(hash_key=True, attr_name="appointmentTypeId")
    country_id = UnicodeAttribute(attr_name="countryId")
    name = UnicodeAttribute()
    duration_minutes = NumberAttribute(attr_name="durationMinutes")
    buffer_before_minutes = NumberAttribute(attr_name="bufferBeforeMinutes", default=0)
    buffer_after_minutes = NumberAttribute(attr_name="bufferAfterMinutes", default=0)
    active = BooleanAttribute(default=True)

    by_country = ByCountryIndex()
