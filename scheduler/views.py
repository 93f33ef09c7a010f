"""The base of every resource's ViewSet, and the health endpoints.

A resource ViewSet names its serializers and maps five hooks onto its app's services and selectors;
the HTTP side (status codes, ETag/If-Match, Location, list envelope) is written once, here.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import JsonResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import api_view, permission_classes, renderer_classes, throttle_classes
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from scheduler import aws
from scheduler.db import Page, RecordModel
from scheduler.exceptions import PreconditionFailed
from scheduler.serializers import ID_PATTERN, ListParamsSerializer

_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')


def parse_if_match(request: Request) -> int | None:
    """The version an `If-Match` header asks for (`"3"`, `W/"3"` or `3`); None when absent or `*`."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    match = _ETAG.match(header)
    if not match:
        raise PreconditionFailed(f'If-Match {header!r} is not a version this API issued (expected e.g. "3").')
    return int(match.group(1))


class RecordViewSet(viewsets.GenericViewSet):
    """CRUD over one DynamoDB-backed resource. Subclasses set `serializer_class`,
    `list_params_class`, `location_prefix` and implement the hooks below."""

    lookup_value_regex = ID_PATTERN.strip("^$")
    list_params_class: type[ListParamsSerializer] = ListParamsSerializer
    # Where input takes another shape than output: action → serializer of the request body.
    input_serializer_classes: dict[str, type[serializers.Serializer]] = {}
    location_prefix = ""

    # --- hooks: each calls one service or selector ------------------------------------------------
    def get_record(self, record_id: str) -> RecordModel:
        raise NotImplementedError

    def list_records(self, params: dict[str, Any]) -> Page:
        raise NotImplementedError

    def create_record(self, data: dict[str, Any]) -> RecordModel | tuple[RecordModel, bool]:
        """The new record, or (record, created) where a repeated create returns the stored one."""
        raise NotImplementedError

    def update_record(
        self, record_id: str, data: dict[str, Any], *, if_match: int | None, replace: bool
    ) -> RecordModel:
        raise NotImplementedError

    def delete_record(self, record_id: str, *, if_match: int | None) -> None:
        raise NotImplementedError

    # --- HTTP ----------------------------------------------------------------------------------
    def record_id(self) -> str:
        return self.kwargs[self.lookup_url_kwarg or self.lookup_field]

    def render_record(self, record: RecordModel, status_code: int = status.HTTP_200_OK) -> Response:
        response = Response(self.get_serializer(record).data, status=status_code)
        response["ETag"] = f'"{record.version}"'
        return response

    def list(self, request: Request) -> Response:
        return self.list_response(request)

    def list_response(self, request: Request, **fixed: str) -> Response:
        """One page of the listing; `fixed` filters come from the path (the original routes)."""
        params = self.list_params_class(data=request.query_params)
        params.is_valid(raise_exception=True)
        page = self.list_records({**params.validated_data, **fixed})
        return Response({"results": self.get_serializer(page.items, many=True).data, "next": page.next})

    def input_serializer(self, **kwargs) -> serializers.Serializer:
        serializer_class = self.input_serializer_classes.get(self.action, self.get_serializer_class())
        serializer = serializer_class(context=self.get_serializer_context(), **kwargs)
        serializer.is_valid(raise_exception=True)
        return serializer

    def create(self, request: Request) -> Response:
        result = self.create_record(self.input_serializer(data=request.data).validated_data)
        record, created = result if isinstance(result, tuple) else (result, True)
        response = self.render_record(record, status.HTTP_201_CREATED if created else status.HTTP_200_OK)
        response["Location"] = f"{self.location_prefix}/{self.get_serializer(record).data[self.lookup_field]}"
        return response

    def retrieve(self, request: Request, **kwargs) -> Response:
        return self.render_record(self.get_record(self.record_id()))

    def update(self, request: Request, **kwargs) -> Response:
        return self._write(request, replace=True)

    def partial_update(self, request: Request, **kwargs) -> Response:
        return self._write(request, replace=False)

    def destroy(self, request: Request, **kwargs) -> Response:
        self.delete_record(self.record_id(), if_match=parse_if_match(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _write(self, request: Request, *, replace: bool) -> Response:
        data = dict(self.input_serializer(data=request.data, partial=not replace).validated_data)
        given_id = data.pop(self.id_source(), None)
        if given_id is not None and given_id != self.record_id():
            raise serializers.ValidationError(
                {self.lookup_field: [f"The id in the body ({given_id!r}) differs from the one in the URL."]}
            )
        record = self.update_record(self.record_id(), data, if_match=parse_if_match(request), replace=replace)
        return self.render_record(record)

    def id_source(self) -> str:
        return self.get_serializer().fields[self.lookup_field].source


def not_found(request, exception=None) -> JsonResponse:
    return JsonResponse({"detail": f"No endpoint at {request.path}; see /docs for the API."}, status=404)


def server_error(request) -> JsonResponse:
    return JsonResponse(
        {"detail": "Internal error; it has been logged.", "requestId": getattr(request, "request_id", None)}, status=500
    )


# --- Health --------------------------------------------------------------------------------------


@extend_schema(responses=inline_serializer("Live", {"status": serializers.CharField()}))
@api_view(["GET"])
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
