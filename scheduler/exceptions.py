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


class ApplicationError(Exception):
    """An error a client can act on. With `field`, rendered as `{field: [message]}`."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, message: str, *, field: str | None = None, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if status_code is not None:
            self.status_code = status_code

    def payload(self) -> dict:
        if self.field:
            return {self.field: [self.message]}
        return {"detail": self.message}


class InvalidInput(ApplicationError):
    """400 naming the field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field=field)


class NotFound(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND


class Conflict(ApplicationError):
    status_code = status.HTTP_409_CONFLICT


class VersionConflict(Conflict):
    """409: another write changed the record between this request's read and its write (a lost
    race, not a wrong request). Without an If-Match, the change may be judged again on the new
    version: `scheduler.db.retry_lost_races` does that."""


class PreconditionFailed(ApplicationError):
    status_code = status.HTTP_412_PRECONDITION_FAILED


class ServiceUnavailable(ApplicationError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE


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
        return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": "The request body is too large."}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
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
            {"detail": "The database is not reachable right now; retry shortly."},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
        response["Retry-After"] = "5"
        return response
    # Imported here: rest_framework.views loads the permission and authentication classes, which use this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    return drf_exception_handler(exc, context)


def _unvalidated_input(exc: Exception, context: dict, message: str) -> Response:
    view = context.get("view")
    logger.warning(
        "Bad input that validation let through: %s in %s", type(exc).__name__, type(view).__name__ if view else "?"
    )
    return Response({"detail": message}, status=status.HTTP_400_BAD_REQUEST)
