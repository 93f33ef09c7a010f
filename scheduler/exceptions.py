"""The application's one error type, its subclasses and their stable codes: the lowest layer,
imported by every other.

Services raise `ApplicationError` (or a subclass) with a message a person can act on;
`scheduler.api.exceptions.exception_handler` renders it with the contract's status and code.
"""

from __future__ import annotations

from rest_framework import status

# Every `code` a `{"detail": ..., "code": ...}` body can carry, with its statuses and meaning:
# the one list clients branch on. The OpenAPI schema's enum (scheduler/api/schema.py) and docs/errors.md
# are read from it; a code missing here is refused where it is raised.
ERROR_CODES: dict[str, tuple[tuple[int, ...], str]] = {
    "invalid": ((400,), "Bad input that is not one field's fault (a field at fault gives `{field: [message]}`)."),
    "parse_error": ((400,), "The body is not valid JSON."),
    "not_authenticated": ((401,), "No credentials: send `Authorization: Bearer <token>`."),
    "authentication_failed": ((401,), "Bad credentials: a wrong password, or a token not valid, expired or revoked."),
    "permission_denied": ((403,), "Signed in, but this role may not do this (or a browser session without CSRF)."),
    "not_found": ((404,), "No such record, or not visible to this user; or no endpoint at this path."),
    "method_not_allowed": ((405,), "The path does not take this method."),
    "not_acceptable": ((406,), "No representation in the Accept header's types."),
    "conflict": ((409,), "The write collided with the records' current state; the message says why."),
    "duplicate": ((409,), "A unique value (an id, a country code, a username) is taken."),
    "slot_taken": ((409,), "The doctor is already booked during (part of) that time."),
    "patient_busy": ((409,), "The patient already has an appointment overlapping that time."),
    "invalid_transition": ((409,), "The appointment's current state does not allow this change."),
    "cutoff_passed": ((409,), "Too late to cancel or reschedule: the country's cancellation cutoff has passed."),
    "in_use": ((409,), "Delete refused: upcoming appointments or other records still refer to the record."),
    "version_mismatch": ((409, 412), "The record changed meanwhile (412: If-Match named the old version): re-read it."),
    "precondition_failed": ((412,), "The If-Match header is not a version this API issued."),
    "too_large": ((413,), "The body is larger than the server accepts."),
    "unsupported_media_type": ((415,), "The body is not JSON."),
    "throttled": ((429,), "Too many requests (or failed sign-ins): wait for Retry-After."),
    "server_error": ((500,), "An internal error; it has been logged under the response's requestId."),
    "unavailable": ((503,), "A backing service is busy or unreachable: retry after Retry-After."),
    "undecryptable": (
        (503,),
        "A stored personal value of this record does not decrypt (its key is missing, or it was altered or "
        "copied from another record); the detail names the record, the fields and the key ids. Not retried.",
    ),
}


def error_body(message: str, code: str) -> dict:
    """A `{"detail", "code"}` error body; every one is built here, so no code escapes ERROR_CODES."""
    if code not in ERROR_CODES:
        raise ValueError(f"{code!r} is not in ERROR_CODES")
    return {"detail": message, "code": code}


class ApplicationError(Exception):
    """An error a client can act on. With `field`, rendered as `{field: [message]}`; without, as
    `{"detail": message, "code": code}`: `code` (one of ERROR_CODES) defaults to the class's
    `default_code`, and a raise site gives a more specific one where clients branch on the reason."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"

    def __init__(
        self, message: str, *, field: str | None = None, status_code: int | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if status_code is not None:
            self.status_code = status_code
        self.code = code or self.default_code
        if self.code not in ERROR_CODES:
            raise ValueError(f"{self.code!r} is not in ERROR_CODES")

    def payload(self) -> dict:
        if self.field:
            return {self.field: [self.message]}
        return error_body(self.message, self.code)


class InvalidInput(ApplicationError):
    """400 naming the field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field=field)


class NotFound(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"


class Conflict(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class VersionConflict(Conflict):
    """409: another write changed the record between this request's read and its write (a lost
    race, not a wrong request). Without an If-Match, the change may be judged again on the new
    version: `scheduler.db.retry_lost_races` does that."""

    default_code = "version_mismatch"


class PreconditionFailed(ApplicationError):
    """412. A stale If-Match (the record is at another version) is raised with code version_mismatch."""

    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_code = "precondition_failed"


class ServiceUnavailable(ApplicationError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "unavailable"


class Undecryptable(ServiceUnavailable):
    """503 for one record whose stored personal value does not decrypt: the operator must restore the
    key or the value; the record's other readers are not affected."""

    default_code = "undecryptable"
