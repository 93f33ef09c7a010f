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
from pynamodb.exceptions import PynamoDBException
from pynamodb.expressions.condition import Condition
from rest_framework.exceptions import AuthenticationFailed

from accounts import links, selectors, signin_limits
from accounts.models import Token, User, UserTokens
from countries.models import Country
from doctors.models import Doctor
from patients.models import Patient
from scheduler.db import (
    LOST_RACE_ATTEMPTS,
    Transaction,
    apply_changes,
    batch_get,
    retry_lost_races,
    run_transaction,
)
from scheduler.exceptions import Conflict, InvalidInput, VersionConflict
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
    # A patient user may carry countryIds too: it is confined to them (a login staff made, see user_create).
    allowed = {**wanted, "countryIds": role in (STAFF, PATIENT)}
    for name, needed in wanted.items():
        if needed and not given[name]:
            raise InvalidInput(name, f"A {role} user needs {name}.")
        if given[name] and not allowed[name]:
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
    confined: bool = False,
) -> User:
    """A new user. A doctor or patient record has at most one login (409 `duplicate`, a unique-value
    lock in the user's transaction, which also checks that the record still exists). `confined` (a
    login staff make): a patient user reaches only its patient's country, whatever countries its
    patient has appointments in."""
    if role not in ROLES:
        raise InvalidInput("role", f"'{role}' is not a role; use one of {', '.join(ROLES)}.")
    countries = set(country_ids or ()) or None
    _check_links(role=role, country_ids=countries, doctor_id=doctor_id, patient_id=patient_id)
    if confined and role == PATIENT:
        country = linked_country(doctor_id=None, patient_id=patient_id)
        if country is None:  # deleted since _check_links read it: never an unconfined login
            raise InvalidInput("patientId", f"Patient '{patient_id}' does not exist.")
        countries = {country}
    user = User(
        username,
        role=role,
        country_ids=countries or None,
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
        links.claim(tx, user, links.link_keys(user))
        audit.join(tx)

    run_transaction(build, default_conflict=lambda: Conflict("The user could not be created; retry."))
    return user


def _lost_race() -> VersionConflict:
    return VersionConflict("The user was changed, or signed in, at the same time; retry.")


def user_update(*, username: str, changes: dict[str, Any], if_match: int | None, current: User | None = None) -> User:
    """PATCH a user. A change to its role, links, password or active flag deletes its tokens in the
    same transaction. The write is conditional on the user's version and on the tokens it read: a
    sign-in that commits first makes it read the user again and judge the change anew (retry_lost_races;
    a client's If-Match that no longer matches is then a 412)."""

    def attempt(n: int) -> User:
        user = current if n == 0 and current is not None else selectors.user_get(username=username)
        return _user_update_once(user, dict(changes), if_match=if_match)

    return retry_lost_races(attempt, attempts=signin_limits.user_write_attempts())


def _user_update_once(user: User, changes: dict[str, Any], *, if_match: int | None) -> User:
    username = user.username
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
    as_read = tokens_as_read(user)
    doomed = live_token_hashes(user) if revoke else []
    before = links.link_keys(user)
    was_active = user.active
    apply_changes(user, changes, if_match=if_match)
    if revoke:
        user.token_entries = None
    released = links.released(user, before)
    after = links.link_keys(user)
    comes_back = bool(user.active) and not was_active
    claimed = {key: link for key, link in after.items() if comes_back or key not in before}

    def build(tx: Transaction) -> None:
        tx.put(user, condition=as_read, on_fail=_lost_race)
        for digest in doomed:
            tx.delete(Token(digest))
        links.release(tx, username, released)
        # A link that changes, or a login that comes back, takes its record's one login.
        links.claim(tx, user, claimed)
        audit.join(tx)

    run_transaction(build, default_conflict=_lost_race)
    return user


def user_deactivate(*, username: str, if_match: int | None, current: User | None = None) -> User:
    """DELETE /users/{username}: the user stays (its audit trail names it) but cannot sign in."""
    return user_update(username=username, changes={"active": False}, if_match=if_match, current=current)


def create_or_update_admin(*, username: str, password: str) -> tuple[User, bool]:
    """For `createadmin`: (user, created). An existing user becomes an active admin with this password.
    Audited as the system actor "createadmin" (a command has no request)."""
    existing = selectors.user_find(username=username)
    actor = audit.current_actor() or audit.Actor("createadmin", None, None)
    action = audit.CREATE if existing is None else audit.UPDATE
    with audit.acting(actor, audit.PendingWrite(action, "user", User, username)):
        if existing is None:
            return user_create(username=username, password=password, role=ADMIN), True
        changes = {"role": ADMIN, "password": password, "active": True}
        return user_update(username=username, changes=changes, if_match=None), False


# --- Tokens --------------------------------------------------------------------------------------


# A user keeps at most this many live tokens: one sign-in more deletes the oldest, in its transaction.
MAX_LIVE_TOKENS = 10
# A change of scope deletes at most this many token items in its transaction (DynamoDB takes 100 items).
# More live entries than that can only be ones the cap deleted already (their entries linger until the
# next sign-in removes them), so the newest are kept.
MAX_REVOKED_PER_CHANGE = 80


def _token_entry(token_hash: str, expires: float) -> str:
    # Microseconds: the oldest of tokens issued within one second is still known.
    return f"{token_hash}:{expires:.6f}"


def _live_entries(user: User, now: float) -> list[tuple[float, str, str]]:
    """(expiry, hash, entry) of the user's unexpired token entries, newest first."""
    live = []
    for item in user.token_entries or ():
        digest, _, expiry = item.partition(":")
        try:
            expires = float(expiry)
        except ValueError:
            continue
        if expires > now:
            live.append((expires, digest, item))
    return sorted(live, reverse=True)


def live_token_hashes(user: User) -> list[str]:
    """The tokens a change of the user's scope deletes in its own transaction."""
    return [digest for _, digest, _ in _live_entries(user, time.time())[:MAX_REVOKED_PER_CHANGE]]


def tokens_as_read(user: User) -> Condition:
    """The user item still holds the tokens `user` was read with (no sign-in since): the condition of
    every write of a user, with its version (PynamoDB adds that one)."""
    count = user.sign_ins or 0
    same = User.sign_ins == count
    return (same | User.sign_ins.does_not_exist()) if count == 0 else same


@dataclass
class IssuedToken:
    raw: str
    token: Token
    user: User


class _UserChanged(Exception):
    """Internal: the user changed between its read and the token's write."""


def _issue(user: User) -> IssuedToken:
    """One transaction: the token, its entry on the user item (conditional on the user's version and
    active flag as read), the deletion of the oldest tokens beyond MAX_LIVE_TOKENS, the audit entry.
    Raises _UserChanged when the user changed since it was read."""
    raw = secrets.token_urlsafe(32)
    issued = time.time()
    now = int(issued)
    token = Token(
        selectors.token_hash(raw),
        username=user.username,
        role=user.role,
        country_ids=user.country_ids,
        doctor_id=user.doctor_id,
        patient_id=user.patient_id,
        created_at=now,
        tracked=True,
        expires_at=datetime.fromtimestamp(now + settings.TOKEN_TTL_SECONDS, UTC),
    )
    live = _live_entries(user, issued)
    evicted = [digest for _, digest, _ in live[MAX_LIVE_TOKENS - 1 :]]
    kept = {item for _, _, item in live[: MAX_LIVE_TOKENS - 1]}
    stale = set(user.token_entries or ()) - kept

    # The token is the login's write: the audit entry (action "login") commits with it.
    def build(tx: Transaction) -> None:
        tx.put(token, condition=Token.token_hash.does_not_exist())
        tx.update(
            UserTokens(user.username),
            [
                UserTokens.token_entries.add({_token_entry(token.token_hash, issued + settings.TOKEN_TTL_SECONDS)}),
                UserTokens.sign_ins.add(1),
            ],
            condition=(UserTokens.version == user.version) & (UserTokens.active == True),  # noqa: E712
            on_fail=_UserChanged,
        )
        for digest in evicted:
            tx.delete(Token(digest))
        audit.join(tx)

    with audit.acting(_actor_for(user), audit.PendingWrite(audit.LOGIN, "token", Token, user.username)):
        run_transaction(
            build,
            default_conflict=lambda: Conflict("Could not issue a token; retry."),
        )
    if stale:
        _forget_entries(user.username, stale)
    return IssuedToken(raw, token, user)


def _forget_entries(username: str, entries: set[str]) -> None:
    """Best effort: drop entries of expired or deleted tokens from the user item (a set DELETE, which
    commutes with a concurrent sign-in's ADD; left over, the next sign-in drops them)."""
    try:
        UserTokens(username).update(
            actions=[UserTokens.token_entries.delete(entries)], condition=UserTokens.username.exists()
        )
    except PynamoDBException as exc:
        logger.warning("stale token entries not dropped: %s", type(exc).__name__)


def _issue_to_current(user: User, password: str) -> IssuedToken:
    """Issue a token to the user as it is when the token is written: if it changed since it was read,
    read it again and decide again (inactive: the same 401 as a bad password; a new password: checked
    against it; otherwise the token carries the new role and scope)."""
    for _ in range(LOST_RACE_ATTEMPTS):
        try:
            return _issue(user)
        except _UserChanged:
            fresh = selectors.user_find(username=user.username)
            if (
                fresh is None
                or not fresh.active
                or not (fresh.password_hash == user.password_hash or check_password(password, fresh.password_hash))
            ):
                audit.record(
                    audit.LOGIN_FAILED, "user", user.username, outcome=audit.DENIED, actor=_failed_actor(user.username)
                )
                raise AuthenticationFailed(BAD_CREDENTIALS) from None
            user = fresh
    raise Conflict("The user kept changing while signing in; retry.")


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
    return _issue_to_current(user, password)


def token_revoke(*, token_hash: str, username: str, actor: audit.Actor | None = None) -> None:
    """Sign out: delete the token and its entry on the user item, with the audit entry ("logout"), in
    one transaction."""
    try:
        listed = UserTokens.get(username, consistent_read=True).token_entries or set()
    except UserTokens.DoesNotExist:
        listed = set()
    mine = {item for item in listed if item.partition(":")[0] == token_hash}

    def build(tx: Transaction) -> None:
        tx.delete(Token(token_hash))
        if mine:
            tx.update(
                UserTokens(username),
                [UserTokens.token_entries.delete(mine)],
                condition=UserTokens.username.exists(),
            )
        item = audit.entry(audit.LOGOUT, "token", username, actor=actor)
        tx.put(item, condition=audit.AuditEntry.entry_id.does_not_exist())

    run_transaction(build, default_conflict=lambda: Conflict("Signing out collided with another request; retry."))


def _failed_actor(username: str) -> audit.Actor:
    return audit.Actor(username, None, (audit.current_actor() or audit.Actor("", None, None)).request_id)
