"""What accounts adds to a patient's or doctor's deletion: the login linked to the record is
deactivated, its tokens deleted and its link released, in the delete's own transaction, so that a
record re-created under the same id is not visible to the old login. Registered into the delete hooks
of patients and doctors in AccountsConfig.ready, so that neither imports accounts."""

from __future__ import annotations

from collections.abc import Callable

from accounts import links, services, signin_limits
from accounts.models import Token, User
from accounts.selectors import user_find
from doctors.services import doctor_delete_hooks
from patients.services import patient_delete_hooks
from scheduler.db import Transaction, utcnow
from scheduler.db.locks import Lock
from scheduler.exceptions import VersionConflict
from scheduler.security import audit


def _login_goes_with(kind: str, record_id: str) -> Callable[[Transaction], None] | None:
    key = links.link_key(kind, record_id)
    owner = links.owner_of(key)  # strongly consistent
    if owner is None:
        # A login created after that read would survive the delete: the delete commits only if the
        # record still has none (else it loses its race, reads again and takes that login along).
        return lambda tx: links.lock_must_be_absent(
            tx,
            kind,
            record_id,
            on_fail=lambda: VersionConflict(f"A login for {kind} '{record_id}' was created at the same time; retry."),
        )
    user = user_find(username=owner)
    if user is None or getattr(user, f"{kind}_id") != record_id:  # a lock its user let go of
        # Deleted only while that user is as read: relinked to the record meanwhile, it holds the lock
        # again (links.claim), and the delete must read again and take it along.
        if user is None:
            unchanged = User.username.does_not_exist()
        else:
            unchanged = User.version.does_not_exist() if user.version is None else User.version == user.version

        def lost() -> VersionConflict:
            return VersionConflict(f"The login of {kind} '{record_id}' changed at the same time; retry.")

        def release(tx: Transaction) -> None:
            tx.check(User, owner, condition=unchanged, on_fail=lost)
            tx.delete(Lock(key), condition=Lock.owner == owner, on_fail=lost)

        return release
    doomed = services.live_token_hashes(user)
    as_read = services.tokens_as_read(user)

    def add(tx: Transaction) -> None:
        tx.update(
            user,
            [User.active.set(False), User.token_entries.remove(), User.updated_at.set(utcnow())],
            condition=as_read,
            on_fail=lambda: VersionConflict(f"The login of {kind} '{record_id}' changed at the same time; retry."),
        )
        for digest in doomed:
            tx.delete(Token(digest))
        tx.delete(Lock(key), condition=Lock.owner == owner)
        tx.put(audit.entry(audit.UPDATE, "user", owner), condition=audit.AuditEntry.entry_id.does_not_exist())

    return add


def patient_deleted(patient_id: str) -> Callable[[Transaction], None] | None:
    return _login_goes_with("patient", patient_id)


def doctor_deleted(doctor_id: str) -> Callable[[Transaction], None] | None:
    return _login_goes_with("doctor", doctor_id)


# The hook updates a user item, which loses its race to every sign-in of the login: the delete is
# judged again as often as a change of the user is (patients and doctors read this, see
# scheduler.db.hook_attempts), so that signing in again and again cannot hold it off.
for _hook in (patient_deleted, doctor_deleted):
    _hook.attempts = signin_limits.user_write_attempts  # type: ignore[attr-defined]


def register() -> None:
    """Once per process (AccountsConfig.ready); a second call adds nothing."""
    for hooks, hook in ((patient_delete_hooks, patient_deleted), (doctor_delete_hooks, doctor_deleted)):
        if hook not in hooks:
            hooks.append(hook)
