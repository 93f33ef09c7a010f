from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from countries import selectors, services
from countries.models import Country
from countries.serializers import CountryHolidaysSerializer, CountryListParams, CountrySerializer, HolidaysParams
from scheduler.api.views import RecordViewSet
from scheduler.security.permissions import ALL, LIST, READ
from scheduler.security.roles import ADMIN, DOCTOR, PATIENT, STAFF


class CountryViewSet(RecordViewSet):
    """Countries: ISO code, time zone, booking policy, public holidays and closures."""

    access_kind = "country"
    role_actions = {ADMIN: ALL, **{role: frozenset({LIST, READ}) for role in (STAFF, DOCTOR, PATIENT)}}
    read_actions = frozenset({"holidays"})  # GET /countries/{id}/holidays: whoever may read the country
    directory = True  # every signed-in user may read every country
    record_model = Country
    serializer_class = CountrySerializer
    list_params_class = CountryListParams
    lookup_field = "countryId"
    location_prefix = "/countries"

    def get_record(self, record_id):
        return selectors.country_get(country_id=record_id)

    def list_records(self, params):
        return selectors.country_list(**params)

    def create_record(self, data):
        return services.country_create(**data)

    def update_record(self, record_id, data, *, if_match, replace, current):
        return services.country_update(
            country_id=record_id, changes=data, if_match=if_match, replace=replace, current=current
        )

    def delete_record(self, record_id, *, if_match, current):
        services.country_delete(country_id=record_id, if_match=if_match, current=current)

    @extend_schema(parameters=[HolidaysParams], responses=CountryHolidaysSerializer)
    @action(detail=True)
    def holidays(self, request: Request, countryId: str) -> Response:
        """The days the country's doctors are closed in a year: its public holidays (when it observes
        them; with a subdivision's, when asked) and its closures, sorted by date. A doctor with
        worksOnHolidays is closed on the closures only."""
        country = self.get_object()
        params = HolidaysParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        return Response(selectors.country_holidays(country=country, **params.validated_data))
