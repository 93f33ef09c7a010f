from appointment_types import selectors, services
from appointment_types.models import AppointmentType
from appointment_types.serializers import AppointmentTypeListParams, AppointmentTypeSerializer
from scheduler.api.views import RecordViewSet
from scheduler.security.permissions import ALL, LIST, READ
from scheduler.security.roles import ADMIN, DOCTOR, PATIENT, STAFF


class AppointmentTypeViewSet(RecordViewSet):
    """Appointment types: a country's kinds of visit, each with its duration and the doctor's buffers.

    DELETE is refused (409 `in_use`) while a doctor offers the type or an upcoming appointment uses it:
    set `active: false` to retire it."""

    access_kind = "appointment type"
    role_actions = {ADMIN: ALL, STAFF: ALL, DOCTOR: frozenset({LIST, READ}), PATIENT: frozenset({LIST, READ})}
    directory = True  # whoever may read doctors may read the types they offer
    record_model = AppointmentType
    serializer_class = AppointmentTypeSerializer
    list_params_class = AppointmentTypeListParams
    lookup_field = "appointmentTypeId"
    location_prefix = "/appointment-types"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_record(self, record_id):
        return selectors.appointment_type_get(appointment_type_id=record_id)

    def list_records(self, params):
        return selectors.appointment_type_list(**params)

    def create_record(self, data):
        return services.appointment_type_create(**data)

    def update_record(self, record_id, data, *, if_match, replace, current):
        return services.appointment_type_update(
            appointment_type_id=record_id, changes=data, if_match=if_match, replace=replace, current=current
        )

    def delete_record(self, record_id, *, if_match, current):
        services.appointment_type_delete(appointment_type_id=record_id, if_match=if_match, current=current)
