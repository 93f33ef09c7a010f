from patients import selectors, services
from patients.models import Patient
from patients.serializers import PatientListParams, PatientSerializer
from scheduler.api.views import RecordViewSet


class PatientViewSet(RecordViewSet):
    """Patients: contact details and country."""

    access_kind = "patient"
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
