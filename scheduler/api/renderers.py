"""The browsable API, with each record's ids as links to the record's own page."""

import re

from django.utils.html import urlize
from django.utils.safestring import mark_safe
from rest_framework.renderers import BrowsableAPIRenderer

# The fields that name a record, and where that record lives.
ID_PAGES = {
    "appointmentId": "/appointments/",
    "patientId": "/patients/",
    "doctorId": "/doctors/",
    "countryId": "/countries/",
    "username": "/users/",
}
_ID_VALUE = re.compile(r"&quot;(" + "|".join(ID_PAGES) + r")&quot;: &quot;([A-Za-z0-9_.:@+-]{1,150})&quot;")


class LinkedBrowsableAPIRenderer(BrowsableAPIRenderer):
    def get_content(self, renderer, data, accepted_media_type, renderer_context):
        content = super().get_content(renderer, data, accepted_media_type, renderer_context)
        if not isinstance(content, str):
            return content

        def link(match: re.Match) -> str:
            name, value = match.group(1), match.group(2)
            return f'&quot;{name}&quot;: &quot;<a href="{ID_PAGES[name]}{value}">{value}</a>&quot;'

        # urlize escapes the JSON (it shows as text) and links its URLs, as DRF's page does; then the ids.
        return mark_safe(_ID_VALUE.sub(link, urlize(content, autoescape=True)))  # noqa: S308 - escaped by urlize
