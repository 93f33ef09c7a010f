"""Every error a client can meet carries a code from one list (scheduler.exceptions.ERROR_CODES):
the handler renders it, the OpenAPI schema lists it and docs/errors.md explains it. No services."""

import re

import pytest
from rest_framework import exceptions as drf

from scheduler import exceptions
from scheduler.api.exceptions import exception_handler
from scheduler.exceptions import ERROR_CODES, ApplicationError, Conflict, InvalidInput
from tests.stack import BASE_DIR


def application_errors() -> list[type[ApplicationError]]:
    import appointments.services  # noqa: F401 - defines its own subclass

    found, todo = [], [ApplicationError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo += cls.__subclasses__()
    return found


@pytest.mark.parametrize("cls", application_errors(), ids=lambda cls: cls.__name__)
def test_every_application_error_has_a_listed_code_of_its_status_and_renders_it(cls):
    code = cls.default_code
    assert code in ERROR_CODES, f"{cls.__name__}.default_code {code!r} is not in ERROR_CODES"
    assert cls.status_code in ERROR_CODES[code][0], f"{code!r} is not listed for {cls.status_code}"
    if cls is InvalidInput:  # always names its field
        return
    response = exception_handler(cls("Something a person can act on."), {})
    assert response.status_code == cls.status_code
    assert response.data == {"detail": "Something a person can act on.", "code": code}


def test_default_codes_are_distinct_except_the_documented_shares():
    """Only InvalidInput shares a default code (it is ApplicationError naming its field); a raise
    site that means more passes its own (slot_taken, in_use, ...)."""
    shared = {}
    for cls in application_errors():
        shared.setdefault(cls.default_code, set()).add(cls.__name__)
    assert {code: names for code, names in shared.items() if len(names) > 1} == {
        "invalid": {"ApplicationError", "InvalidInput"}
    }


def test_a_raise_site_gives_a_specific_code_and_an_unlisted_one_is_refused():
    response = exception_handler(Conflict("Doctor 'd1' is already booked.", code="slot_taken"), {})
    assert response.status_code == 409
    assert response.data == {"detail": "Doctor 'd1' is already booked.", "code": "slot_taken"}
    with pytest.raises(ValueError, match="not in ERROR_CODES"):
        Conflict("x", code="slot-taken")


def test_a_field_error_keeps_its_shape_whatever_its_code():
    assert exception_handler(InvalidInput("cursor", "Not valid."), {}).data == {"cursor": ["Not valid."]}
    error = ApplicationError("Taken.", field="username", status_code=409, code="duplicate")
    assert exception_handler(error, {}).data == {"username": ["Taken."]}
    assert exception_handler(drf.ValidationError({"name": ["Required."]}), {}).data == {"name": ["Required."]}


def test_a_503_says_when_to_retry():
    response = exception_handler(exceptions.ServiceUnavailable("Busy."), {})
    assert response.data["code"] == "unavailable" and response["Retry-After"] == "5"


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (drf.NotAuthenticated(), 401, "not_authenticated"),
        (drf.AuthenticationFailed("The token is not valid."), 401, "authentication_failed"),
        (drf.PermissionDenied("CSRF Failed: CSRF token missing."), 403, "permission_denied"),
        (drf.NotFound(), 404, "not_found"),
        (drf.MethodNotAllowed("POST"), 405, "method_not_allowed"),
        (drf.NotAcceptable(), 406, "not_acceptable"),
        (drf.UnsupportedMediaType("text/plain"), 415, "unsupported_media_type"),
        (drf.ParseError("JSON parse error - Expecting value"), 400, "parse_error"),
        (drf.Throttled(wait=7), 429, "throttled"),
        (drf.APIException(), 500, "server_error"),  # DRF's own "error" is not a code of this API
    ],
)
def test_drf_errors_that_render_as_detail_get_their_code(error, status, code):
    response = exception_handler(error, {})
    assert response.status_code == status
    assert set(response.data) == {"detail", "code"} and response.data["code"] == code
    if status == 429:
        assert response["Retry-After"] == "7"


def test_the_schema_lists_every_code_once_on_the_error_component():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    code = components["ErrorDetail"]["properties"]["code"]
    assert code["enum"] == list(ERROR_CODES)
    assert {"slot_taken", "patient_busy", "invalid_transition", "version_mismatch", "throttled"} <= set(code["enum"])
    assert components["Error"]["oneOf"][0] == {"$ref": "#/components/schemas/ErrorDetail"}
    conflict = schema["paths"]["/appointments"]["post"]["responses"]["409"]
    assert conflict["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert "`slot_taken`" in conflict["description"] and "`patient_busy`" in conflict["description"]


def test_the_bodies_the_handler_renders_match_the_schema_and_an_unlisted_code_does_not():
    import jsonschema  # schemathesis's dependency
    from drf_spectacular.generators import SchemaGenerator

    components = SchemaGenerator().get_schema(request=None, public=True)["components"]
    error = {"$ref": "#/components/schemas/Error", "components": components}
    rendered = [
        exception_handler(Conflict("Taken.", code="slot_taken"), {}).data,
        exception_handler(drf.Throttled(wait=3), {}).data,
        exception_handler(InvalidInput("code", "Not an ISO code."), {}).data,  # a field named `code`
        exception_handler(drf.ValidationError({"availableTimes": {"0": ["Bad."]}}), {}).data,
    ]
    for body in rendered:
        jsonschema.validate(body, error)
    for body in ({"detail": "x"}, {"detail": "x", "code": "slot-taken"}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(body, error)


def test_docs_explain_every_code():
    text = (BASE_DIR / "docs" / "errors.md").read_text()
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", text, flags=re.MULTILINE))
    assert documented == set(ERROR_CODES)
