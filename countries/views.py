from countries import selectors, services
from countries.serializers import CountryListParams, CountrySerializer
from scheduler.views import RecordViewSet


class CountryViewSet(RecordViewSet):
    """Countries: ISO code, time zone and booking policy."""

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

    def update_record(self, record_id, data, *, if_match, replace):
        return services.country_update(country_id=record_id, changes=data, if_match=if_match, replace=replace)

    def delete_record(self, record_id, *, if_match):
        services.country_delete(country_id=record_id, if_match=if_match)
