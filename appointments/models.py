from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from scheduler.db import RecordModel, register, table_meta

PENDING, SCHEDULED, COMPLETED, NO_SHOW, CANCELLED = "pending", "scheduled", "completed", "no_show", "cancelled"
STATES = (PENDING, SCHEDULED, COMPLETED, NO_SHOW, CANCELLED)
ACTIVE_STATES = (PENDING, SCHEDULED)  # the ones that hold the doctor's and patient's time
# The lifecycle: state → the states it may move to.
TRANSITIONS = {PENDING: {SCHEDULED, CANCELLED}, SCHEDULED: {COMPLETED, NO_SHOW, CANCELLED}}


def _by(index: str, hash_attr: str, hash_name: str) -> type[GlobalSecondaryIndex]:
    """A GSI on (`hash_attr`, appointmentDate): one agenda ordered by time."""
    meta = type("Meta", (), {"index_name": index, "projection": AllProjection()})
    return type(
        f"{index}Index",
        (GlobalSecondaryIndex,),
        {
            "Meta": meta,
            hash_name: UnicodeAttribute(hash_key=True, attr_name=hash_attr),
            "appointment_date": UTCDateTimeAttribute(range_key=True, attr_name="appointmentDate"),
        },
    )


class ByStateIndex(GlobalSecondaryIndex):
    """Sparse: only appointments that are still pending carry `pendingKey`."""

    class Meta:
        index_name = "byState"
        projection = AllProjection()

    pending_key = UnicodeAttribute(hash_key=True, attr_name="pendingKey")
    updated_at = UTCDateTimeAttribute(range_key=True, attr_name="updatedAt")


@register
class Appointment(RecordModel):
    class Meta(table_meta("appointments")):
        pass

    appointment_id = UnicodeAttribute(hash_key=True, attr_name="appointmentId")
    patient_id = UnicodeAttribute(attr_name="patientId")
    doctor_id = UnicodeAttribute(attr_name="doctorId")
    country_id = UnicodeAttribute(attr_name="countryId")
    appointment_date = UTCDateTimeAttribute(attr_name="appointmentDate")
    end_date = UTCDateTimeAttribute(attr_name="endDate")
    duration_minutes = NumberAttribute(attr_name="durationMinutes")
    state = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    # The lock items this appointment holds in the slots table (freed on cancel and reschedule).
    lock_keys = ListAttribute(of=UnicodeAttribute, attr_name="lockKeys", default=list)
    pending_key = UnicodeAttribute(null=True, attr_name="pendingKey")

    by_doctor = _by("byDoctor", "doctorId", "doctor_id")()
    by_patient = _by("byPatient", "patientId", "patient_id")()
    by_country = _by("byCountry", "countryId", "country_id")()
    by_state = ByStateIndex()

    def set_state(self, state: str) -> None:
        self.state = state
        self.pending_key = PENDING if state == PENDING else None
