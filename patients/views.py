from patients import selectors, services
from patients.models import Patient
from patients.serializers import PatientListParams, PatientSerializer
from scheduler.api.views import RecordViewSet
from scheduler.security.permissions import ALL, READ, UPDATE, Unchanged
from scheduler.security.roles import ADMIN, PATIENT, STAFF


class PatientViewSet(RecordViewSet):
    """Patients: contact details and country."""

    access_kind = "patient"
    role_actions = {ADMIN: ALL, STAFF: ALL, PATIENT: frozenset({READ, UPDATE})}
    owner_fields = {PATIENT: "patient_id"}
    role_fields = {PATIENT: {"country_id": Unchanged("A patient cannot move its profile to another country.")}}
    audited_reads = True
    record_model = Patient
    serializer_class = PatientSerializer
    list_params_class = PatientListParams
    lookup_field = "patientId"
    location_prefix = "/patients"

    def get_record(self, record_id):
        return selectors.patient_get(patient_id=record_id)

    def list_records(self, params):
        return selectors.patient_list(**params)

    def create_record(self, data):
        return services.patient_create(**data)

    def update_record(self, record_id, data, *, if_match, replace, current):
        return services.patient_update(
            patient_id=record_id, changes=data, if_match=if_match, replace=replace, current=current
        )

    def delete_record(self, record_id, *, if_match, current):
        services.patient_delete(patient_id=record_id, if_match=if_match, current=current)
