"""The application's one error type and the DRF exception handler that renders it.

Services raise `ApplicationError` (or a subclass) with a message a person can act on; the handler
turns it, PynamoDB's `DoesNotExist` and unreachable AWS endpoints into the contract's status codes.
"""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from django.core.exceptions import RequestDataTooBig
from pynamodb.exceptions import DoesNotExist, PynamoDBException
from rest_framework import status
from rest_framework.response import Response

logger = logging.getLogger(__name__)


# Every `code` a `{"detail": ..., "code": ...}` body can carry, with its statuses and meaning:
# the one list clients branch on. The OpenAPI schema's enum (scheduler/schema.py) and docs/errors.md
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


THROTTLED = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}

# Input that got past validation and then broke a computation or a DynamoDB call is still the
# request's fault: a 400, never a 500. Each is logged (type and view, no values) so the validation
# that missed it can be added where it belongs.
_UNVALIDATED_INPUT = {
    OverflowError: "A date or number in the request is out of range.",
    RecursionError: "The request is nested too deeply.",
    UnicodeError: "The request holds text that is not valid UTF-8.",
}


def _is_unreachable(exc: BaseException | None) -> bool:
    """True when the root cause is an endpoint that did not answer, not a bad request."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, (BotoConnectionError, HTTPClientError)):
            return True
        exc = getattr(exc, "cause", None) or exc.__cause__ or exc.__context__
        seen += 1
    return False


def exception_handler(exc: Exception, context: dict) -> Response | None:
    # Imported here: the DynamoDB layer imports this module's errors, so this module cannot import it first.
    from scheduler.db.errors import error_code

    if isinstance(exc, ApplicationError):
        response = Response(exc.payload(), status=exc.status_code)
        if exc.status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
            response["Retry-After"] = "5"
        return response
    if isinstance(exc, DoesNotExist):
        return Response(error_body("Not found.", "not_found"), status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body("The request body is too large.", "too_large"), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        )
    for kind, message in _UNVALIDATED_INPUT.items():
        if isinstance(exc, kind):
            return _unvalidated_input(exc, context, message)
    if isinstance(exc, PynamoDBException) and error_code(exc) == "ValidationException":
        # e.g. a key over DynamoDB's size limits (2048 bytes for a hash key)
        return _unvalidated_input(
            exc, context, "A value in the request is too long or malformed to be looked up or stored."
        )
    if isinstance(exc, PynamoDBException) and error_code(exc) in THROTTLED:
        return exception_handler(ServiceUnavailable("The database is busy right now; retry shortly."), context)
    if isinstance(exc, (PynamoDBException, BotoCoreError)) and _is_unreachable(exc):
        logger.warning("DynamoDB unreachable: %s", type(exc).__name__)
        response = Response(
            error_body("The database is not reachable right now; retry shortly.", "unavailable"),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
        response["Retry-After"] = "5"
        return response
    # Imported here: rest_framework.views loads the permission and authentication classes, which use this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    return _with_code(drf_exception_handler(exc, context), exc)


def _with_code(response: Response | None, exc: Exception) -> Response | None:
    """DRF's own errors (NotAuthenticated, PermissionDenied, Throttled, ParseError, ...) that render as
    `{"detail": ...}` get the `code` of their detail (DRF's `default_code`) beside it; field errors
    stay as DRF renders them."""
    data = getattr(response, "data", None)
    if isinstance(data, dict) and set(data) == {"detail"} and isinstance(data["detail"], str):
        code = getattr(data["detail"], "code", None) or getattr(exc, "default_code", None)
        if code not in ERROR_CODES:  # DRF's bare APIException ("error"), or a code given without a name here
            code = "server_error" if response.status_code >= 500 else "invalid"
        response.data = error_body(str(data["detail"]), code)
    return response


def _unvalidated_input(exc: Exception, context: dict, message: str) -> Response:
    view = context.get("view")
    logger.warning(
        "Bad input that validation let through: %s in %s", type(exc).__name__, type(view).__name__ if view else "?"
    )
    return Response(error_body(message, "invalid"), status=status.HTTP_400_BAD_REQUEST)
