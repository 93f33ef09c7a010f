"""The permission layer reads what a view declares and knows no app: its rules, on stub views and
principals (no emulator needed). Each app's own declarations are tested through HTTP in
tests/accounts/test_access_matrix.py."""

from types import SimpleNamespace

import pytest
from rest_framework.exceptions import PermissionDenied

from scheduler.exceptions import InvalidInput
from scheduler.security.permissions import (
    ALL,
    LIST,
    READ,
    AccessRules,
    IsAllowed,
    OneOf,
    Own,
    Unchanged,
    action_kind,
    denied,
    redact,
)
from scheduler.security.roles import ADMIN, DOCTOR, PATIENT, STAFF, Principal


class Visits(AccessRules):
    """A resource of a made-up app: the layer must need nothing more than this."""

    access_kind = "visit"
    role_actions = {ADMIN: ALL, STAFF: ALL, DOCTOR: frozenset({LIST, READ}), PATIENT: ALL}
    list_actions = frozenset({"by_room"})
    read_actions = frozenset({"summary"})
    owner_fields = {DOCTOR: "doctor_id", PATIENT: "patient_id"}
    role_fields = {
        PATIENT: {"patient_id": Own("yours only"), "state": OneOf(frozenset({"cancelled"}), "cancel only")},
        DOCTOR: {"*": Unchanged("read only")},
    }
    staff_references = {
        "doctor_id": lambda key: denied("doctorId", f"{key} is elsewhere"),
        "patient_id": lambda key: InvalidInput("patientId", f"{key} does not exist"),
    }

    def __init__(self, action):
        self.action = action


def request_of(role, **links):
    return SimpleNamespace(user=Principal(username="u", role=role, **links))


@pytest.mark.parametrize(
    ("action", "kind"),
    [("list", LIST), ("by_room", LIST), ("retrieve", READ), ("summary", READ), ("metadata", READ), ("x", None)],
)
def test_a_views_own_routes_count_as_it_declares(action, kind):
    assert action_kind(Visits(action)) == kind


def test_the_role_actions_a_view_declares_decide_before_any_read():
    policy = IsAllowed()
    assert policy.has_permission(request_of(DOCTOR, doctor_id="d1"), Visits("by_room"))
    with pytest.raises(PermissionDenied, match="A doctor may not create visit records"):
        policy.has_permission(request_of(DOCTOR, doctor_id="d1"), Visits("create"))


def test_fields_a_role_may_set():
    policy, record = IsAllowed(), SimpleNamespace(state="pending", reason="x", patient_id="p1")
    patient = request_of(PATIENT, patient_id="p1")
    assert policy.check_input(patient, Visits("create"), {"patient_id": "p1", "state": "cancelled"})
    with pytest.raises(PermissionDenied) as refused:
        policy.check_input(patient, Visits("create"), {"patient_id": "p2"})
    assert refused.value.detail == {"patientId": ["yours only"]}
    with pytest.raises(PermissionDenied):
        policy.check_input(patient, Visits("partial_update"), {"state": "completed"}, record)
    # Echoing the stored value back is not setting it.
    assert policy.check_input(patient, Visits("partial_update"), {"state": "pending"}, record)
    doctor = request_of(DOCTOR, doctor_id="d1")
    assert policy.check_input(doctor, Visits("partial_update"), {"reason": "x"}, record)
    with pytest.raises(PermissionDenied) as refused:
        policy.check_input(doctor, Visits("partial_update"), {"reason": "y"}, record)
    assert refused.value.detail == {"reason": ["read only"]}


def test_staff_use_only_records_of_their_countries_as_the_caller_read_them():
    policy, view = IsAllowed(), Visits("create")
    staff = request_of(STAFF, country_ids=("002",))
    data = {"doctor_id": "d1", "patient_id": "p1"}
    policy.check_references(staff, view, data, {"doctor_id": "002", "patient_id": None})  # missing: the write says
    with pytest.raises(PermissionDenied) as refused:
        policy.check_references(staff, view, data, {"doctor_id": "003", "patient_id": "002"})
    assert refused.value.detail == {"doctorId": ["d1 is elsewhere"]}
    with pytest.raises(InvalidInput):
        policy.check_references(staff, view, data, {"doctor_id": "002", "patient_id": "003"})


def test_only_staff_make_the_reference_check_read():
    def unread():
        raise AssertionError("read for a role that does not need it")

    for role in (ADMIN, PATIENT):
        IsAllowed().check_references(request_of(role), Visits("create"), {}, unread)


def test_records_scoped_by_the_owner_field_a_view_declares():
    from scheduler.security.permissions import can_see

    mine, theirs = SimpleNamespace(patient_id="p1"), SimpleNamespace(patient_id="p2")
    patient = Principal(username="u", role=PATIENT, patient_id="p1")
    assert can_see(patient, Visits("retrieve"), mine) and not can_see(patient, Visits("retrieve"), theirs)
    params = IsAllowed().scope_list(SimpleNamespace(user=patient), Visits("list"), {})
    assert params == {"patient_id": "p1"}


def test_each_resource_registers_its_id_as_a_link_and_the_workers_get_the_project_app():
    import scheduler.urls  # noqa: F401 - loads every app's views
    from scheduler.api.renderers import ID_PAGES
    from scheduler.celery import app
    from scheduler.messaging import workers

    assert ID_PAGES == {
        "appointmentId": "/appointments/",
        "patientId": "/patients/",
        "doctorId": "/doctors/",
        "countryId": "/countries/",
        "appointmentTypeId": "/appointment-types/",
        "username": "/users/",
    }
    assert workers._app() is app


class Rooms(AccessRules):
    """A directory (everyone reads every room) with private parts, as doctors have."""

    access_kind = "room"
    role_actions = {ADMIN: ALL, STAFF: ALL, DOCTOR: frozenset({LIST, READ}), PATIENT: frozenset({LIST, READ})}
    directory = True
    owner_fields = {DOCTOR: "doctor_id"}
    private_fields = ("email", "closures.reason")


def shown_to(role, **links):
    record = SimpleNamespace(country_id="002", doctor_id="d1")
    shown = {"name": "Room 1", "email": "r@example.com", "closures": [{"start": "s", "reason": "chemotherapy"}]}
    redact(Principal(username="u", role=role, **links), Rooms(), record, shown)
    return shown


@pytest.mark.parametrize(
    ("role", "links"),
    [(PATIENT, {"patient_id": "p1"}), (DOCTOR, {"doctor_id": "d2"}), (STAFF, {"country_ids": ("003",)})],
)
def test_a_directorys_other_readers_get_it_without_its_private_fields(role, links):
    assert shown_to(role, **links) == {"name": "Room 1", "closures": [{"start": "s"}]}


@pytest.mark.parametrize(
    ("role", "links"), [(ADMIN, {}), (STAFF, {"country_ids": ("002",)}), (DOCTOR, {"doctor_id": "d1"})]
)
def test_admins_staff_of_its_country_and_its_owner_read_it_whole(role, links):
    assert shown_to(role, **links)["email"] == "r@example.com"
    assert shown_to(role, **links)["closures"][0]["reason"] == "chemotherapy"


def test_the_doctor_schema_leaves_what_some_readers_do_not_get_optional():
    """The OpenAPI schema stays truthful: a patient's doctor has no `email` and no `reason`."""
    from drf_spectacular.generators import SchemaGenerator

    schemas = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    assert "email" in schemas["Doctor"]["properties"] and "email" not in schemas["Doctor"]["required"]
    assert "reason" not in schemas["BlockedPeriod"].get("required", [])
    assert {"name", "speciality", "availableTimes"} <= set(schemas["Doctor"]["required"])


@pytest.mark.parametrize("role", [ADMIN, STAFF, DOCTOR, PATIENT])
def test_an_action_the_view_does_not_declare_is_refused_for_every_role(role):
    """Fail closed: a route whose action maps to no kind (a new @action forgotten in list_actions or
    read_actions) is a 403 for everyone, admins too, not an open door."""
    request = SimpleNamespace(user=Principal(username="u", role=role, doctor_id="d1", patient_id="p1"), method="GET")
    view = Visits("export_everything")
    view.get = lambda request: None  # the route exists: only its action is undeclared
    with pytest.raises(PermissionDenied, match="export_everything"):
        IsAllowed().has_permission(request, view)


def test_a_method_a_view_has_no_handler_for_stays_a_405():
    from rest_framework.exceptions import MethodNotAllowed

    request = SimpleNamespace(user=Principal(username="u", role=ADMIN), method="POST")
    with pytest.raises(MethodNotAllowed):
        IsAllowed().has_permission(request, Visits(None))


def registered_views():
    """Every DRF view the URL conf routes to, with the actions it takes (method → action)."""
    from django.urls import URLPattern, URLResolver, get_resolver

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern) and hasattr(pattern.callback, "cls"):
                yield pattern

    for pattern in walk(get_resolver().url_patterns):
        cls = pattern.callback.cls
        actions = getattr(pattern.callback, "actions", None)  # a ViewSet's route: method → action
        if actions is None:  # an APIView: one action for every method it handles
            actions = {m: getattr(cls, "action", None) for m in cls.http_method_names if hasattr(cls, m)}
        else:
            actions = {**actions, "options": "metadata"}
        yield str(pattern.pattern), cls, actions


def test_every_routed_action_is_declared_so_no_route_ships_undeclared():
    import scheduler.urls  # noqa: F401 - loads every app's views

    found, undeclared = set(), []
    for route, cls, actions in registered_views():
        found.add(cls.__name__)
        if getattr(cls, "access_kind", None) is None:  # open by design: health, schema, sign-in
            continue
        for method, action in actions.items():
            view = cls()
            view.action = action
            if action_kind(view) is None:
                undeclared.append(f"{cls.__name__}.{action} ({method.upper()} {route})")
    assert not undeclared, f"actions no access rule maps (refused for every role): {undeclared}"
    assert {"AppointmentViewSet", "PatientViewSet", "UserViewSet", "MeView", "AuditView"} <= found
