"""The one DRF exception handler: application errors, PynamoDB's `DoesNotExist`, unreachable or
throttled AWS endpoints and input that slipped past validation become the contract's status codes,
each `{"detail": ...}` body with its stable `code` (scheduler/exceptions.py lists them)."""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from django.core.exceptions import RequestDataTooBig
from pynamodb.exceptions import DoesNotExist, PynamoDBException
from rest_framework import status
from rest_framework.response import Response

from scheduler.db.errors import error_code
from scheduler.exceptions import ERROR_CODES, ApplicationError, ServiceUnavailable, error_body

logger = logging.getLogger(__name__)


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
    if isinstance(exc, ApplicationError):
        response = Response(exc.payload(), status=exc.status_code)
        # An undecryptable record stays so until an operator acts: no Retry-After to loop on.
        if exc.status_code == status.HTTP_503_SERVICE_UNAVAILABLE and exc.code != "undecryptable":
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
    # Imported here: rest_framework.views loads the permission and authentication classes at import.
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
