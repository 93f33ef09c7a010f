"""Give users created before the one-login-per-record locks existed their lock (idempotent; bootstrap
runs it too)."""

from django.core.management.base import BaseCommand

from accounts import links
from accounts.models import User
from scheduler.db import Transaction, run_transaction
from scheduler.db.locks import Lock
from scheduler.exceptions import Conflict
from scheduler.security import audit

# Who the audit trail names for the locks this command adds: no user runs it through the API.
LINK_LOGINS_ACTOR = audit.Actor("link_logins", None, None)
LINK = "link"


class _Taken(Exception):
    """Internal: another user holds the lock (or this one, from an earlier run)."""


def _take(user: User, key: str) -> None:
    """The lock and its audit entry (action "link", the user, the lock's key) in one transaction."""

    def build(tx: Transaction) -> None:
        tx.put(Lock(key, owner=user.username), condition=Lock.slot_key.does_not_exist(), on_fail=_Taken)
        item = audit.entry(LINK, "user", user.username, object_ids=[key], actor=LINK_LOGINS_ACTOR)
        tx.put(item, condition=audit.AuditEntry.entry_id.does_not_exist())

    run_transaction(build, default_conflict=lambda: Conflict("The lock was taken at the same time; run it again."))


class Command(BaseCommand):
    help = (
        "Take the one-login-per-record lock for every user linked to a doctor or patient that has none "
        "(users created before the locks), each with an audit entry (actor link_logins). bootstrap runs it; "
        "safe to run again. Active users are served first; a record that has two logins is reported: "
        "deactivate or relink one, then run it again."
    )

    def handle(self, *args, **options):
        counts = {"linked": 0, "kept": 0, "duplicate": 0}
        # Active users first: where a record has an active and a deactivated login, the active one keeps it.
        others = (User.active != True) | User.active.does_not_exist()  # noqa: E712
        for users in (User.scan(User.active == True), User.scan(others)):  # noqa: E712
            for user in users:
                for key, (kind, record_id) in links.link_keys(user).items():
                    outcome = self._link(user, key)
                    counts[outcome] += 1
                    if outcome == "duplicate":
                        self.stdout.write(
                            self.style.WARNING(f"{kind} {record_id}: user '{user.username}' is a second login")
                        )
        self.stdout.write(", ".join(f"{count} {name}" for name, count in counts.items()))

    @staticmethod
    def _link(user: User, key: str) -> str:
        if links.owner_of(key) == user.username:
            return "kept"
        try:
            _take(user, key)
        except _Taken:
            return "kept" if links.owner_of(key) == user.username else "duplicate"
        return "linked"
