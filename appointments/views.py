from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from appointments import selectors, services
from appointments.models import Appointment
from appointments.serializers import (
    AppointmentCreateSerializer,
    AppointmentListParams,
    AppointmentSerializer,
    AppointmentUpdateSerializer,
    AvailabilityParams,
)
from doctors.views import DoctorViewSet
from scheduler.api.views import AuditedView, RecordSchema, RecordViewSet
from scheduler.exceptions import InvalidInput
from scheduler.security.permissions import ALL, LIST, READ, UPDATE, OneOf, Own, Unchanged, can_see, denied
from scheduler.security.roles import ADMIN, DOCTOR, PATIENT, STAFF

_ID = RecordViewSet.lookup_value_regex


class AppointmentViewSet(RecordViewSet):
    """Appointments: atomic booking, rescheduling, the lifecycle, and agendas by doctor, patient, country.

    DELETE cancels the appointment: it frees the time at once and the record stays, with state "cancelled"."""

    access_kind = "appointment"
    role_actions = {ADMIN: ALL, STAFF: ALL, DOCTOR: frozenset({LIST, READ, UPDATE}), PATIENT: ALL}
    list_actions = frozenset({"by_country", "by_doctor", "by_patient", "by_country_and_doctor"})
    owner_fields = {DOCTOR: "doctor_id", PATIENT: "patient_id"}
    role_fields = {
        PATIENT: {
            "patient_id": Own("A patient books only for itself: use your own patientId."),
            "state": OneOf(
                frozenset({"cancelled"}), "A patient may only cancel an appointment; the clinic sets other states."
            ),
        },
        DOCTOR: {
            "state": OneOf(
                frozenset({"completed", "no_show"}), "A doctor may mark its appointments completed or no_show only."
            ),
            "*": Unchanged("A doctor may only set the state of its appointments."),
        },
    }
    # The doctor decides the appointment's country; the patient must be one of staff's own too. A
    # patient outside them reads as missing, so other countries cannot be probed.
    staff_references = {
        "doctor_id": lambda key: denied("doctorId", f"Doctor '{key}' practises outside your countries."),
        "patient_id": lambda key: InvalidInput("patientId", f"Patient '{key}' does not exist."),
    }
    audited_reads = True
    create_replays = True  # the same booking again is a 200 with the stored appointment (the schema says so)
    audit_scope_fields = ("patient_id", "doctor_id", "country_id")
    record_model = Appointment
    serializer_class = AppointmentSerializer
    input_serializer_classes = {"create": AppointmentCreateSerializer, "partial_update": AppointmentUpdateSerializer}
    list_params_class = AppointmentListParams
    lookup_field = "appointmentId"
    location_prefix = "/appointments"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_record(self, record_id):
        return selectors.appointment_get(appointment_id=record_id)

    def list_records(self, params):
        return selectors.appointment_list(**params)

    def create_record(self, data):
        def check_parties(doctor, patient) -> None:
            countries = {"doctor_id": doctor and doctor.country_id, "patient_id": patient and patient.country_id}
            self.check_references(data, countries)

        def may_see(stored) -> bool:
            # Another's booking under this id: the same 409 as a clash with one's own, recorded as
            # denied (the id is the client's own choice, so the 409 says nothing about that record).
            if can_see(self.request.user, self, stored):
                return True
            self.audit_denied(stored.appointment_id)
            return False

        return services.appointment_create(**data, check_parties=check_parties, may_see=may_see)

    def update_record(self, record_id, data, *, if_match, replace, current):
        return services.appointment_update(appointment_id=record_id, changes=data, if_match=if_match, current=current)

    def delete_record(self, record_id, *, if_match, current):
        services.appointment_cancel(appointment_id=record_id, if_match=if_match, current=current)

    # The original service's routes: the same listing, with ids in the path.
    @action(detail=False, url_path=rf"country/(?P<country_id>{_ID})")
    def by_country(self, request: Request, country_id: str) -> Response:
        return self.list_response(request, country_id=country_id)

    @action(detail=False, url_path=rf"doctor/(?P<doctor_id>{_ID})")
    def by_doctor(self, request: Request, doctor_id: str) -> Response:
        return self.list_response(request, doctor_id=doctor_id)

    @action(detail=False, url_path=rf"country/(?P<country_id>{_ID})/doctor/(?P<doctor_id>{_ID})")
    def by_country_and_doctor(self, request: Request, country_id: str, doctor_id: str) -> Response:
        return self.list_response(request, country_id=country_id, doctor_id=doctor_id)

    @action(detail=False, url_path=rf"patient/(?P<patient_id>{_ID})")
    def by_patient(self, request: Request, patient_id: str) -> Response:
        return self.list_response(request, patient_id=patient_id)


class DoctorAvailabilityViewSet(AuditedView, viewsets.GenericViewSet):
    """A doctor's free slots, on the doctors' route (registered on the `doctors` prefix beside
    DoctorViewSet): appointments knows the bookings, so it serves them, and doctors stays below it."""

    # Read like the doctor itself: the doctors' own access rules, on this one read route.
    access_kind = DoctorViewSet.access_kind
    role_actions = DoctorViewSet.role_actions
    directory = DoctorViewSet.directory
    read_actions = frozenset({"availability"})
    lookup_field = "doctorId"
    lookup_value_regex = RecordViewSet.lookup_value_regex
    schema = RecordSchema()

    @extend_schema(
        parameters=[
            OpenApiParameter("from", str, required=True, description="First local day, e.g. 2026-12-01"),
            OpenApiParameter("to", str, required=True, description="Last local day (at most 31 days)"),
            OpenApiParameter(
                "appointmentTypeId",
                str,
                required=False,
                description="One of the doctor's active types: the starts a booking of it would be accepted at, "
                "each with end = start + its duration, its buffers kept free around it.",
            ),
        ],
        responses=inline_serializer(
            "Availability",
            {
                "doctorId": serializers.CharField(),
                "timeZone": serializers.CharField(),
                "slotMinutes": serializers.IntegerField(),
                "appointmentTypeId": serializers.CharField(required=False, help_text="Given only with the parameter."),
                "durationMinutes": serializers.IntegerField(
                    required=False, help_text="The type's duration; given only with appointmentTypeId."
                ),
                "slots": serializers.ListField(child=serializers.DictField()),
            },
        ),
    )
    @action(detail=True)
    def availability(self, request, doctorId: str):
        """Free slots on the doctor's grid between two local days."""
        params = AvailabilityParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        return Response(selectors.doctor_availability(doctor_id=doctorId, **params.validated_data))
