"""What any endpoint does with a body it cannot use: a 4xx that says why, never a 500."""

import pytest
from django.test import override_settings


def test_malformed_json_is_400(api):
    response = api.generic("POST", "/countries", b'{"name": "CHILE",', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert "JSON parse error" in response.json()["detail"]


def test_non_json_content_type_is_415(api):
    response = api.generic(
        "POST", "/countries", b"name=CHILE&code=CL", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert "application/x-www-form-urlencoded" in response.json()["detail"]  # it names what was sent


@pytest.mark.parametrize("body", [b"[]", b'"text"', b"42", b"null"])
def test_a_body_that_is_not_an_object_is_400(api, body):
    response = api.generic("POST", "/patients", body, content_type="application/json")
    assert response.status_code == 400, response.content


def test_oversized_body_is_413(api):
    with override_settings(MAX_BODY_BYTES=1024):
        body = b'{"name": "' + b"x" * 2000 + b'", "code": "CL"}'
        response = api.generic("POST", "/countries", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert "limit is 1024 bytes" in response.json()["detail"]  # it names the limit


def test_unknown_path_is_404(api):
    response = api.get("/nothing-here")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_wrong_method_is_405(api):
    response = api.post("/countries/002", {}, format="json")
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"


def test_the_request_id_is_the_servers_and_a_clients_own_is_echoed_beside_it(api):
    response = api.get("/countries", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] != "abc-123" and len(response["X-Request-ID"]) == 32
    assert response["X-Client-Request-ID"] == "abc-123"
    assert api.get("/countries", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] != response["X-Request-ID"]
    ill_formed = api.get("/countries", HTTP_X_REQUEST_ID="bad id with spaces")
    assert len(ill_formed["X-Request-ID"]) == 32 and "X-Client-Request-ID" not in ill_formed


def test_browsable_api_renders_html(api):
    response = api.get("/countries", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"<html" in response.content and b"Country" in response.content


def test_schema_and_docs_are_served_without_a_cdn(api):
    schema = api.get("/schema", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/countries", "/doctors/{doctorId}", "/patients", "/health/ready"} <= set(paths)
    codes = schema.json()["components"]["schemas"]["ErrorDetail"]["properties"]["code"]["enum"]
    assert {"slot_taken", "patient_busy", "invalid_transition", "version_mismatch", "throttled"} <= set(codes)
    docs = api.get("/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    for cdn in ("cdn.jsdelivr", "unpkg.com", "cdnjs"):
        assert cdn not in html


def test_too_many_requests_is_429_with_retry_after(api, settings):
    from django.core.cache import cache

    cache.clear()
    settings.API_RATE_LIMIT = "3/minute"
    codes = [api.get("/countries").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = api.get("/countries")
    assert int(limited["Retry-After"]) > 0
    assert limited.json()["code"] == "throttled"
    cache.clear()
