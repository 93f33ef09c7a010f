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
from scheduler.api.views import AuditedView, RecordSchema, RecordViewSet

_ID = RecordViewSet.lookup_value_regex


class AppointmentViewSet(RecordViewSet):
    """Appointments: atomic booking, rescheduling, the lifecycle, and agendas by doctor, patient, country.

    DELETE cancels the appointment: it frees the time at once and the record stays, with state "cancelled"."""

    access_kind = "appointment"
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
        return services.appointment_create(**data)

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

    access_kind = "doctor"  # read like the doctor itself: every signed-in role may
    lookup_field = "doctorId"
    lookup_value_regex = RecordViewSet.lookup_value_regex
    schema = RecordSchema()

    @extend_schema(
        parameters=[
            OpenApiParameter("from", str, required=True, description="First local day, e.g. 2026-12-01"),
            OpenApiParameter("to", str, required=True, description="Last local day (at most 31 days)"),
        ],
        responses=inline_serializer(
            "Availability",
            {
                "doctorId": serializers.CharField(),
                "timeZone": serializers.CharField(),
                "slotMinutes": serializers.IntegerField(),
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
