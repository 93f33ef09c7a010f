"""Request-level guards that run before DRF parses anything."""

import logging
import re
import time
import uuid

from django.conf import settings
from django.http import JsonResponse

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


request_log = logging.getLogger("scheduler.requests")


class RequestIdMiddleware:
    """Carry a request id (the client's `X-Request-ID` when well-formed) for logs and audit, and log
    each request in one line: method, path (no query string: it may carry ids), status, duration,
    request id, user."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        began = time.perf_counter()
        given = request.headers.get("X-Request-ID", "")
        request.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        user = getattr(request, "user", None)  # set by DRF on the Django request once authenticated
        request_log.info(
            "%s %s %s %.1fms",
            request.method,
            request.path,
            response.status_code,
            (time.perf_counter() - began) * 1000,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - began) * 1000, 1),
                "request_id": request.request_id,
                "user": getattr(user, "username", None),
            },
        )
        return response


class BodySizeLimitMiddleware:
    """413 for a body larger than MAX_BODY_BYTES, before it is read."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse({"detail": "The Content-Length header is not a number."}, status=400)
        if length > settings.MAX_BODY_BYTES:
            return JsonResponse(
                {"detail": f"The request body is {length} bytes; the limit is {settings.MAX_BODY_BYTES} bytes."},
                status=413,
            )
        return self.get_response(request)
