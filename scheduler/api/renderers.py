"""The browsable API, with each record's ids as links to the record's own page."""

import functools
import re

from django.utils.html import urlize
from django.utils.safestring import mark_safe
from rest_framework.renderers import BrowsableAPIRenderer

# The fields that name a record, and where that record lives: each resource's ViewSet registers its
# own (RecordViewSet does, from `lookup_field` and `location_prefix`).
ID_PAGES: dict[str, str] = {}


def register_id_page(field: str, prefix: str) -> None:
    """Show `field`'s values as links to `prefix` + value (e.g. "doctorId" → "/doctors/")."""
    ID_PAGES[field] = prefix


@functools.lru_cache(maxsize=8)
def _id_value(fields: tuple[str, ...]) -> re.Pattern:
    names = "|".join(re.escape(name) for name in fields)
    return re.compile(r"&quot;(" + names + r")&quot;: &quot;([A-Za-z0-9_.:@+-]{1,150})&quot;")


class LinkedBrowsableAPIRenderer(BrowsableAPIRenderer):
    def get_content(self, renderer, data, accepted_media_type, renderer_context):
        content = super().get_content(renderer, data, accepted_media_type, renderer_context)
        if not isinstance(content, str):
            return content

        def link(match: re.Match) -> str:
            name, value = match.group(1), match.group(2)
            return f'&quot;{name}&quot;: &quot;<a href="{ID_PAGES[name]}{value}">{value}</a>&quot;'

        # urlize escapes the JSON (it shows as text) and links its URLs, as DRF's page does; then the ids.
        escaped = urlize(content, autoescape=True)
        linked = _id_value(tuple(ID_PAGES)).sub(link, escaped) if ID_PAGES else escaped
        return mark_safe(linked)  # noqa: S308 - escaped by urlize
