"""The API as a person meets it: the root, unknown paths, the next-page link, static files with
DEBUG off, and one log line per request."""

import json
import logging
import os
import subprocess
import sys

from django.test import Client, override_settings

from tests.stack import BASE_DIR


def test_the_root_links_every_resource_the_docs_and_the_sign_in(anonymous):
    response = anonymous.get("/")
    assert response.status_code == 200
    links = response.json()
    for name in ("countries", "doctors", "patients", "appointments", "users", "audit", "docs", "schema", "loginPage"):
        assert links[name].startswith("http://testserver/"), name
    page = anonymous.get("/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and b"http://testserver/appointments" in page.content


def test_an_unknown_path_is_a_json_404_even_with_debug_on(anonymous):
    with override_settings(DEBUG=True):
        for method in ("get", "post", "delete", "options"):
            response = getattr(anonymous, method)("/no/such/thing")
            assert response.status_code == 404
            assert response["Content-Type"] == "application/json"
            assert response.json()["code"] == "not_found"
            assert "No endpoint at /no/such/thing" in response.json()["detail"]
        newline = anonymous.delete("/patients/a%0Ab")  # not an id; and a newline once reached Django's page
        assert newline.status_code == 404 and newline["Content-Type"] == "application/json"
        html = anonymous.get("/no/such/thing", HTTP_ACCEPT="text/html")
    assert html.status_code == 404 and b"Django REST framework" in html.content  # DRF's page, not Django's
    assert b"URLconf" not in html.content


def test_a_list_with_more_pages_sends_a_link_to_the_next(api):
    for code, country_id in (("CL", "002"), ("PE", "003"), ("AR", "004")):
        assert (
            api.post("/countries", {"countryId": country_id, "name": code, "code": code}, format="json").status_code
            == 201
        )
    first = api.get("/countries?limit=2")
    next_cursor = first.json()["next"]
    assert next_cursor and first["Link"].endswith('>; rel="next"')
    url = first["Link"][1 : first["Link"].index(">")]
    assert url.startswith("http://testserver/countries?") and "limit=2" in url
    second = api.get(url.removeprefix("http://testserver"))
    assert [c["countryId"] for c in second.json()["results"]] == ["004"]
    assert second.json()["next"] is None and "Link" not in second


def test_the_docs_and_their_static_files_are_served_with_debug_off(anonymous):
    with override_settings(DEBUG=False):
        docs = anonymous.get("/docs")
        assert docs.status_code == 200
        script = "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
        assert script.encode() in docs.content
        assert Client().get(script).status_code == 200
        assert Client().get("/static/rest_framework/css/bootstrap.min.css").status_code == 200


def test_each_request_is_one_log_line_with_its_request_id(api, caplog):
    with caplog.at_level(logging.INFO, logger="scheduler.requests"):
        response = api.get("/countries?limit=1", HTTP_X_REQUEST_ID="req-42")
    (record,) = [r for r in caplog.records if r.name == "scheduler.requests"]
    assert record.getMessage().startswith("GET /countries 200 ")
    assert record.request_id == response["X-Request-ID"] and record.client_request_id == "req-42"
    assert record.status == 200 and record.user == "admin"
    assert record.duration_ms >= 0 and "limit" not in record.getMessage()


def test_log_format_json_writes_one_object_per_line():
    env = {**os.environ, "LOG_FORMAT": "json", "DJANGO_SETTINGS_MODULE": "scheduler.settings"}
    code = "import django; django.setup(); from django.test import Client; Client().get('/health/live')"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    (request,) = [line for line in lines if line["logger"] == "scheduler.requests"]
    assert request["message"].startswith("GET /health/live 200 ") and request["level"] == "INFO"
    assert request["method"] == "GET" and request["status"] == 200 and len(request["request_id"]) == 32


def form_template(client, path: str, method: str = "POST") -> dict:
    """The JSON the browsable API's raw data form starts with for `method` on `path`."""
    import html
    import re

    page = client.get(path, HTTP_ACCEPT="text/html").content.decode()
    form_id = "post-generic-content-form" if method == "POST" else "put-generic-content-form"
    section = page[page.index(f'id="{form_id}"') :]
    content = re.search(r'<textarea name="_content"[^>]*>(.*?)</textarea>', section, re.S).group(1)
    return json.loads(html.unescape(content))


def test_the_booking_form_shows_the_request_body_and_accepts_it_with_the_required_fields_filled(api):
    from tests.helpers import next_local, z

    api.post("/countries", {"countryId": "002", "name": "CHILE", "code": "CL"}, format="json")
    doctor = {
        "doctorId": "d1",
        "name": "Dr",
        "speciality": "GP",
        "countryId": "002",
        "availableTimes": ["Monday 10am-4pm"],
    }
    api.post("/doctors", doctor, format="json")
    api.post("/patients", {"patientId": "p1", "name": "P", "countryId": "002"}, format="json")
    template = form_template(api, "/appointments")
    assert "endDate" not in template and "nextReminderAt" not in template  # output-only fields
    assert {"patientId", "doctorId", "appointmentDate", "durationMinutes", "state"} <= set(template)
    body = {**template, "patientId": "p1", "doctorId": "d1", "appointmentDate": z(next_local(0, "10:00"))}
    response = api.post("/appointments", body, format="json")
    assert response.status_code == 201, response.content
    options = api.options("/appointments").json()["actions"]["POST"]
    assert not options["countryId"]["required"] and not options["durationMinutes"]["required"]
    assert options["patientId"]["required"] and options["appointmentDate"]["required"]


def test_null_or_blank_optional_fields_count_as_left_out(api):
    body = {"countryId": "002", "name": "CHILE", "code": "CL", "timeZone": "", "minNoticeMinutes": None}
    response = api.post("/countries", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["timeZone"] == "America/Santiago" and response.json()["minNoticeMinutes"] == 60
    refused = api.post("/countries", {"countryId": "003", "name": None, "code": "PE"}, format="json")
    assert refused.status_code == 400 and "name" in refused.json()  # a required field stays required


def test_ids_in_the_browsable_api_link_to_their_records(api):
    api.post("/countries", {"countryId": "002", "name": "CHILE", "code": "CL"}, format="json")
    page = api.get("/countries", HTTP_ACCEPT="text/html").content.decode()
    assert '&quot;countryId&quot;: &quot;<a href="/countries/002">002</a>&quot;' in page
    assert "<script" not in page.split('class="response-info"')[1].split("</pre>")[0]  # the JSON stays text
    assert api.get("/countries").json()["results"][0]["countryId"] == "002"  # JSON clients see plain JSON
    api.post("/patients", {"patientId": "p1", "name": "<script>alert(1)</script>", "countryId": "002"}, format="json")
    patient_page = api.get("/patients/p1", HTTP_ACCEPT="text/html").content.decode()
    assert "<script>alert(1)" not in patient_page and "&lt;script&gt;alert(1)" in patient_page
