"""A person in a real browser (headless Chromium from Debian, driven by Playwright through its
executable path): signs in on the browsable API, creates a country, a doctor and a patient and books
an appointment through its forms (CSRF-protected), follows a next-page link and the root's links,
runs one "Try it out" in /docs, then signs out.

`make test` (bin/ensure-chromium) installs Chromium when it is missing; where it cannot, this test
says why."""

import json
import os
import shutil

import pytest

from tests.helpers import PASSWORD, next_local, z
from tests.stack import start_api

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# As the machine's probe starts it: no sandbox as root, and none of Chromium's own network traffic.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def api_server(aws_stack):
    """The API in its own process on this run's tables (static files served for the page's scripts)."""
    process, url = start_api("browser-api", "--insecure")
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def page(api_server):
    if not shutil.which(CHROMIUM):
        pytest.skip(f"No Chromium at {CHROMIUM}: `apt-get install -y chromium` (.ci/run does) or set CHROMIUM_PATH.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page()
        page.set_default_timeout(20_000)
        yield page
        browser.close()


def post_raw(page, url: str, body: dict) -> str:
    """Open a list page, put a JSON body in the raw data form, press POST; the page's text after."""
    page.goto(url)
    tab = page.locator("a[name='raw-tab'][href='#post-generic-content-form']")
    if tab.count():  # with an HTML form beside it, the raw form is a tab
        tab.click()
    form = page.locator("#post-generic-content-form form")
    form.locator("textarea[name='_content']").fill(json.dumps(body))
    form.locator("button", has_text="POST").click()
    # The page's script sends the body (with the CSRF token) and writes the answer in place.
    page.wait_for_function("document.querySelector('.request-info')?.innerText.startsWith('POST')")
    return page.inner_text(".response-info")


def test_a_person_signs_in_and_books_through_the_browsable_api(api, api_server, page):
    page.goto(f"{api_server}/countries")
    assert "401" in page.inner_text(".response-info")
    page.click("text=Log in")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("#submit-id-submit")
    page.wait_for_url(f"{api_server}/countries")
    assert "admin (admin)" in page.inner_text(".navbar")

    created = post_raw(page, f"{api_server}/countries", {"countryId": "002", "name": "CHILE", "code": "CL"})
    assert "HTTP 201 Created" in created
    doctor = {
        "doctorId": "doctor001",
        "name": "Dr. Lorea",
        "speciality": "Estomatolog",
        "countryId": "002",
        "availableTimes": ["Monday 10am-4pm"],
    }
    assert "HTTP 201 Created" in post_raw(page, f"{api_server}/doctors", doctor)
    patient = {"patientId": "0315", "name": "Jorge Moros", "countryId": "002", "email": "jorge@example.com"}
    assert "HTTP 201 Created" in post_raw(page, f"{api_server}/patients", patient)
    booking = {"patientId": "0315", "doctorId": "doctor001", "appointmentDate": z(next_local(0, "10:00"))}
    booked = post_raw(page, f"{api_server}/appointments", booking)
    assert "HTTP 201 Created" in booked and '"state": "pending"' in booked

    # The list's next page is a click away, and the root links to every resource.
    assert "HTTP 201 Created" in post_raw(
        page, f"{api_server}/countries", {"countryId": "604", "name": "PERU", "code": "PE"}
    )
    page.goto(f"{api_server}/countries?limit=1")
    assert '"countryId": "002"' in page.inner_text(".response-info")
    page.click("text=Next page")
    assert '"countryId": "604"' in page.inner_text(".response-info")
    page.goto(f"{api_server}/")
    page.click(f"a[href='{api_server}/appointments']")
    assert '"state": "pending"' in page.inner_text(".response-info")

    # /docs (Swagger UI, its files served by the app): "Try it out" on one operation.
    page.goto(f"{api_server}/docs")
    operation = page.locator("#operations-health-health_live_retrieve")
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    answer = operation.locator(".live-responses-table tbody tr.response").first
    assert answer.locator(".response-col_status").inner_text().strip() == "200"
    assert '"status": "ok"' in answer.locator(".response-col_description").inner_text()

    page.goto(f"{api_server}/countries")
    page.click("a.dropdown-toggle")
    page.click("text=Log out")
    page.wait_for_url(f"{api_server}/auth/login")
    page.goto(f"{api_server}/appointments")
    assert "401" in page.inner_text(".response-info")
