from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from appointments.selectors import doctor_availability
from appointments.serializers import AvailabilityParams
from doctors import selectors, services
from doctors.models import Doctor
from doctors.serializers import DoctorListParams, DoctorSerializer
from scheduler.api.views import RecordViewSet
from scheduler.security.permissions import ALL, LIST, READ
from scheduler.security.roles import ADMIN, DOCTOR, PATIENT, STAFF


class DoctorViewSet(RecordViewSet):
    """Doctors: speciality, country, weekly schedule, slot length and blocked periods."""

    access_kind = "doctor"
    role_actions = {ADMIN: ALL, STAFF: ALL, DOCTOR: frozenset({LIST, READ}), PATIENT: frozenset({LIST, READ})}
    read_actions = frozenset({"availability"})
    directory = True  # every signed-in user may read every doctor
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
        return Response(doctor_availability(doctor_id=doctorId, **params.validated_data))
