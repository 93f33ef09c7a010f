"""Revocation that cannot be outrun (issue 17, findings 1 and 2): a token is issued only to the user
as it is when the token is written, and a change of the user deletes its tokens in its own transaction."""

import pytest
from botocore.exceptions import ClientError
from django.test import override_settings
from pynamodb.connection.base import Connection
from rest_framework.test import APIClient

from accounts import selectors, services
from accounts.models import Token, User
from scheduler.security.audit import AuditEntry
from tests.helpers import PASSWORD


def sign_in(username, password=PASSWORD):
    return APIClient().post("/auth/token", {"username": username, "password": password}, format="json")


def bearer(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def chile(api):
    assert api.post("/countries", {"countryId": "002", "name": "CHILE", "code": "CL"}, format="json").status_code == 201
    return api


def race_into_check_password(monkeypatch, change):
    """The review's proof: another request changes the user after this sign-in read it and before it
    writes the token (between the read and the write, where check_password runs)."""
    real, done = services.check_password, []

    def checking(password, encoded):
        if not done:
            done.append(True)
            change()
        return real(password, encoded)

    monkeypatch.setattr(services, "check_password", checking)


class TestASignInCannotOutrunAChange:
    def test_a_sign_in_that_read_the_user_before_a_demotion_carries_the_new_role(self, chile, monkeypatch):
        services.user_create(username="boss", password=PASSWORD, role="admin")
        race_into_check_password(
            monkeypatch,
            lambda: services.user_update(
                username="boss", changes={"role": "staff", "country_ids": ["002"]}, if_match=None
            ),
        )
        response = sign_in("boss")
        assert response.status_code == 201, response.content
        assert response.json()["user"]["role"] == "staff"
        token = response.json()["token"]
        assert selectors.principal_for_token(token).role == "staff"
        assert bearer(token).get("/users").status_code == 403  # not an admin's token
        assert {t.role for t in Token.scan() if t.username == "boss"} == {"staff"}

    def test_a_sign_in_that_read_the_user_before_its_deactivation_gets_no_token(self, api, monkeypatch):
        services.user_create(username="leaver", password=PASSWORD, role="admin")
        race_into_check_password(monkeypatch, lambda: services.user_deactivate(username="leaver", if_match=None))
        response = sign_in("leaver")
        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid username or password.", "code": "authentication_failed"}
        assert [t for t in Token.scan() if t.username == "leaver"] == []

    def test_a_sign_in_that_read_the_old_password_is_checked_against_the_new_one(self, api, monkeypatch):
        services.user_create(username="rotated", password=PASSWORD, role="admin")
        race_into_check_password(
            monkeypatch,
            lambda: services.user_update(
                username="rotated", changes={"password": "another long passphrase"}, if_match=None
            ),
        )
        assert sign_in("rotated").status_code == 401
        assert [t for t in Token.scan() if t.username == "rotated"] == []


def test_a_token_the_byuser_index_has_not_caught_up_with_is_revoked(api, monkeypatch):
    """Revocation does not read the eventually consistent byUser index: a token written a moment
    before the change (not yet in the index, which here never catches up) goes with the change."""
    monkeypatch.setattr(Token.by_user, "query", lambda *args, **kwargs: iter(()))
    services.user_create(username="fresh", password=PASSWORD, role="admin")
    token = sign_in("fresh").json()["token"]
    assert api.delete("/users/fresh").status_code == 204
    assert bearer(token).get("/auth/me").status_code == 401


def fail_once_when_deleting_tokens(monkeypatch):
    """The first DynamoDB write that deletes a token item fails (as DynamoDB may, mid-request)."""
    table, real, failed = Token.Meta.table_name, Connection._make_api_call, []

    def call(self, operation_name, operation_kwargs):
        deletes_a_token = (
            operation_name == "BatchWriteItem" and table in operation_kwargs.get("RequestItems", {})
        ) or (
            operation_name == "TransactWriteItems"
            and any(item.get("Delete", {}).get("TableName") == table for item in operation_kwargs["TransactItems"])
        )
        if deletes_a_token and not failed:
            failed.append(operation_name)
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "injected"}}, operation_name)
        return real(self, operation_name, operation_kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", call)
    return failed


@pytest.mark.parametrize(
    ("method", "body"), [("delete", None), ("patch", {"role": "patient", "patientId": "p1"})], ids=["delete", "demote"]
)
def test_a_retried_change_revokes_what_a_failed_one_did_not(api, monkeypatch, method, body):
    assert api.post("/countries", {"countryId": "002", "name": "CHILE", "code": "CL"}, format="json").status_code == 201
    assert api.post("/patients", {"patientId": "p1", "name": "P", "countryId": "002"}, format="json").status_code == 201
    services.user_create(username="target", password=PASSWORD, role="admin")
    token = sign_in("target").json()["token"]
    failed = fail_once_when_deleting_tokens(monkeypatch)
    api.raise_request_exception = False
    call = getattr(api, method)
    first = call("/users/target", body, format="json") if body else call("/users/target")
    assert failed and first.status_code >= 500
    again = call("/users/target", body, format="json") if body else call("/users/target")
    assert again.status_code in (200, 204), again.content
    assert bearer(token).get("/users").status_code in (401, 403)
    assert selectors.principal_for_token(token) is None


class TestTheUserItemListsItsTokens:
    def test_sign_ins_leave_the_users_etag_alone_and_sign_out_drops_the_entry(self, api):
        services.user_create(username="many", password=PASSWORD, role="admin")
        etag = api.get("/users/many")["ETag"]
        first, second = sign_in("many").json()["token"], sign_in("many").json()["token"]
        assert api.get("/users/many")["ETag"] == etag
        listed = {entry.split(":")[0] for entry in User.get("many").token_entries}
        assert listed == {selectors.token_hash(first), selectors.token_hash(second)}
        assert bearer(first).delete("/auth/token").status_code == 204
        assert {entry.split(":")[0] for entry in User.get("many").token_entries} == {selectors.token_hash(second)}
        assert "tokens" not in api.get("/users/many").json() and "signIns" not in api.get("/users/many").json()
        logouts = [e for e in AuditEntry.scan() if e.action == "logout"]
        assert [(e.actor, e.object_id, e.outcome) for e in logouts] == [("many", "many", "ok")]

    def test_a_user_keeps_at_most_the_newest_tokens(self, api):
        services.user_create(username="devices", password=PASSWORD, role="admin")
        with override_settings(LOGIN_SUCCESSES_PER_ACCOUNT=services.MAX_LIVE_TOKENS + 1):
            tokens = [sign_in("devices").json()["token"] for _ in range(services.MAX_LIVE_TOKENS + 1)]
        assert bearer(tokens[0]).get("/auth/me").status_code == 401  # the oldest went
        assert all(bearer(token).get("/auth/me").status_code == 200 for token in tokens[1:])
        assert len(User.get("devices").token_entries) == services.MAX_LIVE_TOKENS


def test_signing_in_again_and_again_cannot_hold_off_a_deactivation(api, monkeypatch):
    """Whoever holds the password signs in after every read of the user that DELETE /users/{u} makes
    (each read then loses its race). Correct sign-ins are limited per account (six a minute), and the
    change outlasts them, even when a minute's boundary falls inside it (twelve sign-ins in a row)."""
    from datetime import UTC, datetime

    from accounts import signin_limits

    services.user_create(username="holder", password=PASSWORD, role="admin")
    now = [1_800_000_000 // 60 * 60 + 59.0]  # the last second of a minute
    monkeypatch.setattr(signin_limits, "utcnow", lambda: datetime.fromtimestamp(now[0], UTC))
    real_user_get, tokens, codes = selectors.user_get, [], []

    def read_then_sign_in(*, username):
        user = real_user_get(username=username)
        if username == "holder":
            response = sign_in("holder")
            codes.append(response.status_code)
            if response.status_code == 201:
                tokens.append(response.json()["token"])
            if len(tokens) == 6 and now[0] % 60 == 59:
                now[0] += 1  # the next minute: six sign-ins more
        return user

    monkeypatch.setattr(selectors, "user_get", read_then_sign_in)
    response = api.delete("/users/holder")
    assert response.status_code == 204, response.content
    assert codes[:12] == [201] * 12 and 429 in codes
    monkeypatch.setattr(selectors, "user_get", real_user_get)
    assert tokens and all(selectors.principal_for_token(token) is None for token in tokens)
    assert all(bearer(token).get("/auth/me").status_code == 401 for token in tokens)
    assert User.get("holder").active is False


def test_a_token_issued_before_the_user_item_listed_tokens_no_longer_works(api):
    """Review of issue 17, item 2: a token of the release before (no entry on the user item, so no
    change deletes it in its transaction) is refused at once, by the API and in a browser session."""
    import time
    from datetime import UTC, datetime

    from django.test import Client

    from accounts.authentication import SESSION_TOKEN_KEY

    services.user_create(username="veteran", password=PASSWORD, role="admin")
    raw, now = "a-token-the-previous-release-issued", int(time.time())
    Token(
        selectors.token_hash(raw),
        username="veteran",
        role="admin",
        created_at=now,
        expires_at=datetime.fromtimestamp(now + 3600, UTC),
    ).save()  # as that release wrote it: the token item only
    assert selectors.principal_for_token(raw) is None
    assert bearer(raw).get("/auth/me").status_code == 401
    browser = Client()
    session = browser.session
    session[SESSION_TOKEN_KEY] = raw
    session.save()
    browser.cookies["scheduler_session"] = session.session_key
    assert browser.get("/users", HTTP_ACCEPT="application/json").status_code in (401, 403)
    fresh = sign_in("veteran").json()["token"]  # signing in again is all it takes
    assert bearer(fresh).get("/users").status_code == 200
