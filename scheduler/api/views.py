"""The base of every resource's ViewSet.

A resource ViewSet names its serializers and maps five hooks onto its app's services and selectors;
the HTTP side (status codes, ETag/If-Match, Location, list envelope) is written once, here. What the
permission layer and the audit trail need to know of a resource, the ViewSet declares (`AccessRules`,
`audited_reads`); the API root, unknown paths and health checks are the project's (scheduler/views.py).
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from django.utils.html import format_html
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from scheduler.api.renderers import register_id_page
from scheduler.api.serializers import ID_PATTERN, ListParamsSerializer
from scheduler.db import Page, RecordModel
from scheduler.exceptions import NotFound, PreconditionFailed, ServiceUnavailable
from scheduler.security import audit
from scheduler.security.crypto import refuse_undecryptable
from scheduler.security.permissions import (
    CREATE,
    DELETE,
    LIST,
    READ,
    UPDATE,
    AccessRules,
    IsAllowed,
    action_kind,
    redact,
)

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


def request_actor(request: Request, username: str, role: str | None) -> audit.Actor:
    """The audit actor of this request, with the server's request id and the client's (middleware)."""
    django_request = request._request
    return audit.Actor(
        username,
        role,
        getattr(django_request, "request_id", None),
        getattr(django_request, "client_request_id", None),
    )


_WRITE_ACTIONS = {CREATE: audit.CREATE, UPDATE: audit.UPDATE, DELETE: audit.DELETE}


class AuditedView(AccessRules):
    """Mixin for every view that acts for a signed-in user: the request's writes are attributed to
    it in the audit trail, and refusals are recorded as denied."""

    record_model: type | None = None
    # Every read of this resource is audited (personal or medical data); writes are audited for all.
    # With it, every successful response that shows a record, whatever its method, is in an entry.
    audited_reads: bool = False
    # The kind and field the shown records are audited by, where not `access_kind`/`lookup_field`.
    audited_type: str | None = None
    audited_id_field: str | None = None

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        user = request.user
        actor = request_actor(request, user.username or "anonymous", user.role)
        write = _WRITE_ACTIONS.get(action_kind(self))
        pending = None
        if write and self.record_model is not None:
            pending = audit.PendingWrite(write, self.access_kind, self.record_model, self._object_id())
        self._audit_scope = audit.acting(actor, pending)
        self._audit_scope.__enter__()

    def finalize_response(self, request, response, *args, **kwargs):
        if getattr(self, "_audit_scope", None) is not None:
            try:
                self.audit_shown(response)
            except ServiceUnavailable as exc:  # nothing is served unrecorded
                response = self.handle_exception(exc)
        self._leave_audit_scope()
        return super().finalize_response(request, response, *args, **kwargs)

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            # An unhandled error (a 500) skips finalize_response: the scope must not outlive the request.
            self._leave_audit_scope()

    def _leave_audit_scope(self) -> None:
        scope = getattr(self, "_audit_scope", None)
        if scope is not None:
            self._audit_scope = None
            scope.__exit__(None, None, None)

    def audit_shown(self, response) -> None:
        """The one place every route and method passes: a successful response showing records of an
        audited kind that no entry of this request names (a PATCH that changed nothing, a replayed
        create) writes a read entry for each; a write's or a listing's own entry already covers its."""
        if not self.audited_reads or not 200 <= response.status_code < 300:
            return
        data = getattr(response, "data", None)
        field = self.audited_id_field or getattr(self, "lookup_field", None)
        items = data.get("results") if isinstance(data, dict) and "results" in data else data
        items = items if isinstance(items, list) else [items]
        ids = [str(item[field]) for item in items if isinstance(item, dict) and item.get(field)]
        if ids:
            audit.record_shown(self.audited_type or self.access_kind or "?", ids)

    def handle_exception(self, exc):
        if getattr(exc, "status_code", None) == status.HTTP_403_FORBIDDEN:
            # DRF's cached user: reading `request.user` here could authenticate (and fail) again.
            user = getattr(getattr(self, "request", None), "_user", None)
            if getattr(user, "is_authenticated", False):
                self.audit_denied()  # refusals before the view ran too (the role may not do this at all)
        return super().handle_exception(exc)

    def audit_denied(self, object_id: str | None = None) -> None:
        """A refusal, about `object_id` (default: the URL's record)."""
        user = self.request.user
        actor = request_actor(self.request, user.username, user.role)
        # The refusal stands even if its entry cannot be written (audit.record logs that).
        with contextlib.suppress(ServiceUnavailable):
            audit.record(
                action_kind(self) or "access",
                self.access_kind or "?",
                object_id or self._object_id() or "*",
                outcome=audit.DENIED,
                actor=actor,
            )

    def _object_id(self) -> str | None:
        return self.kwargs.get(getattr(self, "lookup_field", None) or "", None)

    def policy(self) -> IsAllowed:
        return next(p for p in self.get_permissions() if isinstance(p, IsAllowed))


def page_of(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    """The list envelope as OpenAPI sees it: `{results: [...], next: cursor or null}`."""
    name = serializer_class.__name__.removesuffix("Serializer")
    return inline_serializer(
        f"{name}Page",
        {
            "results": serializer_class(many=True),
            "next": serializers.CharField(allow_null=True, help_text="The cursor of the next page, or null."),
        },
    )


class EnvelopeSchema(AutoSchema):
    """Lists answer an envelope object (`page_of`), never a bare array."""

    def _is_list_view(self, serializer=None) -> bool:
        return False


class RecordSchema(EnvelopeSchema):
    """Requests are documented with the action's input serializer, responses with the record's; a
    list with its envelope and its query parameters."""

    def get_response_serializers(self):
        if self.method == "DELETE":
            return None
        if action_kind(self.view) == LIST:
            return page_of(self.view.serializer_class)
        if self.view.action == "create" and getattr(self.view, "create_replays", False):
            return {
                201: self.view.serializer_class,
                200: OpenApiResponse(
                    self.view.serializer_class,
                    description="The same request was made before with this id: the stored record, unchanged.",
                ),
            }
        if self.view.action in ("create", "update", "partial_update", "retrieve"):
            return self.view.serializer_class
        return super().get_response_serializers()

    def get_override_parameters(self):
        if action_kind(self.view) == LIST:
            return [self.view.list_params_class]
        return super().get_override_parameters()


class RecordViewSet(AuditedView, viewsets.GenericViewSet):
    """CRUD over one DynamoDB-backed resource. Subclasses set `serializer_class`, `access_kind`,
    `record_model`, `list_params_class`, `location_prefix`, the access rules, and implement the hooks
    below. Its `lookup_field` becomes a link to `location_prefix` in the browsable API, wherever a
    record shows that field."""

    lookup_value_regex = ID_PATTERN.strip("^$")
    schema = RecordSchema()
    list_params_class: type[ListParamsSerializer] = ListParamsSerializer
    # Where input takes another shape than output: action → serializer of the request body.
    input_serializer_classes: dict[str, type[serializers.Serializer]] = {}
    location_prefix = ""
    # The listing filters an audit entry names as what was listed, most specific first.
    audit_scope_fields: tuple[str, ...] = ("country_id",)

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if cls.location_prefix and "lookup_field" in cls.__dict__:
            register_id_page(cls.lookup_field, f"{cls.location_prefix}/")

    # --- hooks: each calls one service or selector ------------------------------------------------
    def get_record(self, record_id: str) -> RecordModel:
        raise NotImplementedError

    def list_records(self, params: dict[str, Any]) -> Page:
        raise NotImplementedError

    def create_record(self, data: dict[str, Any]) -> RecordModel | tuple[RecordModel, bool]:
        """The new record, or (record, created) where a repeated create returns the stored one."""
        raise NotImplementedError

    def update_record(
        self, record_id: str, data: dict[str, Any], *, if_match: int | None, replace: bool, current: RecordModel
    ) -> RecordModel:
        """`current`: the record as get_object read and checked it (the service writes on its version)."""
        raise NotImplementedError

    def delete_record(self, record_id: str, *, if_match: int | None, current: RecordModel) -> None:
        raise NotImplementedError

    # --- HTTP ----------------------------------------------------------------------------------
    def record_id(self) -> str:
        return self.kwargs[self.lookup_url_kwarg or self.lookup_field]

    def get_object(self) -> RecordModel:
        """The one way a view reaches a record: read it, check that this user may see it (404
        otherwise) and may do this action to it (403), and audit the read of personal data."""
        record = self.get_record(self.record_id())
        try:
            self.check_object_permissions(self.request, record)
        except NotFound:
            self.audit_denied()
            raise
        # A record shown or changed alone must be whole (a 503 for it alone, before its read is
        # audited as served); deleting one whose value does not decrypt stays possible.
        if action_kind(self) != DELETE:
            refuse_undecryptable(record)
        if action_kind(self) == READ and self.audited_reads:
            audit.record(audit.READ, self.access_kind, self.record_id())
        return record

    def get_serializer_class(self) -> type[serializers.Serializer]:
        """The body an action takes (its form in the browsable API, its request in OpenAPI); records
        are always shown with `serializer_class` (see `output`)."""
        action = self.action
        if action == "metadata":  # OPTIONS describes each method's body with the request cloned to it
            action = (self.action_map or {}).get(self.request.method.lower(), action)
        return self.input_serializer_classes.get(action) or self.serializer_class

    def output(self, instance, **kwargs) -> serializers.Serializer:
        return self.serializer_class(instance, context=self.get_serializer_context(), **kwargs)

    def shown(self, record: RecordModel) -> dict:
        """The record as this user may read it: without the `private_fields` it may not see."""
        data = self.output(record).data
        redact(self.request.user, self, record, data)
        return data

    def shown_list(self, records: list[RecordModel]) -> list:
        data = self.output(records, many=True).data
        for record, item in zip(records, data, strict=True):
            redact(self.request.user, self, record, item)
        return data

    def render_record(self, record: RecordModel, status_code: int = status.HTTP_200_OK) -> Response:
        refuse_undecryptable(record)  # e.g. a replayed create returning a stored record
        response = Response(self.shown(record), status=status_code)
        response["ETag"] = f'"{record.version}"'
        return response

    def list(self, request: Request) -> Response:
        return self.list_response(request)

    def list_response(self, request: Request, **fixed: str) -> Response:
        """One page of the listing; `fixed` filters come from the path (the original routes)."""
        params = self.list_params_class(data=request.query_params)
        params.is_valid(raise_exception=True)
        scoped = self.policy().scope_list(request, self, {**params.validated_data, **fixed})
        page = self.list_records(scoped)
        if self.audited_reads:
            ids = [str(getattr(item, item._hash_keyname)) for item in page.items]
            scope_id, spread = self.list_scope(scoped)
            audit.record(audit.LIST, self.access_kind, scope_id, object_ids=ids, spread=spread)
        return paginated_response(request, self.shown_list(page.items), page.next, view=self)

    def list_scope(self, params: dict[str, Any]) -> tuple[str, bool]:
        """What a listing was of, for its audit entry: the most specific id it was filtered by
        (`audit_scope_fields`); and whether the entry is spread over AUDIT_LIST_SHARDS keys: a
        country's listing and the unfiltered one ("*") are listed by many users at once, a patient's
        or doctor's by a few."""
        for name in self.audit_scope_fields:
            if params.get(name):
                return str(params[name]), name == "country_id"
        return "*", True

    def input_serializer(self, **kwargs) -> serializers.Serializer:
        serializer = self.get_serializer_class()(context=self.get_serializer_context(), **kwargs)
        serializer.is_valid(raise_exception=True)
        return serializer

    def checked_input(self, record: RecordModel | None = None, **kwargs) -> dict[str, Any]:
        """The validated body, after the permission layer has refused what this user may not set."""
        data = dict(self.input_serializer(**kwargs).validated_data)
        return self.policy().check_input(self.request, self, data, record)

    def check_references(self, data: dict[str, Any], countries) -> None:
        """For a service's read of the records `data` names: may this user use them (see
        `IsAllowed.check_references`)? Services call it back, so the check costs no read of its own."""
        self.policy().check_references(self.request, self, data, countries)

    def create(self, request: Request) -> Response:
        result = self.create_record(self.checked_input(data=request.data))
        record, created = result if isinstance(result, tuple) else (result, True)
        response = self.render_record(record, status.HTTP_201_CREATED if created else status.HTTP_200_OK)
        response["Location"] = f"{self.location_prefix}/{self.output(record).data[self.lookup_field]}"
        return response

    def retrieve(self, request: Request, **kwargs) -> Response:
        return self.render_record(self.get_object())

    def update(self, request: Request, **kwargs) -> Response:
        return self._write(request, replace=True)

    def partial_update(self, request: Request, **kwargs) -> Response:
        return self._write(request, replace=False)

    def destroy(self, request: Request, **kwargs) -> Response:
        self.delete_record(self.record_id(), if_match=parse_if_match(request), current=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _write(self, request: Request, *, replace: bool) -> Response:
        current = self.get_object()
        data = self.checked_input(current, data=request.data, partial=not replace)
        given_id = data.pop(self.id_source(), None)
        if given_id is not None and given_id != self.record_id():
            raise serializers.ValidationError(
                {self.lookup_field: [f"The id in the body ({given_id!r}) differs from the one in the URL."]}
            )
        record = self.update_record(
            self.record_id(), data, if_match=parse_if_match(request), replace=replace, current=current
        )
        return self.render_record(record)

    def id_source(self) -> str:
        return self.serializer_class().fields[self.lookup_field].source


class NextPageControls:
    """What the browsable API shows as its page controls (it reads `view.paginator`): a "Next" link."""

    display_page_controls = True

    def __init__(self, url: str) -> None:
        self.url = url

    def get_results(self, data):
        raise KeyError("results")  # the browsable API then offers no filter form (there is no queryset)

    def to_html(self) -> str:
        return format_html('<ul class="pager"><li class="next"><a href="{}">Next page &raquo;</a></li></ul>', self.url)


def paginated_response(request: Request, results: list, next_cursor: str | None, view=None) -> Response:
    """The list envelope, and RFC 8288's `Link: <next page>; rel="next"` when there is one (in a
    browser, a "Next page" link too)."""
    response = Response({"results": results, "next": next_cursor})
    if next_cursor:
        url = replace_query_param(request.build_absolute_uri(), "cursor", next_cursor)
        response["Link"] = f'<{url}>; rel="next"'
        if view is not None:
            view._paginator = NextPageControls(url)
    return response
