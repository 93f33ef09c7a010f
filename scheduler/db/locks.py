"""Tables shared by every app."""

from pynamodb.attributes import TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from scheduler.db import register, table_meta


@register
class Lock(Model):
    """One item per thing that may be taken once: 5 minutes of a doctor's or patient's time
    (`doctor#<id>#<bucket start>`), a unique value such as a country code (`country-code#CL`), or an
    event a consumer has handled (`event#<eventId>`).
    Writes put it with `attribute_not_exists` in the same transaction as the record that owns it."""

    class Meta(table_meta("slots")):  # type: ignore[misc]  # a Meta base built from settings at import
        pass

    slot_key = UnicodeAttribute(hash_key=True, attr_name="slotKey")
    owner = UnicodeAttribute(null=True)
    # Slot locks expire some time after their slot has passed; unique-value locks never do.
    expires_at = TTLAttribute(null=True, attr_name="expiresAt")


def unique_value_key(kind: str, value: str) -> str:
    return f"{kind}#{value}"
