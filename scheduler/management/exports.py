"""What `export` and `import` share outside the DynamoDB layer: the signing key from the settings."""

from django.conf import settings
from django.core.management.base import CommandError


def signing_key() -> str:
    """EXPORT_SIGNING_KEY, or a CommandError that says what to do (see docs/operations.md)."""
    if not settings.EXPORT_SIGNING_KEY:
        raise CommandError(
            "EXPORT_SIGNING_KEY is not set: exports are signed with it and import checks them with it. "
            "Set the same secret where you export and where you import (`make run` writes a local one)."
        )
    return settings.EXPORT_SIGNING_KEY
