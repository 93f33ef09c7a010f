"""The platform's own tables, loaded with the project's models so that `bootstrap` creates them
with the apps' tables (Django imports each installed app's `models` module at start-up)."""

from scheduler.db.locks import Lock  # noqa: F401
from scheduler.security.audit import AuditEntry  # noqa: F401
