"""The time and the ids records are stamped with. Apps import `utcnow` into their own modules, so
that a test replaces the clock of one module (`monkeypatch.setattr(services, "utcnow", ...)`)."""

from __future__ import annotations

from datetime import UTC, datetime

from ulid import ULID


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """A server-generated id for a record created without one (sortable by creation time)."""
    return str(ULID())
