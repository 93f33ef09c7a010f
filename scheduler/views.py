"""The project's own views: the API root's links, the answer to a path no route matches, Django's
404 and 500 handlers, and the health checks. They name the project's routes, so they live beside
scheduler/urls.py, not in the platform's scheduler/api."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.http import JsonResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    permission_classes,
    renderer_classes,
    throttle_classes,
)
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from scheduler.exceptions import error_body
from scheduler.messaging import aws
from scheduler.security.throttling import HealthRateThrottle

logger = logging.getLogger(__name__)

# --- The API root and unknown paths --------------------------------------------------------------

ROOT_LINKS = {
    "countries": "/countries",
    "doctors": "/doctors",
    "patients": "/patients",
    "appointments": "/appointments",
    "users": "/users",
    "audit": "/audit",
    "signIn": "/auth/token",
    "me": "/auth/me",
    "loginPage": "/auth/login",
    "docs": "/docs",
    "schema": "/schema",
    "health": "/health/ready",
}


class ApiRoot(APIView):
    """The medical appointment scheduler's API: a link to each resource, the docs and the schema.
    Every resource needs a token (POST /auth/token) or, in a browser, signing in (/auth/login)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []  # only links: nothing here depends on who asks

    @extend_schema(responses=inline_serializer("ApiRoot", {name: serializers.URLField() for name in ROOT_LINKS}))
    def get(self, request: Request) -> Response:
        return Response({name: request.build_absolute_uri(path) for name, path in ROOT_LINKS.items()})


class UnknownPath(APIView):
    """Every path no route matches: a 404 in JSON (or DRF's page in a browser), never Django's debug page."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    schema = None  # not part of the API

    def answer(self, request: Request, *args, **kwargs) -> Response:
        message = f"No endpoint at {request.path}; see / for the API and /docs for its reference."
        return Response(error_body(message, "not_found"), status=status.HTTP_404_NOT_FOUND)

    get = post = put = patch = delete = head = options = answer


def not_found(request, exception=None) -> JsonResponse:
    return JsonResponse(error_body(f"No endpoint at {request.path}; see /docs for the API.", "not_found"), status=404)


def server_error(request) -> JsonResponse:
    return JsonResponse(
        {
            **error_body("Internal error; it has been logged.", "server_error"),
            "requestId": getattr(request, "request_id", None),
        },
        status=500,
    )


# --- Health --------------------------------------------------------------------------------------


@extend_schema(responses=inline_serializer("Live", {"status": serializers.CharField()}))
@api_view(["GET", "HEAD"])
@authentication_classes([])  # whatever credentials come along (even revoked ones) do not matter here
@permission_classes([AllowAny])
@throttle_classes([])  # load balancers poll these
@renderer_classes([JSONRenderer])
def health_live(request: Request) -> Response:
    return Response({"status": "ok"})


class ReadinessCache:
    """aws.readiness() (four AWS calls) at most once per HEALTH_READY_CACHE_SECONDS in a process, however
    many ask meanwhile: /health/ready needs no sign-in, so a flood of it must not become AWS calls."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._lock = threading.Lock()  # one refresh at a time; the others wait for its answer
        self._components: dict[str, str] | None = None
        self._expires = 0.0

    def components(self) -> dict[str, str]:
        with self._lock:
            if self._components is None or self.clock() >= self._expires:
                self._components = aws.readiness()
                self._expires = self.clock() + settings.HEALTH_READY_CACHE_SECONDS
                failing = {name: state for name, state in self._components.items() if state != "ok"}
                if failing:  # the reasons name tables and queues: for the log, not for anonymous callers
                    logger.warning("not ready: %s", "; ".join(f"{name}: {state}" for name, state in failing.items()))
            return self._components

    def clear(self) -> None:
        with self._lock:
            self._components = None


ready_cache = ReadinessCache()


@extend_schema(
    responses={
        200: inline_serializer("Ready", {"status": serializers.CharField(), "components": serializers.DictField()}),
        503: inline_serializer("NotReady", {"status": serializers.CharField(), "components": serializers.DictField()}),
    }
)
@api_view(["GET", "HEAD"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([HealthRateThrottle])
@renderer_classes([JSONRenderer])
def health_ready(request: Request) -> Response:
    """200 when DynamoDB, SQS and SNS answer and the tables exist; else 503 naming the component
    (dynamodb, sqs, sns) only: the reason, with its table or queue names, goes to the log."""
    components = {name: "ok" if state == "ok" else "unavailable" for name, state in ready_cache.components().items()}
    failing = sorted(name for name, state in components.items() if state != "ok")
    if failing:
        return Response(
            {"status": "unavailable", "failing": failing, "components": components},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    return Response({"status": "ok", "components": components})
