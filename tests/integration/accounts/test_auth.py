"""Sign-in, tokens, users and the failed-sign-in limit, through the API as a client meets them."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from rest_framework.test import APIClient

from accounts import services
from accounts.models import LoginFailures, Token, User
from scheduler.security.audit import AuditEntry
from tests.helpers import PASSWORD, signed_in

STRONG = "a long enough passphrase"


def sign_in(username, password, **headers):
    return APIClient().post("/auth/token", {"username": username, "password": password}, format="json", **headers)


def bearer(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


class TestTokens:
    def test_sign_in_gives_a_token_its_expiry_and_the_user(self, api):
        response = sign_in("admin", PASSWORD)
        assert response.status_code == 201
        body = response.json()
        assert set(body) == {"token", "expiresAt", "user"}
        assert len(body["token"]) >= 40
        expires = datetime.fromisoformat(body["expiresAt"].replace("Z", "+00:00"))
        assert timedelta(hours=11) < expires - datetime.now(UTC) <= timedelta(hours=12)
        assert body["user"]["username"] == "admin" and body["user"]["role"] == "admin"
        assert "password" not in str(body["user"]).lower()
        assert bearer(body["token"]).get("/auth/me").json()["username"] == "admin"

    def test_tokens_are_stored_only_as_hashes(self, api):
        raw = sign_in("admin", PASSWORD).json()["token"]
        stored = [token.token_hash for token in Token.scan()]
        assert stored and raw not in stored
        assert all(raw not in str(token.attribute_values) for token in Token.scan())

    def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(self, api):
        wrong, unknown = sign_in("admin", "not the password"), sign_in("nobody", "not the password")
        assert wrong.status_code == unknown.status_code == 401
        assert (
            wrong.json()
            == unknown.json()
            == {"detail": "Invalid username or password.", "code": "authentication_failed"}
        )

    def test_no_credentials_or_a_bad_token_is_401_with_a_challenge(self, api):
        for client in (APIClient(), bearer("made-up-token")):
            response = client.get("/appointments")
            assert response.status_code == 401
            assert response["WWW-Authenticate"] == 'Bearer realm="api"'
        assert APIClient().get("/appointments").json()["code"] == "not_authenticated"
        assert bearer("made-up-token").get("/appointments").json()["code"] == "authentication_failed"

    def test_sign_out_revokes_the_token_in_use_only(self, api):
        first, second = sign_in("admin", PASSWORD).json()["token"], sign_in("admin", PASSWORD).json()["token"]
        assert bearer(first).delete("/auth/token").status_code == 204
        assert bearer(first).get("/auth/me").status_code == 401
        assert bearer(second).get("/auth/me").status_code == 200

    def test_an_expired_token_is_refused_even_before_ttl_deletes_it(self, api):
        raw = sign_in("admin", PASSWORD).json()["token"]
        for token in Token.scan():
            token.update(actions=[Token.expires_at.set(datetime.now(UTC) - timedelta(seconds=1))])
        assert bearer(raw).get("/auth/me").status_code == 401

    def test_a_deactivated_user_loses_its_tokens_and_cannot_sign_in(self, api):
        patient = signed_in("someone", "admin")
        assert patient.get("/auth/me").status_code == 200
        assert api.delete("/users/someone").status_code == 204
        assert patient.get("/auth/me").status_code == 401
        assert sign_in("someone", PASSWORD).status_code == 401
        assert api.get("/users/someone").json()["active"] is False

    def test_a_role_change_revokes_the_users_tokens(self, api):
        other = signed_in("other-admin", "admin")
        assert api.patch("/users/other-admin", {"role": "staff", "countryIds": []}, format="json").status_code == 400
        api.post("/countries", {"countryId": "002", "name": "CHILE", "code": "CL"}, format="json")
        changed = api.patch("/users/other-admin", {"role": "staff", "countryIds": ["002"]}, format="json")
        assert changed.status_code == 200, changed.content
        assert other.get("/auth/me").status_code == 401
        assert sign_in("other-admin", PASSWORD).json()["user"]["role"] == "staff"


class TestUsers:
    def test_create_validates_each_field(self, api):
        cases = [
            ({"username": "x", "password": STRONG, "role": "admin"}, "username"),
            ({"username": "weak-one", "password": "12345678901", "role": "admin"}, "password"),
            ({"username": "weak-two", "password": "password123", "role": "admin"}, "password"),
            ({"username": "staffer", "password": STRONG, "role": "staff"}, "countryIds"),
            ({"username": "staffer", "password": STRONG, "role": "staff", "countryIds": ["404"]}, "countryIds"),
            ({"username": "doc", "password": STRONG, "role": "doctor", "doctorId": "nobody"}, "doctorId"),
            ({"username": "pat", "password": STRONG, "role": "patient"}, "patientId"),
            ({"username": "adm", "password": STRONG, "role": "admin", "patientId": "p1"}, "patientId"),
            ({"username": "adm", "password": STRONG, "role": "root"}, "role"),
            ({"username": "adm", "password": STRONG, "role": "admin", "isSuperuser": True}, "isSuperuser"),
        ]
        for body, field in cases:
            response = api.post("/users", body, format="json")
            assert response.status_code == 400, (body, response.content)
            assert field in response.json(), (body, response.json())

    def test_usernames_are_unique(self, api):
        body = {"username": "dup-user", "password": STRONG, "role": "admin"}
        assert api.post("/users", body, format="json").status_code == 201
        again = api.post("/users", body, format="json")
        assert again.status_code == 409 and again.json()["code"] == "duplicate"
        assert "username 'dup-user'" in again.json()["detail"]  # it names the field and the value

    def test_users_never_show_a_password_or_its_hash(self, api):
        created = api.post("/users", {"username": "shown", "password": STRONG, "role": "admin"}, format="json")
        assert created.status_code == 201 and created["Location"] == "/users/shown"
        for body in (created.json(), api.get("/users/shown").json(), api.get("/users").json()):
            assert "password" not in str(body).lower() and "argon2" not in str(body) and "md5$" not in str(body)
        assert set(created.json()) == {
            "username", "role", "countryIds", "doctorId", "patientId", "active", "createdAt", "updatedAt", "version",
        }  # fmt: skip

    @override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.Argon2PasswordHasher"])
    def test_passwords_are_hashed_with_argon2(self, api):
        assert (
            api.post("/users", {"username": "hashed", "password": STRONG, "role": "admin"}, format="json").status_code
            == 201
        )
        assert User.get("hashed").password_hash.startswith("argon2$")
        assert sign_in("hashed", STRONG).status_code == 201


# The addresses of the sign-in limit tests (the test client's REMOTE_ADDR; 127.0.0.1 is the `api` admin's).
A, B = "203.0.113.10", "198.51.100.20"


class TestFailedSignInLimit:
    def test_ten_wrong_passwords_from_one_address_do_not_lock_the_owner_out_from_another(self, api):
        codes = [sign_in("admin", f"guess {n}", REMOTE_ADDR=A).status_code for n in range(10)]
        assert codes == [401] * 10
        limited = sign_in("admin", PASSWORD, REMOTE_ADDR=A)
        assert limited.status_code == 429  # at A even the right password waits: A may not guess on
        assert limited.json()["code"] == "throttled"
        assert 0 < int(limited["Retry-After"]) <= 900
        assert sign_in("admin", PASSWORD, REMOTE_ADDR=B).status_code == 201  # the owner, elsewhere

    def test_thirty_failures_with_made_up_usernames_block_only_their_address(self, api):
        codes = [sign_in(f"made-up-{n}", "guess", REMOTE_ADDR=A).status_code for n in range(30)]
        assert codes == [401] * 30
        sprayed = sign_in("made-up-30", "guess", REMOTE_ADDR=A)
        assert sprayed.status_code == 429 and 0 < int(sprayed["Retry-After"]) <= 900
        assert sign_in("admin", PASSWORD, REMOTE_ADDR=A).status_code == 429  # spraying is throttled at A
        assert sign_in("admin", PASSWORD, REMOTE_ADDR=B).status_code == 201

    def test_one_account_guessed_from_many_addresses_is_slowed_progressively(self, api, monkeypatch):
        from accounts import signin_limits

        now = [1_800_000_000 // 900 * 900 + 5.0]  # early in a window: the test never crosses into the next
        monkeypatch.setattr(signin_limits, "utcnow", lambda: datetime.fromtimestamp(now[0], UTC))
        assert sign_in("admin", PASSWORD).status_code == 201  # 127.0.0.1 is known from the test's time on
        guesser = iter(range(1, 250))

        def guess():
            return sign_in("admin", "a guess", REMOTE_ADDR=f"192.0.2.{next(guesser)}")

        with override_settings(LOGIN_ACCOUNT_FAILURES_BEFORE_DELAY=3, LOGIN_ACCOUNT_DELAY_MAX_SECONDS=8):
            assert [guess().status_code for _ in range(3)] == [401] * 3  # the free failures
            waits = []
            for _ in range(6):
                slowed = guess()
                assert slowed.status_code == 429 and slowed.json()["code"] == "throttled"
                waits.append(int(slowed["Retry-After"]))
                now[0] += waits[-1] - 1
                assert guess().status_code == 429  # a second early: still waiting
                now[0] += 1
                assert guess().status_code == 401  # on time: the next guess is checked (and fails)
            assert waits == [1, 2, 4, 8, 8, 8]  # doubling, up to LOGIN_ACCOUNT_DELAY_MAX_SECONDS
            # What it costs the owner: from a new address, the same wait; from an address it signed
            # in from before (the `api` fixture's 127.0.0.1), none.
            assert sign_in("admin", PASSWORD, REMOTE_ADDR=B).status_code == 429
            assert sign_in("admin", PASSWORD).status_code == 201

    def test_an_address_is_trusted_only_until_its_thirty_days_are_over(self, api, monkeypatch):
        from accounts import signin_limits

        start = 1_800_000_000 // 900 * 900 + 5.0
        now = [start]
        monkeypatch.setattr(signin_limits, "utcnow", lambda: datetime.fromtimestamp(now[0], UTC))
        for username in ("keeper", "owner"):
            services.user_create(username=username, password=PASSWORD, role="admin")
            assert sign_in(username, PASSWORD, REMOTE_ADDR=A).status_code == 201  # A is known for 30 days
        guesser = iter(range(1, 250))
        with override_settings(LOGIN_ACCOUNT_FAILURES_BEFORE_DELAY=3):
            for days, username, expected in ((29, "keeper", 201), (31, "owner", 429)):
                now[0] = start + days * 86400  # the same second of a window (no DynamoDB TTL has run)
                for _ in range(3):  # the free failures; the next attempt from a new address waits
                    assert sign_in(username, "a guess", REMOTE_ADDR=f"192.0.2.{next(guesser)}").status_code == 401
                assert sign_in(username, PASSWORD, REMOTE_ADDR=A).status_code == expected, days

    def test_the_limit_is_per_address_across_usernames(self, api):
        with override_settings(LOGIN_FAILURES_PER_ADDRESS=5):
            codes = [sign_in(f"user-{n}", "guess").status_code for n in range(7)]
        assert codes == [401] * 5 + [429] * 2

    def test_an_ipv6_client_is_counted_by_its_64_prefix(self, api, monkeypatch):
        # One /64 is one client (it holds 2**64 addresses): new interface ids do not reset its limits.
        from accounts import signin_limits

        # The test's own 15-minute window, so that no window boundary falls inside it.
        monkeypatch.setattr(signin_limits, "utcnow", lambda: datetime(2027, 1, 4, 9, 5, tzinfo=UTC))
        with override_settings(LOGIN_FAILURES_PER_ADDRESS=5):
            codes = [sign_in(f"v6-{n}", "guess", REMOTE_ADDR=f"2001:db8:1:2::{n + 1:x}").status_code for n in range(7)]
            assert codes == [401] * 5 + [429] * 2
            assert sign_in("v6-x", "guess", REMOTE_ADDR="2001:db8:1:2:ffff:ffff:ffff:ffff").status_code == 429
            assert sign_in("v6-x", "guess", REMOTE_ADDR="2001:db8:1:3::1").status_code == 401  # another /64
            # An IPv4 address a dual-stack socket shows mapped is that IPv4 address, not ::ffff:0:0/64.
            codes = [sign_in(f"v4-{n}", "guess", REMOTE_ADDR="::ffff:203.0.113.77").status_code for n in range(5)]
            assert codes == [401] * 5
            assert sign_in("v4-x", "guess", REMOTE_ADDR="203.0.113.77").status_code == 429
            assert sign_in("v4-x", "guess", REMOTE_ADDR="::ffff:203.0.113.78").status_code == 401
        codes = [sign_in("admin", f"guess {n}", REMOTE_ADDR=f"2001:db8:a:b:{n}::1").status_code for n in range(10)]
        assert codes == [401] * 10
        assert sign_in("admin", PASSWORD, REMOTE_ADDR="2001:db8:a:b::abcd").status_code == 429  # the pair limit
        assert sign_in("admin", PASSWORD, REMOTE_ADDR="2001:db8:a:c::abcd").status_code == 201

    def test_a_spoofed_forwarded_for_does_not_reset_the_address_limit_behind_a_proxy(self, api):
        # Behind one proxy, the address is the one that proxy appended (the last); what a client
        # writes before it is not trusted.
        rest = {**__import__("django.conf").conf.settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
        with override_settings(REST_FRAMEWORK=rest, LOGIN_FAILURES_PER_ADDRESS=5):
            codes = [
                sign_in(f"user-{n}", "guess", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}, 192.0.2.1").status_code
                for n in range(7)
            ]
        assert codes == [401] * 5 + [429] * 2

    def test_forwarded_for_is_not_trusted_without_proxies(self, api):
        # NUM_PROXIES defaults to 0: a client cannot pose as many addresses to dodge the address limit.
        with override_settings(LOGIN_FAILURES_PER_ADDRESS=5):
            codes = [sign_in(f"u-{n}", "guess", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code for n in range(7)]
        assert codes == [401] * 5 + [429] * 2

    def test_parallel_guesses_cannot_slip_past_the_limit(self, api):
        import threading

        codes: list[int] = []
        barrier = threading.Barrier(20)

        def guess(n: int) -> None:
            barrier.wait()
            codes.append(sign_in("admin", f"parallel guess {n}").status_code)

        threads = [threading.Thread(target=guess, args=(n,)) for n in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert codes.count(401) == 10 and codes.count(429) == 10  # LOGIN_FAILURES_PER_USERNAME

    def test_correct_sign_ins_are_limited_per_account_and_are_not_failures(self, api, monkeypatch):
        from accounts import signin_limits

        services.user_create(username="busy", password=PASSWORD, role="admin")
        now = [1_800_000_000 + 10.0]  # 10 s into a minute (and into a failure window)
        monkeypatch.setattr(signin_limits, "utcnow", lambda: datetime.fromtimestamp(now[0], UTC))
        codes = [sign_in("busy", PASSWORD, REMOTE_ADDR=(A, B)[n % 2]).status_code for n in range(6)]
        assert codes == [201] * 6  # LOGIN_SUCCESSES_PER_ACCOUNT, from any addresses together
        for address in [A] * 11 + [B]:
            limited = sign_in("busy", PASSWORD, REMOTE_ADDR=address)
            assert limited.status_code == 429 and limited.json()["code"] == "throttled"
            assert limited.json()["detail"].startswith("Too many sign-ins to this account; wait and retry.")
            assert int(limited["Retry-After"]) == 50  # the rest of the minute
        assert sign_in("admin", PASSWORD, REMOTE_ADDR=A).status_code == 201  # another account is not limited
        now[0] += 50
        # The next minute: 429s were not failures (11 of them at A would have passed the pair limit).
        assert sign_in("busy", PASSWORD, REMOTE_ADDR=A).status_code == 201
        assert not [c for c in LoginFailures.scan() if c.counter_key.startswith(("pair#", "account#")) and c.failures]

    def test_failures_are_counted_in_dynamodb_and_audited_without_the_password(self, api):
        sign_in("admin", "secret guess 1")
        counters = {c.counter_key.split("#")[0]: c.failures for c in LoginFailures.scan() if c.failures}
        assert counters == {"pair": 1, "address": 1, "account": 1}
        failed = [e for e in AuditEntry.scan() if e.action == "login_failed"]
        assert len(failed) == 1 and failed[0].actor == "admin" and failed[0].outcome == "denied"
        assert "secret guess" not in str([e.attribute_values for e in AuditEntry.scan()])


class TestCreateAdmin:
    def test_creates_then_updates_without_a_prompt(self, empty_tables):
        out = io.StringIO()
        call_command("createadmin", username="root-1", password=STRONG, stdout=out)
        assert "Created admin 'root-1'" in out.getvalue()
        assert sign_in("root-1", STRONG).status_code == 201
        call_command("createadmin", username="root-1", password=STRONG + "!", stdout=out)
        assert "Updated admin 'root-1'" in out.getvalue()
        assert sign_in("root-1", STRONG).status_code == 401
        assert sign_in("root-1", STRONG + "!").status_code == 201

    def test_reads_the_password_from_stdin(self, empty_tables, monkeypatch):
        monkeypatch.setattr("sys.stdin", io.StringIO(STRONG + "\n"))
        call_command("createadmin", username="root-2", password_stdin=True, stdout=io.StringIO())
        assert sign_in("root-2", STRONG).json()["user"]["role"] == "admin"

    def test_a_weak_password_is_refused_with_the_reason(self, empty_tables):
        with pytest.raises(CommandError, match="password: This password is too short"):
            call_command("createadmin", username="root-3", password="short", stdout=io.StringIO())

    def test_the_local_default_admin_is_for_the_local_stage_only(self, empty_tables):
        with override_settings(IS_LOCAL=False), pytest.raises(CommandError, match="local stage only"):
            call_command("createadmin", local_default=True, stdout=io.StringIO())
        out = io.StringIO()
        call_command("createadmin", local_default=True, stdout=out)
        password = out.getvalue().split("password: ")[1].split()[0]
        assert sign_in("admin", password).status_code == 201
        again = io.StringIO()
        call_command("createadmin", local_default=True, stdout=again)
        assert "An admin exists already" in again.getvalue() and "password:" not in again.getvalue()
