import hashlib
import time

from accounts.models import Token, User
from scheduler.db import Page, paginate
from scheduler.exceptions import NotFound
from scheduler.security.roles import Principal


def token_hash(raw: str) -> str:
    """Tokens are random and long, so a plain SHA-256 is enough to store them safely (no salt needed)."""
    return hashlib.sha256(raw.encode()).hexdigest()


def principal_for_token(raw: str) -> Principal | None:
    """The user a token stands for, from the token item alone (one strongly consistent read, so a
    revocation holds at once); None when unknown, expired (TTL deletes late: the time is checked) or
    not tracked (issued before its user item listed it)."""
    if not raw or len(raw) > 256:
        return None
    digest = token_hash(raw)
    try:
        token = Token.get(digest, consistent_read=True)
    except Token.DoesNotExist:
        return None
    if token.expires_at.timestamp() <= time.time():
        return None
    if not token.tracked:  # issued before the user item listed its tokens: a change could not revoke it
        return None
    return Principal(
        username=token.username,
        role=token.role,
        country_ids=tuple(sorted(token.country_ids or ())),
        doctor_id=token.doctor_id,
        patient_id=token.patient_id,
        token_hash=digest,
    )


def user_get(*, username: str) -> User:
    try:
        return User.get(username, consistent_read=True)
    except User.DoesNotExist:
        raise NotFound(f"User '{username}' not found.") from None


def user_find(*, username: str) -> User | None:
    try:
        return User.get(username, consistent_read=True)
    except User.DoesNotExist:
        return None


def user_list(*, limit: int, cursor: str | None) -> Page:
    """The admin listing: a paginated Scan (users are few; admins only)."""
    return paginate(User.scan, limit=limit, cursor=cursor, scope="all")


def admin_exists() -> bool:
    return next(iter(User.scan(User.role == "admin", page_size=100)), None) is not None
