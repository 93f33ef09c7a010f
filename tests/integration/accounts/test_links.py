"""Logins linked to patient and doctor records (issue 17, findings 7 and 13): one login per record,
a login staff made reaches only its patient's country, and deleting a record takes its login along."""

import io

import pytest
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.links import link_key
from accounts.models import User
from scheduler.db.locks import Lock
from scheduler.security.audit import AuditEntry
from tests.helpers import later

STRONG = "a long enough passphrase"


def login(username, role="patient", **links):
    return {"username": username, "password": STRONG, "role": role, **links}


def signed_in_as(username, password=STRONG):
    client = APIClient()
    response = client.post("/auth/token", {"username": username, "password": password}, format="json")
    assert response.status_code == 201, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    return client


class TestOneLoginPerRecord:
    def test_a_second_login_for_a_patient_or_doctor_is_a_409(self, world):
        for client in (world["admin"], world["staff"]):
            for body in (login("again-p", patientId="p-cl"), login("again-d", "doctor", doctorId="d-cl")):
                response = client.post("/users", body, format="json")
                assert response.status_code == 409, response.content
                assert response.json()["code"] == "duplicate" and "has a login already" in response.json()["detail"]

    def test_a_link_that_moves_frees_the_record_it_left(self, world):
        admin = world["admin"]
        moved = admin.patch("/users/patient-cl", {"patientId": "p-pe"}, format="json")
        assert moved.status_code == 200, moved.content
        assert admin.post("/users", login("second-pe", patientId="p-pe"), format="json").status_code == 409
        assert admin.post("/users", login("new-cl", patientId="p-cl"), format="json").status_code == 201
        # Moving onto a record that has its login is refused too.
        assert admin.patch("/users/new-cl", {"patientId": "p-pe"}, format="json").status_code == 409

    def test_link_logins_gives_older_users_their_lock_and_reports_duplicates(self, world):
        # Two users from before the locks, both linked to p-pe (nothing stopped that then), and
        # patient-cl whose lock is gone (as a user created before the locks existed).
        Lock(link_key("patient", "p-cl")).delete()
        for username in ("legacy-a", "legacy-b"):
            legacy = User(username, role="patient", patient_id="p-pe", password_hash=make_password(STRONG))
            legacy.touch()
            legacy.save()
        out = io.StringIO()
        call_command("link_logins", stdout=out)
        first = out.getvalue().splitlines()
        # kept: the doctor's login had its lock; the second login of p-pe is deactivated
        assert first[-1] == "2 linked, 1 kept, 1 deactivated, 0 duplicate"
        owner = Lock.get(link_key("patient", "p-pe")).owner
        second = {"legacy-a": "legacy-b", "legacy-b": "legacy-a"}[owner]
        assert f"patient p-pe: user '{second}' is a second login (deactivated, its tokens revoked)" in first
        again = io.StringIO()
        call_command("link_logins", stdout=again)  # idempotent; the (now inactive) duplicate is reported again
        assert again.getvalue().splitlines()[-1] == "0 linked, 3 kept, 0 deactivated, 1 duplicate"
        assert f"patient p-pe: user '{second}' is a second login (inactive)" in again.getvalue()
        assert Lock.get(link_key("patient", "p-cl")).owner == "patient-cl"
        assert world["admin"].post("/users", login("late", patientId="p-cl"), format="json").status_code == 409
        # Each lock it added has an audit entry, in the lock's own transaction; the rerun added none.
        entries = sorted(
            (e.actor, e.action, e.object_type, e.object_id, tuple(e.object_ids or ()))
            for e in AuditEntry.scan()
            if e.actor == "link_logins"
        )
        assert entries == sorted(
            [
                ("link_logins", "link", "user", "patient-cl", (link_key("patient", "p-cl"),)),
                ("link_logins", "link", "user", owner, (link_key("patient", "p-pe"),)),
                ("link_logins", "update", "user", second, ()),
            ]
        )

    def test_a_records_second_login_is_deactivated_so_deleting_the_record_leaves_no_login(self, api):
        """Second review of issue 17, item 3: a record's delete finds its login through the lock only,
        so a second login from before the locks would have kept the record's access (and a re-created
        record's). link_logins deactivates it and deletes its tokens."""
        assert (
            api.post("/countries", {"countryId": "002", "name": "CHILE", "code": "CL"}, format="json").status_code
            == 201
        )
        record = {"patientId": "twice", "name": "P", "countryId": "002"}
        assert api.post("/patients", record, format="json").status_code == 201
        for username in ("legacy-a", "legacy-b"):  # from before the locks: nothing stopped two then
            legacy = User(username, role="patient", patient_id="twice", password_hash=make_password(STRONG))
            legacy.touch()
            legacy.save()
        clients = {username: signed_in_as(username) for username in ("legacy-a", "legacy-b")}
        assert all(client.get("/patients/twice").status_code == 200 for client in clients.values())

        out = io.StringIO()
        call_command("link_logins", stdout=out)

        assert out.getvalue().splitlines()[-1] == "1 linked, 0 kept, 1 deactivated, 0 duplicate"
        owner = Lock.get(link_key("patient", "twice")).owner
        second = {"legacy-a": "legacy-b", "legacy-b": "legacy-a"}[owner]
        assert clients[second].get("/auth/me").status_code == 401
        refused = APIClient().post("/auth/token", {"username": second, "password": STRONG}, format="json")
        assert refused.status_code == 401
        assert clients[owner].get("/patients/twice").status_code == 200
        assert api.delete("/patients/twice").status_code == 204
        assert api.post("/patients", record, format="json").status_code == 201  # the same id again
        for username, client in clients.items():
            assert client.get("/patients/twice").status_code == 401, username
            again = APIClient().post("/auth/token", {"username": username, "password": STRONG}, format="json")
            assert again.status_code == 401, username
        assert all(User.get(username).active is False for username in clients)

    def test_bootstrap_gives_older_users_their_lock(self, world):
        Lock(link_key("patient", "p-cl")).delete()
        out = io.StringIO()
        call_command("bootstrap", stdout=out)
        assert "1 linked" in out.getvalue()
        assert Lock.get(link_key("patient", "p-cl")).owner == "patient-cl"
        assert world["admin"].post("/users", login("late", patientId="p-cl"), format="json").status_code == 409


class TestAStaffMadeLoginStaysInItsCountry:
    @pytest.fixture
    def abroad(self, world):
        """p-cl also has an appointment in Peru (booked by an admin); staff of Chile make p-cl a login
        after the admin's one is retired (a record takes one login)."""
        admin = world["admin"]
        body = {
            "appointmentId": "a-abroad",
            "patientId": "p-cl",
            "doctorId": "d-pe",
            "appointmentDate": later(world["at_pe"], 180),
        }
        assert admin.post("/appointments", body, format="json").status_code == 201
        assert admin.patch("/users/patient-cl", {"role": "admin"}, format="json").status_code == 200
        made = world["staff"].post("/users", login("made-by-staff", patientId="p-cl"), format="json")
        assert made.status_code == 201, made.content
        assert made.json()["countryIds"] == ["002"]
        return signed_in_as("made-by-staff")

    def test_it_cannot_read_list_or_cancel_the_patients_appointments_elsewhere(self, world, abroad):
        assert abroad.get("/appointments/a-cl").status_code == 200
        assert abroad.get("/appointments/a-abroad").status_code == 404
        assert abroad.patch("/appointments/a-abroad", {"state": "cancelled"}, format="json").status_code == 404
        assert abroad.delete("/appointments/a-abroad").status_code == 404
        listed = abroad.get("/appointments").json()["results"]
        assert [a["appointmentId"] for a in listed] == ["a-cl"]
        assert abroad.get("/appointments/patient/p-cl").json()["results"] == listed
        assert abroad.get("/appointments?countryId=003").status_code == 403
        assert world["admin"].get("/appointments/a-abroad").json()["state"] != "cancelled"

    def test_it_cannot_book_a_doctor_of_another_country(self, world, abroad):
        body = {"patientId": "p-cl", "doctorId": "d-pe", "appointmentDate": later(world["at_pe"], 300)}
        response = abroad.post("/appointments", body, format="json")
        assert response.status_code == 403 and "doctorId" in response.json()
        home = {"patientId": "p-cl", "doctorId": "d-cl", "appointmentDate": later(world["at_cl"], 60)}
        assert abroad.post("/appointments", home, format="json").status_code == 201

    def test_an_admins_patient_login_is_not_confined(self, world):
        admin = world["admin"]
        body = {
            "appointmentId": "a-abroad",
            "patientId": "p-cl",
            "doctorId": "d-pe",
            "appointmentDate": later(world["at_pe"], 180),
        }
        assert admin.post("/appointments", body, format="json").status_code == 201
        assert world["patient"].get("/appointments/a-abroad").status_code == 200


class TestDeletingARecordTakesItsLogin:
    @pytest.mark.parametrize("kind", ["patient", "doctor"])
    def test_the_login_is_deactivated_its_tokens_revoked_and_a_new_record_not_visible(self, api, kind):
        assert (
            api.post("/countries", {"countryId": "002", "name": "CHILE", "code": "CL"}, format="json").status_code
            == 201
        )
        record = (
            {"patientId": "gone", "name": "P", "countryId": "002"}
            if kind == "patient"
            else {
                "doctorId": "gone",
                "name": "Dr. G",
                "speciality": "GP",
                "countryId": "002",
                "availableTimes": ["Monday 9am-1pm"],
            }
        )
        path = f"/{kind}s"
        assert api.post(path, record, format="json").status_code == 201
        assert api.post("/users", login("old-login", kind, **{f"{kind}Id": "gone"}), format="json").status_code == 201
        old = signed_in_as("old-login")
        assert old.get("/auth/me").status_code == 200
        assert api.delete(f"{path}/gone").status_code == 204
        assert old.get("/auth/me").status_code == 401
        assert api.get("/users/old-login").json()["active"] is False
        assert api.post(path, record, format="json").status_code == 201  # the same id again
        assert old.get(f"/appointments/{kind}/gone").status_code == 401
        assert (
            APIClient().post("/auth/token", {"username": "old-login", "password": STRONG}, format="json").status_code
            == 401
        )
        # The new record may have a login of its own.
        assert api.post("/users", login("new-login", kind, **{f"{kind}Id": "gone"}), format="json").status_code == 201
        entries = [(e.action, e.object_type, e.object_id) for e in AuditEntry.scan() if e.actor == "admin"]
        assert ("update", "user", "old-login") in entries


class TestAuditOfSignOutAndCreateAdmin:
    def test_browser_sign_out_is_audited(self, api):
        from django.test import Client

        from tests.integration.accounts.test_browser_session import HTML, csrf_from, sign_in

        browser = Client(enforce_csrf_checks=True)
        assert sign_in(browser).status_code == 302
        html = browser.get("/countries", **HTML).content.decode()
        assert browser.post("/auth/logout", {"csrfmiddlewaretoken": csrf_from(html)}).status_code == 302
        logouts = [e for e in AuditEntry.scan() if e.action == "logout"]
        assert [(e.actor, e.role, e.object_id, e.outcome) for e in logouts] == [("admin", "admin", "admin", "ok")]
        assert logouts[0].request_id

    def test_createadmin_audits_creating_and_promoting(self, empty_tables):
        call_command("createadmin", username="root-a", password=STRONG, stdout=io.StringIO())
        call_command("createadmin", username="root-a", password=STRONG + "!", stdout=io.StringIO())
        entries = sorted((e.entry_id, e.actor, e.action, e.object_type, e.object_id) for e in AuditEntry.scan())
        assert [entry[1:] for entry in entries] == [
            ("createadmin", "create", "user", "root-a"),
            ("createadmin", "update", "user", "root-a"),
        ]


class TestALoginAndItsRecordsDeleteRacing:
    """Review of issue 17, item 1: the checks that the record exists, and that it has no login, are
    reads before the transactions; each transaction must still hold them when it commits."""

    @pytest.mark.parametrize("kind", ["patient", "doctor"])
    def test_a_login_created_after_the_delete_looked_for_one_goes_with_the_record(self, world, monkeypatch, kind):
        from accounts import links, services

        record_id = "gone"
        record = {"patientId": "gone", "name": "P", "countryId": "002"}
        if kind == "doctor":
            record = {"doctorId": "gone", "name": "Dr. G", "speciality": "GP", "countryId": "002"}
            record["availableTimes"] = ["Monday 9am-1pm"]
        assert world["admin"].post(f"/{kind}s", record, format="json").status_code == 201
        real, done = links.owner_of, []

        def owner_of(key):
            found = real(key)
            if not done and key == links.link_key(kind, record_id):
                done.append(True)  # the delete found no login; one is created before it commits
                services.user_create(username="late-login", password=STRONG, role=kind, **{f"{kind}_id": record_id})
            return found

        monkeypatch.setattr(links, "owner_of", owner_of)
        assert world["admin"].delete(f"/{kind}s/{record_id}").status_code == 204
        assert done
        assert world["admin"].get("/users/late-login").json()["active"] is False
        monkeypatch.undo()
        assert links.owner_of(links.link_key(kind, record_id)) is None
        refused = APIClient().post("/auth/token", {"username": "late-login", "password": STRONG}, format="json")
        assert refused.status_code == 401

    @pytest.mark.parametrize("creator", ["admin", "staff"])
    def test_a_record_deleted_while_its_login_is_created_gets_no_login(self, world, monkeypatch, creator):
        from accounts import services
        from patients.services import patient_delete

        new = {"patientId": "p-new", "name": "New", "countryId": "002"}
        assert world["admin"].post("/patients", new, format="json").status_code == 201
        real = services._check_links

        def check_links(**kwargs):
            real(**kwargs)
            patient_delete(patient_id="p-new", if_match=None)  # after the read that found it

        monkeypatch.setattr(services, "_check_links", check_links)
        response = world[creator].post("/users", login("for-gone", patientId="p-new"), format="json")
        assert response.status_code == 400, response.content
        assert "does not exist" in response.json()["patientId"][0]
        assert world["admin"].get("/users/for-gone").status_code == 404

    @pytest.mark.parametrize("kind", ["patient", "doctor"])
    def test_signing_in_after_every_read_of_the_login_cannot_hold_off_the_records_delete(
        self, world, monkeypatch, kind
    ):
        """Second review of issue 17, item 4: each sign-in of the login makes the delete's update of
        its user lose its race; the delete retries as often as a change of the user does (twelve
        sign-ins in a row, a minute's boundary inside them, then 429)."""
        from datetime import UTC, datetime

        from accounts import hooks, signin_limits

        admin = world["admin"]
        assert admin.post(f"/{kind}s", _record(kind), format="json").status_code == 201
        assert admin.post("/users", login("holder", kind, **{f"{kind}Id": "gone"}), format="json").status_code == 201
        now = [1_800_000_000 // 60 * 60 + 59.0]  # the last second of a minute
        monkeypatch.setattr(signin_limits, "utcnow", lambda: datetime.fromtimestamp(now[0], UTC))
        real, tokens, codes = hooks.user_find, [], []

        def read_then_sign_in(*, username):
            user = real(username=username)
            if username == "holder":
                response = APIClient().post("/auth/token", {"username": "holder", "password": STRONG}, format="json")
                codes.append(response.status_code)
                if response.status_code == 201:
                    tokens.append(response.json()["token"])
                if len(tokens) == 6 and now[0] % 60 == 59:
                    now[0] += 1  # the next minute: six sign-ins more
            return user

        monkeypatch.setattr(hooks, "user_find", read_then_sign_in)
        response = admin.delete(f"/{kind}s/gone")
        assert response.status_code == 204, response.content
        assert codes[:12] == [201] * 12 and 429 in codes
        monkeypatch.undo()
        assert all(bearer_of(token).get("/auth/me").status_code == 401 for token in tokens)
        assert User.get("holder").active is False

    def test_a_lock_let_go_of_is_not_deleted_while_its_user_is_relinked_to_the_record(self, world, monkeypatch):
        """Second review of issue 17, item 5: the delete found a lock whose user is linked elsewhere;
        that user is relinked to the record before the delete commits (links.claim puts the lock
        again). The delete must not leave an active login on a deleted record without its lock."""
        from accounts import hooks, links, services

        admin = world["admin"]
        assert admin.post("/patients", _record("patient"), format="json").status_code == 201
        assert admin.post("/users", login("mover", patientId="p-pe"), format="json").status_code == 201
        Lock(link_key("patient", "gone"), owner="mover").save()  # a lock its user let go of
        real, done = hooks.user_find, []

        def read_then_relink(*, username):
            user = real(username=username)
            if not done and username == "mover":
                done.append(True)  # read linked elsewhere; relinked to the record before the commit
                services.user_update(username="mover", changes={"patient_id": "gone"}, if_match=None)
            return user

        monkeypatch.setattr(hooks, "user_find", read_then_relink)
        response = admin.delete("/patients/gone")
        assert response.status_code == 204, response.content
        assert done
        monkeypatch.undo()
        mover = User.get("mover")
        assert mover.patient_id == "gone" and mover.active is False
        assert links.owner_of(link_key("patient", "gone")) is None
        assert admin.post("/patients", _record("patient"), format="json").status_code == 201  # the same id again
        refused = APIClient().post("/auth/token", {"username": "mover", "password": STRONG}, format="json")
        assert refused.status_code == 401


def _record(kind):
    if kind == "patient":
        return {"patientId": "gone", "name": "P", "countryId": "002"}
    return {
        "doctorId": "gone",
        "name": "Dr. G",
        "speciality": "GP",
        "countryId": "002",
        "availableTimes": ["Monday 9am-1pm"],
    }


def bearer_of(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client
