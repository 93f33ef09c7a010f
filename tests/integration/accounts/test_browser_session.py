"""The browsable API in a browser: sign in on a page, use the forms (CSRF-protected), sign out.
Django's test client with CSRF checks on stands in for the browser here."""

import re

import pytest
from django.test import Client

from accounts.models import Token
from tests.helpers import PASSWORD

HTML = {"HTTP_ACCEPT": "text/html"}


def csrf_from(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


@pytest.fixture
def browser(api):
    return Client(enforce_csrf_checks=True)


def sign_in(browser, password=PASSWORD, next_url="/countries"):
    page = browser.get(f"/auth/login?next={next_url}")
    assert page.status_code == 200
    return browser.post(
        "/auth/login",
        {
            "username": "admin",
            "password": password,
            "next": next_url,
            "csrfmiddlewaretoken": csrf_from(page.content.decode()),
        },
    )


def test_the_browsable_api_offers_a_sign_in_link(browser):
    page = browser.get("/countries", **HTML)
    assert page.status_code == 401
    assert "href='/auth/login?next=/countries'" in page.content.decode()
    login = browser.get("/auth/login")
    assert b"Medical appointment scheduler" in login.content and b'name="password"' in login.content


def test_sign_in_sets_an_httponly_samesite_session_and_the_forms_work(browser):
    response = sign_in(browser)
    assert response.status_code == 302 and response["Location"] == "/countries"
    cookie = browser.cookies["scheduler_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    page = browser.get("/countries", **HTML)
    assert page.status_code == 200
    html = page.content.decode()
    assert "admin (admin)" in html and 'id="logoutForm"' in html  # the user and the sign-out link
    body = '{"countryId": "002", "name": "CHILE", "code": "CL"}'
    refused = browser.post("/countries", body, content_type="application/json")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert "CSRF" in refused.json()["detail"]  # it says what is missing
    created = browser.post("/countries", body, content_type="application/json", HTTP_X_CSRFTOKEN=csrf_from(html))
    assert created.status_code == 201, created.content


def test_a_wrong_password_stays_on_the_page_with_one_message(browser):
    response = sign_in(browser, password="wrong password")
    assert response.status_code == 400
    assert b"Invalid username or password." in response.content
    assert "scheduler_session" not in browser.cookies or not browser.cookies["scheduler_session"].value


def test_the_sign_in_form_itself_is_csrf_protected(browser):
    response = Client(enforce_csrf_checks=True).post("/auth/login", {"username": "admin", "password": PASSWORD})
    assert response.status_code == 403


def test_next_never_leads_off_the_site(browser):
    response = sign_in(browser, next_url="https://evil.example.com/")
    assert response.status_code == 302 and response["Location"] == "/appointments"


def test_sign_out_revokes_the_sessions_token(browser):
    sign_in(browser)
    tokens_before = {t.token_hash for t in Token.scan()}
    html = browser.get("/countries", **HTML).content.decode()
    response = browser.post("/auth/logout", {"csrfmiddlewaretoken": csrf_from(html)})
    assert response.status_code == 302
    assert len(tokens_before - {t.token_hash for t in Token.scan()}) == 1
    assert browser.get("/countries", **HTML).status_code == 401


def test_a_sign_in_that_keeps_losing_races_stays_on_the_page_with_a_409(browser, monkeypatch):
    """Review of issue 17, item 7: the user changes before every token write (the race injected),
    so the sign-in gives up with a Conflict: the form again, not a 500."""
    from accounts import services

    real = services._issue

    def changed_first(user):
        services.user_update(username=user.username, changes={}, if_match=None)  # another request's write
        return real(user)

    monkeypatch.setattr(services, "_issue", changed_first)
    response = sign_in(browser)
    assert response.status_code == 409
    assert b"kept changing while signing in" in response.content and b'name="password"' in response.content
    assert "scheduler_session" not in browser.cookies or not browser.cookies["scheduler_session"].value


def test_a_sign_in_whose_counters_collide_stays_on_the_page_with_a_409(browser, monkeypatch):
    from accounts import signin_limits
    from scheduler.exceptions import Conflict

    def collided(attempt):
        raise Conflict("Signing in collided with another attempt; retry.")

    monkeypatch.setattr(signin_limits, "attempt_succeeded", collided)
    response = sign_in(browser)
    assert response.status_code == 409
    assert b"Signing in collided with another attempt" in response.content


def test_too_many_correct_sign_ins_say_so_not_that_they_failed(api, settings, monkeypatch):
    """The page names the limit that refused it: correct sign-ins to one account, not failures."""
    from datetime import UTC, datetime

    from accounts import signin_limits

    # One minute of the test's own (the limit counts per minute): no boundary falls inside the test.
    monkeypatch.setattr(signin_limits, "utcnow", lambda: datetime(2027, 1, 4, 9, 0, 30, tzinfo=UTC))
    browser = Client(enforce_csrf_checks=True)
    settings.LOGIN_SUCCESSES_PER_ACCOUNT = 2
    assert [sign_in(browser).status_code for _ in range(2)] == [302, 302]
    refused = sign_in(browser)
    assert refused.status_code == 429
    assert b"Too many sign-ins to this account; try again in" in refused.content
    assert b"failed" not in refused.content
