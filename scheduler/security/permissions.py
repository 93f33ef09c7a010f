"""The one permission layer: who may do what to which record. Every view goes through it (it is
REST_FRAMEWORK's default permission class); views only name their resource kind (`access_kind`).

Three questions, asked in this order:
1. May this role do this kind of action on this kind of resource at all? (`has_permission`: 401/403
   before anything is read.)
2. May this user see this record, and change it? (`has_object_permission` through the ViewSet's one
   choke point, `get_object`: a record the user may not see is a 404, never a 403 that confirms it.)
3. May this user set these fields to these values, and which part of a list may it see?
   (`check_input`, `scope_list`.)
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.permissions import BasePermission

from scheduler.exceptions import InvalidInput, NotFound
from scheduler.security.roles import ADMIN, DOCTOR, PATIENT, STAFF

# Kinds of action. DRF's actions map onto them; custom read-only routes count as list or read.
LIST, READ, CREATE, UPDATE, DELETE = "list", "read", "create", "update", "delete"
ALL = frozenset({LIST, READ, CREATE, UPDATE, DELETE})
_ACTION_KINDS = {
    "list": LIST,
    "by_country": LIST,
    "by_doctor": LIST,
    "by_patient": LIST,
    "by_country_and_doctor": LIST,
    "retrieve": READ,
    "availability": READ,
    "metadata": READ,
    "me": READ,
    "create": CREATE,
    "update": UPDATE,
    "partial_update": UPDATE,
    "destroy": DELETE,
}

# Role → the kinds of action it may take on each resource (before looking at any record).
ROLE_ACTIONS: dict[str, dict[str, frozenset[str]]] = {
    "country": {
        ADMIN: ALL,
        STAFF: frozenset({LIST, READ}),
        DOCTOR: frozenset({LIST, READ}),
        PATIENT: frozenset({LIST, READ}),
    },
    "doctor": {ADMIN: ALL, STAFF: ALL, DOCTOR: frozenset({LIST, READ}), PATIENT: frozenset({LIST, READ})},
    "patient": {ADMIN: ALL, STAFF: ALL, PATIENT: frozenset({READ, UPDATE})},
    "appointment": {ADMIN: ALL, STAFF: ALL, DOCTOR: frozenset({LIST, READ, UPDATE}), PATIENT: ALL},
    "user": {ADMIN: ALL, STAFF: frozenset({CREATE})},
    "audit": {ADMIN: frozenset({LIST})},
    "me": {role: frozenset({READ}) for role in (ADMIN, STAFF, DOCTOR, PATIENT)},
}
# Resources every signed-in user may read whole (a directory); the others are scoped per record.
DIRECTORY = {"country", "doctor"}
# What each role may set on an appointment it may change.
DOCTOR_STATES = {"completed", "no_show"}
PATIENT_STATES = {"cancelled"}


def action_kind(view) -> str | None:
    return _ACTION_KINDS.get(getattr(view, "action", None) or "")


def _owner_field(user) -> tuple[str, str | None] | None:
    """The attribute a doctor's or patient's records are scoped by, and the user's own value."""
    if user.role == DOCTOR:
        return "doctor_id", user.doctor_id
    if user.role == PATIENT:
        return "patient_id", user.patient_id
    return None


def can_see(user, kind: str, record: Any) -> bool:
    if user.role == ADMIN:
        return True
    if kind in DIRECTORY and user.role in ROLE_ACTIONS[kind]:
        return True
    if user.role == STAFF:
        return getattr(record, "country_id", None) in user.country_ids
    owner = _owner_field(user)
    if owner is None or owner[1] is None or kind not in ("patient", "appointment"):
        return False
    if kind == "patient" and user.role != PATIENT:
        return False
    return getattr(record, owner[0], None) == owner[1]


def can_change(user, kind: str, record: Any) -> bool:
    """For a record the user can see: may it change it (directory records are read-only to most)?"""
    if user.role == ADMIN:
        return True
    if user.role == STAFF:
        return getattr(record, "country_id", None) in user.country_ids
    return kind not in DIRECTORY and can_see(user, kind, record)


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
        if action is None or action in ROLE_ACTIONS.get(kind, {}).get(user.role, frozenset()):
            return True
        raise PermissionDenied(f"A {user.role} may not {action} {kind} records.")

    def has_object_permission(self, request, view, obj) -> bool:
        kind, user = view.access_kind, request.user
        if not can_see(user, kind, obj):
            raise NotFound(f"{kind.capitalize()} '{view.record_id()}' not found.")
        if action_kind(view) in (CREATE, UPDATE, DELETE) and not can_change(user, kind, obj):
            raise PermissionDenied(f"A {user.role} may read this {kind} but not change it.")
        return True

    # --- fields and lists --------------------------------------------------------------------------

    def check_input(self, request, view, data: dict[str, Any], record: Any = None) -> dict[str, Any]:
        """Refuse (403, naming the field) what this user may not set; returns the data to use."""
        user, kind = request.user, view.access_kind
        if user.role == ADMIN:
            return data
        if user.role == STAFF:
            return self._staff_input(user, kind, data)
        if kind == "patient":  # a patient editing its own profile
            if "country_id" in data and data["country_id"] != record.country_id:
                raise denied("countryId", "A patient cannot move its profile to another country.")
            return data
        if kind == "appointment" and user.role == PATIENT:
            if "patient_id" in data and data["patient_id"] != user.patient_id:
                raise denied("patientId", "A patient books only for itself: use your own patientId.")
            state = data.get("state")
            if state is not None and (record is None or state != record.state) and state not in PATIENT_STATES:
                raise denied("state", "A patient may only cancel an appointment; the clinic sets other states.")
            return data
        if kind == "appointment" and user.role == DOCTOR:
            for name, value in data.items():
                if name == "state":
                    if value not in DOCTOR_STATES and value != record.state:
                        raise denied("state", "A doctor may mark its appointments completed or no_show only.")
                elif getattr(record, name, None) != value:
                    raise denied(_camel(name), "A doctor may only set the state of its appointments.")
            return data
        return data

    def _staff_input(self, user, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        if kind == "user":  # staff create doctor and patient users of their own countries
            if data.get("role") not in (DOCTOR, PATIENT):
                raise denied("role", "Staff may create doctor and patient users only.")
            from accounts.services import linked_country

            country = linked_country(doctor_id=data.get("doctor_id"), patient_id=data.get("patient_id"))
            if country is not None and country not in user.country_ids:
                raise denied(
                    "doctorId" if data.get("doctor_id") else "patientId", "That record is outside your countries."
                )
            return data
        country_id = data.get("country_id")
        if country_id is not None and country_id not in user.country_ids:
            raise denied("countryId", f"'{country_id}' is not one of your countries ({', '.join(user.country_ids)}).")
        if kind == "appointment" and ("doctor_id" in data or "patient_id" in data):
            from doctors.models import Doctor
            from patients.models import Patient
            from scheduler.db import batch_get

            # The doctor decides the appointment's country; the patient must be one of staff's own
            # too. A patient outside them reads as missing, so other countries cannot be probed.
            keys = [(Doctor, data["doctor_id"])] if "doctor_id" in data else []
            keys += [(Patient, data["patient_id"])] if "patient_id" in data else []
            for (model, key), found in zip(keys, batch_get(keys), strict=True):
                if found is None:
                    continue  # the booking itself answers 400 naming the field
                if model is Doctor and found.country_id not in user.country_ids:
                    raise denied("doctorId", f"Doctor '{key}' practises outside your countries.")
                if model is Patient and found.country_id not in user.country_ids:
                    raise InvalidInput("patientId", f"Patient '{key}' does not exist.")
        return data

    def scope_list(self, request, view, params: dict[str, Any]) -> dict[str, Any]:
        """The filters a listing runs with: a doctor or patient sees only its own records, staff only
        its countries' (a filter outside them is a 403), admins everything."""
        user, kind = request.user, view.access_kind
        if user.role == ADMIN or kind in DIRECTORY:
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
        owner = _owner_field(user)
        if owner is None or owner[1] is None:
            raise PermissionDenied(f"A {user.role} without a linked record has nothing to list.")
        name, own = owner
        if params.get(name) not in (None, own):
            raise denied(_camel(name), f"You may only list your own appointments ({_camel(name)} {own}).")
        params[name] = own
        return params


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)
