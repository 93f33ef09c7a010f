"""A doctor or patient record has at most one login: a unique-value lock (`login-patient#<id>`,
`login-doctor#<id>`, owner = the username) is put with `attribute_not_exists` in the transaction of
the user that takes the link, and deleted in the one that lets it go. The lock is also how a
patient's or doctor's deletion finds its login with one strongly consistent read (accounts/hooks.py).
Users created before the locks existed get theirs from `python manage.py link_logins` (idempotent)."""

from __future__ import annotations

from accounts.models import User
from doctors.models import Doctor
from patients.models import Patient
from scheduler.db import Transaction
from scheduler.db.locks import Lock, unique_value_key
from scheduler.exceptions import Conflict, InvalidInput

KINDS = ("doctor", "patient")


def link_key(kind: str, record_id: str) -> str:
    return unique_value_key(f"login-{kind}", record_id)


def link_keys(user: User) -> dict[str, tuple[str, str]]:
    """lock key → (kind, record id) of the records this user is linked to."""
    found = {}
    for kind in KINDS:
        record_id = getattr(user, f"{kind}_id")
        if record_id:
            found[link_key(kind, record_id)] = (kind, record_id)
    return found


def owner_of(key: str) -> str | None:
    try:
        return Lock.get(key, consistent_read=True).owner
    except Lock.DoesNotExist:
        return None


def released(user: User, before: dict[str, tuple[str, str]]) -> list[str]:
    """The locks of links `user` had (`before`) and no longer has that it holds (read now)."""
    after = link_keys(user)
    return [key for key in before if key not in after and owner_of(key) == user.username]


def release(tx: Transaction, username: str, keys: list[str]) -> None:
    for key in keys:
        tx.delete(Lock(key), condition=Lock.owner == username)


def record_must_exist(tx: Transaction, kind: str, record_id: str) -> None:
    """A condition check in `tx`: the doctor or patient is still there when the login commits (a 400
    naming the field otherwise). The reads before the transaction may be older than a delete."""
    model: type[Doctor | Patient] = Doctor if kind == "doctor" else Patient
    key_attribute = Doctor.doctor_id if kind == "doctor" else Patient.patient_id
    tx.check(
        model,
        record_id,
        condition=key_attribute.exists(),
        on_fail=lambda: InvalidInput(f"{kind}Id", f"{model.__name__} '{record_id}' does not exist."),
    )


def lock_must_be_absent(tx: Transaction, kind: str, record_id: str, *, on_fail) -> None:
    """A condition check in `tx`: the record still has no login (a record's delete that found none)."""
    tx.check(Lock, link_key(kind, record_id), condition=Lock.slot_key.does_not_exist(), on_fail=on_fail)


def claim(tx: Transaction, user: User, keys: dict[str, tuple[str, str]]) -> None:
    """Take the locks `keys` for `user` (a lock it holds already is kept); 409 `duplicate` when another
    user holds one, 400 when the record is gone by then."""
    for key, (kind, record_id) in keys.items():
        record_must_exist(tx, kind, record_id)
        tx.put(
            Lock(key, owner=user.username),
            condition=Lock.slot_key.does_not_exist() | (Lock.owner == user.username),
            on_fail=lambda kind=kind, record_id=record_id: Conflict(
                f"{kind.capitalize()} '{record_id}' has a login already: change or reactivate that user "
                "instead of creating another.",
                code="duplicate",
            ),
        )
