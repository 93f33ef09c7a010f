"""Request-level guards that run before DRF parses anything."""

import io
import ipaddress
import logging
import re
import time
import uuid

from django.conf import settings
from django.http import JsonResponse

from scheduler.exceptions import error_body

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


request_log = logging.getLogger("scheduler.requests")


class RequestIdMiddleware:
    """Name each request with an id of the server's own (what logs and the audit trail key on, the
    response's `X-Request-ID`): a client's id cannot make its entries pass for another request's. A
    well-formed client `X-Request-ID` is kept beside it (`client_request_id`, an entry's
    `clientRequestId`) and echoed as `X-Client-Request-ID`. Each request is one log line: method,
    path (no query string: it may carry ids), status, duration, request ids, user."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        began = time.perf_counter()
        given = request.headers.get("X-Request-ID", "")
        request.request_id = uuid.uuid4().hex
        request.client_request_id = given if _REQUEST_ID.match(given) else None
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        if request.client_request_id:
            response["X-Client-Request-ID"] = request.client_request_id
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
                "client_request_id": request.client_request_id,
                "user": getattr(user, "username", None),
            },
        )
        return response


class ProxySettingCheckMiddleware:
    """Log once per process when NUM_PROXIES is 0 but requests from a private address carry
    X-Forwarded-For: a proxy or load balancer stands before the app, so every client counts as the
    proxy's address, and one client's sign-in and request limits hold for everyone."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.logged = False

    def __call__(self, request):
        if not self.logged and self._misconfigured(request):
            self.logged = True
            request_log.warning(  # no address: the finding is the setting, not who sent it
                "Misconfiguration: requests from a private address carry X-Forwarded-For while "
                "NUM_PROXIES=0, so every client counts as the proxy's address (sign-in and request "
                "limits are shared by all); set NUM_PROXIES to the number of proxies before the app."
            )
        return self.get_response(request)

    @staticmethod
    def _misconfigured(request) -> bool:
        if "HTTP_X_FORWARDED_FOR" not in request.META or settings.REST_FRAMEWORK.get("NUM_PROXIES"):
            return False
        try:
            return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_private
        except ValueError:  # a unix socket, or no address at all
            return False


CHUNKED_BODY_CUT = "scheduler.chunked_body_cut"


class ChunkedBodyReader:
    """WSGI wrapper: a chunked body (no Content-Length) read up to MAX_BODY_BYTES + 1 bytes and
    handed on with its length, since Django reads only Content-Length bytes (it would see no body
    at all) and BodySizeLimitMiddleware then refuses one over the limit. Only where the server says
    the input ends with the body (`wsgi.input_terminated`, as gunicorn does): elsewhere, reading to
    the end could wait forever."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and not environ.get("CONTENT_LENGTH") and environ.get("wsgi.input_terminated"):
            body = environ["wsgi.input"].read(settings.MAX_BODY_BYTES + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            environ[CHUNKED_BODY_CUT] = len(body) > settings.MAX_BODY_BYTES
        return self.application(environ, start_response)


class BodySizeLimitMiddleware:
    """413 for a body larger than MAX_BODY_BYTES, before it is read."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0:
            return JsonResponse(
                error_body("The Content-Length header is not a whole number of bytes.", "invalid"), status=400
            )
        if length > settings.MAX_BODY_BYTES:
            size = f"more than {settings.MAX_BODY_BYTES}" if request.META.get(CHUNKED_BODY_CUT) else length
            return JsonResponse(
                error_body(
                    f"The request body is {size} bytes; the limit is {settings.MAX_BODY_BYTES} bytes.", "too_large"
                ),
                status=413,
            )
        return self.get_response(request)
