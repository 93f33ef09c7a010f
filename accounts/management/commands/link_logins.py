"""Give users created before the one-login-per-record locks existed their lock, and deactivate a
record's extra logins (idempotent; bootstrap runs it too)."""

from django.core.management.base import BaseCommand

from accounts import links, services
from accounts.models import User
from accounts.selectors import user_find
from scheduler.db import Transaction, run_transaction
from scheduler.db.locks import Lock
from scheduler.exceptions import Conflict, InvalidInput, PreconditionFailed
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


def _deactivate(user: User) -> bool:
    """Deactivate a record's second login as it was read (its tokens deleted in the same transaction,
    with an audit entry, actor link_logins); False when it changed since (an admin relinked or
    deactivated it: judged again on the next run; or its record is gone: the next run links it)."""
    with audit.acting(LINK_LOGINS_ACTOR, audit.PendingWrite(audit.UPDATE, "user", User, user.username)):
        try:
            services.user_deactivate(username=user.username, if_match=user.version, current=user)
        except (PreconditionFailed, InvalidInput):
            return False
    return True


class Command(BaseCommand):
    help = (
        "Take the one-login-per-record lock for every user linked to a doctor or patient that has none "
        "(users created before the locks), each with an audit entry (actor link_logins). bootstrap runs it; "
        "safe to run again. Active users are served first; a record's other logins (which deleting the record "
        "would not find) are deactivated, their tokens revoked, each audited and reported."
    )

    def handle(self, *args, **options):
        counts = {"linked": 0, "kept": 0, "deactivated": 0, "duplicate": 0}
        # Active users first: where a record has an active and a deactivated login, the active one keeps it.
        others = (User.active != True) | User.active.does_not_exist()  # noqa: E712
        seen: set[str] = set()  # a login deactivated by the first pass comes up again in the second
        for users in (User.scan(User.active == True), User.scan(others)):  # noqa: E712
            for user in users:
                if user.username in seen:
                    continue
                seen.add(user.username)
                for key, (kind, record_id) in links.link_keys(user).items():
                    outcome = self._link(user, key)
                    if outcome == "duplicate":
                        outcome = self._second_login(user, kind, record_id)
                    counts[outcome] += 1
        self.stdout.write(", ".join(f"{count} {name}" for name, count in counts.items()))

    def _second_login(self, user: User, kind: str, record_id: str) -> str:
        """Another user holds the record's lock, so the record's delete finds only that one: this login
        must not stay usable. "duplicate": inactive already, or changed since it was read."""
        fresh = user_find(username=user.username)  # strongly consistent: the scan may be older
        if fresh is None or not fresh.active:
            outcome, what = "duplicate", "inactive"
        elif getattr(fresh, f"{kind}_id") == record_id and _deactivate(fresh):
            outcome, what = "deactivated", "deactivated, its tokens revoked"
        else:
            outcome, what = "duplicate", "changed meanwhile: run link_logins again"
        self.stdout.write(self.style.WARNING(f"{kind} {record_id}: user '{user.username}' is a second login ({what})"))
        return outcome

    @staticmethod
    def _link(user: User, key: str) -> str:
        if links.owner_of(key) == user.username:
            return "kept"
        try:
            _take(user, key)
        except _Taken:
            return "kept" if links.owner_of(key) == user.username else "duplicate"
        return "linked"
