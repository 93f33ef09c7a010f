from pynamodb.attributes import BooleanAttribute, ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from scheduler.db import RecordModel, register, table_meta

# Every country item carries this constant so that one GSI lists them all without a Scan.
COUNTRY_LIST_KEY = "country"


class CodeIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "code"
        projection = AllProjection()

    code = UnicodeAttribute(hash_key=True)


class ListIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "all"
        projection = AllProjection()

    list_key = UnicodeAttribute(hash_key=True, attr_name="listKey")
    country_id = UnicodeAttribute(range_key=True, attr_name="countryId")


class Closure(MapAttribute):
    """A day the country's clinics are closed besides its public holidays: a local date and why."""

    date = UnicodeAttribute()  # YYYY-MM-DD
    name = UnicodeAttribute()


@register
class Country(RecordModel):
    class Meta(table_meta("countries")):
        pass

    country_id = UnicodeAttribute(hash_key=True, attr_name="countryId")
    name = UnicodeAttribute()
    code = UnicodeAttribute()
    time_zone = UnicodeAttribute(attr_name="timeZone")
    min_notice_minutes = NumberAttribute(attr_name="minNoticeMinutes", default=60)
    max_advance_days = NumberAttribute(attr_name="maxAdvanceDays", default=180)
    cancellation_cutoff_minutes = NumberAttribute(attr_name="cancellationCutoffMinutes", default=0)
    # PynamoDB types `of` as the element's Python type, not its attribute class (PynamoDB issue #1246).
    reminder_offsets_minutes = ListAttribute[float](of=NumberAttribute, attr_name="reminderOffsetsMinutes")  # type: ignore[arg-type]
    # Absent on countries stored before holidays were known: those observe them
    # (countries.selectors.country_observes_holidays).
    observes_holidays = BooleanAttribute(attr_name="observesHolidays", null=True)
    closures = ListAttribute(of=Closure, default=list)
    list_key = UnicodeAttribute(attr_name="listKey", default=COUNTRY_LIST_KEY)

    by_code = CodeIndex()
    by_list = ListIndex()
