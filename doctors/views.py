from doctors import selectors, services
from doctors.models import Doctor
from doctors.serializers import DoctorListParams, DoctorSerializer
from scheduler.api.views import RecordViewSet
from scheduler.security.permissions import ALL, LIST, READ
from scheduler.security.roles import ADMIN, DOCTOR, PATIENT, STAFF


class DoctorViewSet(RecordViewSet):
    """Doctors: speciality, country, weekly schedule, slot length and blocked periods."""

    # GET /doctors/{doctorId}/availability is served by appointments.views.DoctorAvailabilityViewSet.

    access_kind = "doctor"
    role_actions = {ADMIN: ALL, STAFF: ALL, DOCTOR: frozenset({LIST, READ}), PATIENT: frozenset({LIST, READ})}
    directory = True  # every signed-in user may read every doctor
    owner_fields = {DOCTOR: "doctor_id"}  # a doctor reads its own record whole (see private_fields)
    # Contact details and why a period is blocked (often medical) are for those who may change the
    # doctor and the doctor itself; patients and other doctors read the schedule, not the reasons.
    private_fields = ("email", "unavailable.reason")
    record_model = Doctor
    serializer_class = DoctorSerializer
    list_params_class = DoctorListParams
    lookup_field = "doctorId"
    location_prefix = "/doctors"

    def get_record(self, record_id):
        return selectors.doctor_get(doctor_id=record_id)

    def list_records(self, params):
        return selectors.doctor_list(**params)

    def create_record(self, data):
        return services.doctor_create(**data)

    def update_record(self, record_id, data, *, if_match, replace, current):
        return services.doctor_update(
            doctor_id=record_id, changes=data, if_match=if_match, replace=replace, current=current
        )

    def delete_record(self, record_id, *, if_match, current):
        services.doctor_delete(doctor_id=record_id, if_match=if_match, current=current)
