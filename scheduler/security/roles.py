"""Who is calling: the roles and the principal every request carries (`request.user`).

The principal is built from the token item alone, so authenticating a request costs one read."""

from __future__ import annotations

from dataclasses import dataclass, field

ADMIN, STAFF, DOCTOR, PATIENT = "admin", "staff", "doctor", "patient"
ROLES = (ADMIN, STAFF, DOCTOR, PATIENT)


@dataclass(frozen=True)
class Principal:
    """An authenticated user, as its token describes it."""

    username: str
    role: str
    country_ids: tuple[str, ...] = ()
    doctor_id: str | None = None
    patient_id: str | None = None
    token_hash: str | None = field(default=None, repr=False)
    via_session: bool = False

    is_authenticated = True
    is_anonymous = False

    @property
    def pk(self) -> str:
        return self.username

    def __str__(self) -> str:
        return f"{self.username} ({self.role})"


class Anonymous:
    """The caller without credentials (DRF's UNAUTHENTICATED_USER)."""

    is_authenticated = False
    is_anonymous = True
    pk = None
    username = None
    role = None
    country_ids = ()
    doctor_id = None
    patient_id = None

    def __str__(self) -> str:
        return "anonymous"
