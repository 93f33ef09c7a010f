"""The one permission layer: who may do what to which record. Every view goes through it (it is
REST_FRAMEWORK's default permission class). It names no app's resource or route: each view declares
what this layer asks (see `AccessRules`), so a new app needs no change here.

Three questions, asked in this order:
1. May this role do this kind of action on this kind of resource at all? (`has_permission`: 401/403
   before anything is read.)
2. May this user see this record, and change it? (`has_object_permission` through the ViewSet's one
   choke point, `get_object`: a record the user may not see is a 404, never a 403 that confirms it.)
3. May this user set these fields to these values, and which part of a list may it see?
   (`check_input`, `scope_list`.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from rest_framework.exceptions import MethodNotAllowed, NotAuthenticated, PermissionDenied
from rest_framework.permissions import BasePermission

from scheduler.exceptions import InvalidInput, NotFound
from scheduler.security.roles import ADMIN, STAFF

# Kinds of action. DRF's actions map onto them; a view's own routes count as list or read.
LIST, READ, CREATE, UPDATE, DELETE = "list", "read", "create", "update", "delete"
ALL = frozenset({LIST, READ, CREATE, UPDATE, DELETE})
_DRF_ACTIONS = {
    "list": LIST,
    "retrieve": READ,
    "metadata": READ,
    "create": CREATE,
    "update": UPDATE,
    "partial_update": UPDATE,
    "destroy": DELETE,
}


def action_kind(view) -> str | None:
    action = getattr(view, "action", None) or ""
    if action in _DRF_ACTIONS:
        return _DRF_ACTIONS[action]
    if action in getattr(view, "list_actions", ()):
        return LIST
    if action in getattr(view, "read_actions", ()):
        return READ
    return None


@dataclass(frozen=True)
class OneOf:
    """A field a role may set only to these values (or leave as it is)."""

    values: frozenset[str]
    message: str


@dataclass(frozen=True)
class Unchanged:
    """A field a role may not change (it may echo the stored value back)."""

    message: str


@dataclass(frozen=True)
class Own:
    """A field a role may set only to its own linked record's id (the principal's attribute of that name)."""

    message: str


class AccessRules:
    """What a view declares for this layer (class attributes; a ViewSet inherits them):

    - `access_kind`: the resource's name in messages and the audit trail; None for open views.
    - `role_actions`: role → the kinds of action it may take on this resource at all.
    - `list_actions`, `read_actions`: the view's own routes that list, or read one record.
    - `directory`: every role allowed here may read every record (others are scoped per record).
    - `owner_fields`: role → the record attribute that role's records are scoped by; the principal's
      attribute of the same name is its own value (a doctor's `doctor_id`).
    - `role_fields`: role → field → `OneOf`/`Unchanged`/`Own`; "*" for every field not named.
    - `private_fields`: output fields (a dot reaches into a list's items: "unavailable.reason") shown
      only to those who may see the record's private part (`can_see_private`); a directory's other
      readers get the record without them.
    - `staff_references`: input field naming another record → the error when that record is outside
      staff's countries (given the id). The view reports those records' countries to
      `IsAllowed.check_references`, from the read its service makes anyway.
    """

    access_kind: ClassVar[str | None] = None
    role_actions: ClassVar[dict[str, frozenset[str]]] = {}
    list_actions: ClassVar[frozenset[str]] = frozenset()
    read_actions: ClassVar[frozenset[str]] = frozenset()
    directory: ClassVar[bool] = False
    owner_fields: ClassVar[dict[str, str]] = {}
    role_fields: ClassVar[dict[str, dict[str, OneOf | Unchanged | Own]]] = {}
    private_fields: ClassVar[tuple[str, ...]] = ()
    staff_references: ClassVar[dict[str, Any]] = {}


def _owner(user, view) -> tuple[str, str | None] | None:
    """The attribute this user's records are scoped by here, and the user's own value."""
    name = view.owner_fields.get(user.role)
    return None if name is None else (name, getattr(user, name, None))


def can_see(user, view, record: Any) -> bool:
    if user.role == ADMIN:
        return True
    if view.directory and user.role in view.role_actions:
        return True
    if user.role == STAFF:
        return getattr(record, "country_id", None) in user.country_ids
    owner = _owner(user, view)
    if owner is None or owner[1] is None:
        return False
    return getattr(record, owner[0], None) == owner[1] and _in_confinement(user, record)


def _in_confinement(user, record: Any) -> bool:
    """A doctor or patient login with countryIds (one staff made) reaches records of those countries only."""
    country_id = getattr(record, "country_id", None)
    return not user.country_ids or country_id is None or country_id in user.country_ids


def can_change(user, view, record: Any) -> bool:
    """For a record the user can see: may it change it (directory records are read-only to most)?"""
    if user.role == ADMIN:
        return True
    if user.role == STAFF:
        return getattr(record, "country_id", None) in user.country_ids
    return not view.directory and can_see(user, view, record)


def can_see_private(user, view, record: Any) -> bool:
    """Whether the user reads all of a record, its `private_fields` too: admins, staff of the record's
    country and the record's owner (a doctor its own record); not a directory's other readers."""
    if user.role == ADMIN:
        return True
    if user.role == STAFF:
        return getattr(record, "country_id", None) in user.country_ids
    owner = _owner(user, view)
    return owner is not None and owner[1] is not None and getattr(record, owner[0], None) == owner[1]


def redact(user, view, record: Any, shown: dict) -> None:
    """Drop from `shown` (the record as its serializer gave it) what this user may not read."""
    if not view.private_fields or can_see_private(user, view, record):
        return
    for path in view.private_fields:
        _drop(shown, path.split("."))


def _drop(shown: Any, path: list[str]) -> None:
    if isinstance(shown, list):
        for item in shown:
            _drop(item, path)
    elif isinstance(shown, dict):
        head, *rest = path
        if not rest:
            shown.pop(head, None)
        elif head in shown:
            _drop(shown[head], rest)


def denied(field: str, message: str) -> PermissionDenied:
    return PermissionDenied({field: [message]})


class IsAllowed(BasePermission):
    def has_permission(self, request, view) -> bool:
        kind = getattr(view, "access_kind", None)
        if kind is None:  # health, schema, docs, sign-in: open by design
            return True
        user = request.user
        if not user.is_authenticated:
            raise NotAuthenticated("Sign in: send `Authorization: Bearer <token>` (POST /auth/token gives one).")
        action = action_kind(view)
        if action is None:
            _refuse_undeclared(request, view)
        if action in view.role_actions.get(user.role, frozenset()):
            return True
        raise PermissionDenied(f"A {user.role} may not {action} {kind} records.")

    def has_object_permission(self, request, view, obj) -> bool:
        kind, user = view.access_kind, request.user
        if not can_see(user, view, obj):
            raise NotFound(f"{kind.capitalize()} '{view.record_id()}' not found.")
        if action_kind(view) in (CREATE, UPDATE, DELETE) and not can_change(user, view, obj):
            raise PermissionDenied(f"A {user.role} may read this {kind} but not change it.")
        return True

    # --- fields and lists --------------------------------------------------------------------------

    def check_input(self, request, view, data: dict[str, Any], record: Any = None) -> dict[str, Any]:
        """Refuse (403, naming the field) what this user may not set; returns the data to use."""
        user = request.user
        if user.role == ADMIN:
            return data
        rules = view.role_fields.get(user.role, {})
        for name, value in data.items():
            rule = rules.get(name, rules.get("*"))
            if rule is not None and not _allowed(rule, user, name, value, record):
                raise denied(_camel(name), rule.message)
        if user.role == STAFF:
            country_id = data.get("country_id")
            if country_id is not None and country_id not in user.country_ids:
                raise denied(
                    "countryId", f"'{country_id}' is not one of your countries ({', '.join(user.country_ids)})."
                )
        return data

    def check_references(
        self, request, view, data: dict[str, Any], countries: Mapping[str, str | None] | Callable[[], Mapping]
    ) -> None:
        """Staff use only records of their own countries: `countries` maps each input field naming a
        record to that record's country (None when it does not exist: the write itself answers that),
        or is a function that reads them, called only when this user's role needs them. The view calls
        this with what its service read, so the check costs no read of its own."""
        user = request.user
        if user.role == ADMIN or (user.role != STAFF and not user.country_ids):
            return  # a doctor or patient login with countryIds is held to them like staff
        if callable(countries):
            countries = countries()
        for name, country_id in countries.items():
            if country_id is not None and country_id not in user.country_ids:
                raise view.staff_references[name](data[name])

    def scope_list(self, request, view, params: dict[str, Any]) -> dict[str, Any]:
        """The filters a listing runs with: a doctor or patient sees only its own records, staff only
        its countries' (a filter outside them is a 403), admins everything."""
        user, kind = request.user, view.access_kind
        if user.role == ADMIN or view.directory:
            return params
        params = dict(params)
        if user.role == STAFF:
            given = params.get("country_id")
            if given is None:
                if len(user.country_ids) != 1:
                    raise InvalidInput("countryId", f"Give one of your countries: {', '.join(user.country_ids)}.")
                params["country_id"] = user.country_ids[0]
            elif given not in user.country_ids:
                raise denied("countryId", f"'{given}' is not one of your countries ({', '.join(user.country_ids)}).")
            return params
        owner = _owner(user, view)
        if owner is None or owner[1] is None:
            raise PermissionDenied(f"A {user.role} without a linked record has nothing to list.")
        name, own = owner
        if params.get(name) not in (None, own):
            raise denied(_camel(name), f"You may only list your own {kind}s ({_camel(name)} {own}).")
        params[name] = own
        if user.country_ids:  # a login confined to countries (one staff made) lists those only
            given = params.get("country_id")
            if given is not None and given not in user.country_ids:
                raise denied("countryId", f"'{given}' is not one of your countries ({', '.join(user.country_ids)}).")
            if given is None and len(user.country_ids) != 1:
                raise InvalidInput("countryId", f"Give one of your countries: {', '.join(user.country_ids)}.")
            params["country_id"] = given or user.country_ids[0]
        return params


def _refuse_undeclared(request, view) -> None:
    """Fail closed: an action no rule maps to a kind is refused for every role, admins too (a new
    route must be declared in `list_actions`/`read_actions`). A method the view has no handler for
    is DRF's 405, as it would be anyway."""
    method = request.method.lower()
    if method not in getattr(view, "http_method_names", (method,)) or not hasattr(view, method):
        raise MethodNotAllowed(request.method)
    raise PermissionDenied(
        f"The action '{getattr(view, 'action', None)}' of {view.access_kind} records is not declared; "
        "it is refused for every role."
    )


def _allowed(rule: OneOf | Unchanged | Own, user, name: str, value: Any, record: Any) -> bool:
    if isinstance(rule, Own):
        return value == getattr(user, name, None)
    stored = getattr(record, name, None) if record is not None else _ABSENT
    if isinstance(rule, OneOf):
        return value is None or value in rule.values or value == stored
    return value == stored


_ABSENT = object()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)
