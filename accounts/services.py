"""Users and sign-in: create and change users, issue and revoke tokens (failed sign-ins are limited
by accounts/signin_limits.py)."""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from rest_framework.exceptions import AuthenticationFailed

from accounts import selectors, signin_limits
from accounts.models import Token, User
from countries.models import Country
from doctors.models import Doctor
from patients.models import Patient
from scheduler.db import Transaction, apply_changes, batch_get, run_transaction, save_record
from scheduler.exceptions import Conflict, InvalidInput
from scheduler.security import audit
from scheduler.security.roles import ADMIN, DOCTOR, PATIENT, ROLES, STAFF

logger = logging.getLogger(__name__)

# The fields that decide what a user may do: changing one revokes the user's tokens (they carry them).
SCOPE_FIELDS = ("role", "country_ids", "doctor_id", "patient_id", "active", "password_hash")
BAD_CREDENTIALS = "Invalid username or password."


def _hash_password(password: str, *, username: str) -> str:
    try:
        validate_password(password)
    except ValidationError as exc:
        raise InvalidInput("password", " ".join(exc.messages)) from None
    if password.lower() == username.lower():
        raise InvalidInput("password", "The password must differ from the username.")
    return make_password(password)


def _check_links(*, role: str, country_ids: set[str] | None, doctor_id: str | None, patient_id: str | None) -> None:
    """Each role carries its own link, and what it links to must exist (400 naming the field)."""
    wanted = {"countryIds": role == STAFF, "doctorId": role == DOCTOR, "patientId": role == PATIENT}
    given = {"countryIds": bool(country_ids), "doctorId": bool(doctor_id), "patientId": bool(patient_id)}
    for name, needed in wanted.items():
        if needed and not given[name]:
            raise InvalidInput(name, f"A {role} user needs {name}.")
        if given[name] and not needed:
            raise InvalidInput(name, f"Only a {'staff' if name == 'countryIds' else name[:-2]} user has {name}.")
    keys: list = [(Country, cid) for cid in sorted(country_ids or ())]
    keys += [(Doctor, doctor_id)] if doctor_id else []
    keys += [(Patient, patient_id)] if patient_id else []
    for (model, key), found in zip(keys, batch_get(keys) if keys else [], strict=True):
        if found is None:
            field = {Country: "countryIds", Doctor: "doctorId", Patient: "patientId"}[model]
            raise InvalidInput(field, f"{model.__name__} '{key}' does not exist.")


def linked_country(*, doctor_id: str | None, patient_id: str | None) -> str | None:
    """The country of the doctor or patient a user is linked to (staff may only link their own)."""
    if not (doctor_id or patient_id):
        return None  # nothing linked: creating the user says which link it needs
    model: type[Doctor | Patient] = Doctor if doctor_id else Patient
    (found,) = batch_get([(model, doctor_id or patient_id)])
    return found.country_id if found else None


def user_create(
    *,
    username: str,
    password: str,
    role: str,
    country_ids: list[str] | None = None,
    doctor_id: str | None = None,
    patient_id: str | None = None,
    active: bool = True,
) -> User:
    if role not in ROLES:
        raise InvalidInput("role", f"'{role}' is not a role; use one of {', '.join(ROLES)}.")
    countries = set(country_ids or ()) or None
    _check_links(role=role, country_ids=countries, doctor_id=doctor_id, patient_id=patient_id)
    user = User(
        username,
        role=role,
        country_ids=countries,
        doctor_id=doctor_id,
        patient_id=patient_id,
        active=active,
        password_hash=_hash_password(password, username=username),
    )
    user.touch()

    def build(tx: Transaction) -> None:
        tx.put(
            user,
            condition=User.username.does_not_exist(),
            on_fail=lambda: Conflict(f"The username '{username}' is taken.", code="duplicate"),
        )
        audit.join(tx)

    run_transaction(build, default_conflict=lambda: Conflict("The user could not be created; retry."))
    return user


def user_update(*, username: str, changes: dict[str, Any], if_match: int | None, current: User | None = None) -> User:
    """PATCH a user. A change to its role, links, password or active flag revokes its tokens."""
    user = current or selectors.user_get(username=username)
    changes = dict(changes)
    if "password" in changes:
        changes["password_hash"] = _hash_password(changes.pop("password"), username=username)
    if "country_ids" in changes:
        changes["country_ids"] = set(changes["country_ids"] or ()) or None
    role = changes.get("role", user.role)
    if role not in ROLES:
        raise InvalidInput("role", f"'{role}' is not a role; use one of {', '.join(ROLES)}.")
    merged = {name: changes.get(name, getattr(user, name)) for name in ("country_ids", "doctor_id", "patient_id")}
    if "role" in changes:  # links that belong to the old role go with it
        merged = {name: (value if name in changes else None) for name, value in merged.items()}
        changes.update(merged)
    _check_links(role=role, **merged)
    revoke = any(name in changes and changes[name] != getattr(user, name) for name in SCOPE_FIELDS)
    apply_changes(user, changes, if_match=if_match)
    save_record(user, if_match=if_match, also=audit.join)
    if revoke:
        tokens_revoke(username=username)
    return user


def user_deactivate(*, username: str, if_match: int | None, current: User | None = None) -> User:
    """DELETE /users/{username}: the user stays (its audit trail names it) but cannot sign in."""
    return user_update(username=username, changes={"active": False}, if_match=if_match, current=current)


def create_or_update_admin(*, username: str, password: str) -> tuple[User, bool]:
    """For `createadmin`: (user, created). An existing user becomes an active admin with this password."""
    existing = selectors.user_find(username=username)
    if existing is None:
        return user_create(username=username, password=password, role=ADMIN), True
    changes = {"role": ADMIN, "password": password, "active": True}
    return user_update(username=username, changes=changes, if_match=None), False


# --- Tokens --------------------------------------------------------------------------------------


@dataclass
class IssuedToken:
    raw: str
    token: Token
    user: User


def _issue(user: User) -> IssuedToken:
    raw = secrets.token_urlsafe(32)
    now = int(time.time())
    token = Token(
        selectors.token_hash(raw),
        username=user.username,
        role=user.role,
        country_ids=user.country_ids,
        doctor_id=user.doctor_id,
        patient_id=user.patient_id,
        created_at=now,
        expires_at=datetime.fromtimestamp(now + settings.TOKEN_TTL_SECONDS, UTC),
    )

    # The token is the login's write: the audit entry (action "login") commits with it.
    def build(tx: Transaction) -> None:
        tx.put(token, condition=Token.token_hash.does_not_exist())
        audit.join(tx)

    with audit.acting(_actor_for(user), audit.PendingWrite(audit.LOGIN, "token", Token, user.username)):
        run_transaction(
            build,
            default_conflict=lambda: Conflict("Could not issue a token; retry."),
        )
    return IssuedToken(raw, token, user)


def _actor_for(user: User) -> audit.Actor:
    current = audit.current_actor()
    return audit.Actor(user.username, user.role, current.request_id if current else None)


def token_login(*, username: str, password: str, client_address: str) -> IssuedToken:
    """Check a username and password and issue a token. A wrong password and an unknown user get the
    same answer (and about the same time); failures are limited per username and per address."""
    attempt = signin_limits.attempt_reserve(username=username, client_address=client_address)
    user = selectors.user_find(username=username)
    if user is None or not user.active:
        make_password(password)  # the time a real check takes, so that a miss is not faster
        ok = False
    else:
        ok = check_password(password, user.password_hash)
    if not ok:
        audit.record(
            audit.LOGIN_FAILED,
            "user",
            username if user else "unknown",
            outcome=audit.DENIED,
            actor=_failed_actor(username if user else "unknown"),
        )
        raise AuthenticationFailed(BAD_CREDENTIALS)
    assert user is not None  # ok is False without a user
    signin_limits.attempt_succeeded(attempt)  # a good password is not a failure
    return _issue(user)


def token_revoke(*, token_hash: str) -> None:
    Token(token_hash).delete()


def tokens_revoke(*, username: str) -> int:
    """Delete every token of a user (found through the byUser index)."""
    hashes = selectors.token_hashes_of(username=username)
    with Token.batch_write() as batch:
        for digest in hashes:
            batch.delete(Token(digest))
    return len(hashes)


def _failed_actor(username: str) -> audit.Actor:
    return audit.Actor(username, None, (audit.current_actor() or audit.Actor("", None, None)).request_id)
