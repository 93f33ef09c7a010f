"""The project's own views: the API root's links, the answer to a path no route matches, Django's
404 and 500 handlers, and the health checks. They name the project's routes, so they live beside
scheduler/urls.py, not in the platform's scheduler/api."""

from __future__ import annotations

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
@api_view(["GET"])
@authentication_classes([])  # whatever credentials come along (even revoked ones) do not matter here
@permission_classes([AllowAny])
@throttle_classes([])  # load balancers poll these
@renderer_classes([JSONRenderer])
def health_live(request: Request) -> Response:
    return Response({"status": "ok"})


@extend_schema(
    responses={
        200: inline_serializer("Ready", {"status": serializers.CharField(), "components": serializers.DictField()}),
        503: inline_serializer("NotReady", {"status": serializers.CharField(), "components": serializers.DictField()}),
    }
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([])
@renderer_classes([JSONRenderer])
def health_ready(request: Request) -> Response:
    components = aws.readiness()
    failing = sorted(name for name, state in components.items() if state != "ok")
    if failing:
        return Response(
            {"status": "unavailable", "failing": failing, "components": components},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    return Response({"status": "ok", "components": components})
