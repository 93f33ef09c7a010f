"""`export` and `import`: a round trip of real data restores every stored item byte for byte; import is
idempotent, refuses tables holding other data, and names the file and line of a corrupt export.
Exports are private (0600 files in a 0700 directory) and signed; import refuses an unsigned or
altered one, and records itself in the audit trail (issue 17, findings 14 and 10).
Point-in-time recovery: bootstrap turns it on for AWS endpoints only."""

import hashlib
import hmac
import io
import json
import os
import stat
from pathlib import Path

import pytest
from botocore.stub import Stubber
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from rest_framework.test import APIClient

from scheduler import db
from scheduler.db import backup, tables
from tests.helpers import PASSWORD, clear_tables

# An item with every DynamoDB type, nested, in a table whose model leaves other attributes free:
# what the application stores today (S, N, L, M, SS, BOOL, NULL) and what it might (B, BS, NS).
EVERY_TYPE = {
    "slotKey": {"S": "backup-probe#1"},
    "text": {"S": "señal ✓"},
    "number": {"N": "12345678901234567890.000000000000000001"},
    "binary": {"B": b"\x00\xff\x10 not utf-8 \x80"},
    "strings": {"SS": ["b", "a", "c"]},
    "numbers": {"NS": ["1", "-2.5", "1e10"]},
    "binaries": {"BS": [b"\x01", b"\x02\x03"]},
    "flag": {"BOOL": False},
    "nothing": {"NULL": True},
    "list": {"L": [{"N": "1"}, {"S": "x"}, {"M": {"inner": {"B": b"\xfe"}}}, {"L": []}]},
    "map": {"M": {"empty": {"M": {}}, "set": {"SS": ["z"]}}},
    "expiresAt": {"N": "4102444800"},
}


KEY = "the export signing key of this test"
# Short-lived, and a restored token would be a live session: never exported.
TRANSIENT = ("tokens", "logins")


@pytest.fixture(autouse=True)
def signing_key(settings):
    settings.EXPORT_SIGNING_KEY = KEY


def is_imports_own_entry(name: str, item: dict) -> bool:
    return name == "audit" and item["actor"] == {"S": "import"}


def is_a_commands_own_entry(name: str, item: dict) -> bool:
    return name == "audit" and item["actor"] in ({"S": "import"}, {"S": "export"})


def snapshot() -> dict[str, list[dict]]:
    """Every exported table's raw items as stored, in a stable order (sets sorted: DynamoDB keeps no
    order), without the audit entries an import or export writes about itself, and without the users'
    token entries and sign-in counts (never exported)."""
    return {
        name: sorted(
            (
                backup.canonical(backup.without_sessions(name, item))
                for item in db.scan_raw(model.Meta.table_name)
                if not is_a_commands_own_entry(name, item)
            ),
            key=backup.item_line,
        )
        for name, model in db.tables_by_logical_name().items()
        if name not in TRANSIENT
    }


def resign(out: Path, key: str = KEY) -> None:
    """Sign an export again after a test changed it on purpose (what only a holder of the key can do),
    so that what is checked next is the content, not the signature."""
    path = out / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest.pop("signature", None)
    for entry in manifest["tables"].values():
        entry["sha256"] = hashlib.sha256((out / entry["file"]).read_bytes()).hexdigest()
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    value = hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()
    path.write_text(json.dumps({**manifest, "signature": {"algorithm": "HMAC-SHA256", "value": value}}))


def export(out: Path) -> Path:
    call_command("export", out=str(out), no_progress=True, stdout=_null(), stderr=_null())
    return out


def import_(source: Path) -> str:
    output = io.StringIO()
    call_command("import", **{"from": str(source)}, no_progress=True, stdout=output, stderr=_null())
    return output.getvalue()


def _null():
    return io.StringIO()


def raw_client():
    return db.connection().client


def table_name(logical: str) -> str:
    return db.tables_by_logical_name()[logical].Meta.table_name


def test_round_trip_restores_every_item_exactly(world, tmp_path):
    raw_client().put_item(TableName=table_name("slots"), Item=EVERY_TYPE)
    before = snapshot()
    for name in ("countries", "doctors", "patients", "appointments"):
        assert len(before[name]) == 2, name
    assert len(before["users"]) == 4
    assert before["slots"] and before["events"] and before["audit"]

    out = export(tmp_path / "backup")

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["formatVersion"] == backup.FORMAT_VERSION
    assert {name: entry["items"] for name, entry in manifest["tables"].items()} == {
        name: len(items) for name, items in before.items()
    }
    assert sorted(p.name for p in out.iterdir()) == sorted(["manifest.json"] + [f"{n}.jsonl" for n in before])
    patients_file = (out / "patients.jsonl").read_text()
    assert "p-cl@example.com" not in patients_file and "Street cl 1" not in patients_file  # still encrypted

    clear_tables()
    assert all(not items for items in snapshot().values())
    output = import_(out)

    after = snapshot()
    for name in before:
        assert after[name] == before[name], f"table {name} differs after the round trip"
    assert "import done" in output
    probe = raw_client().get_item(TableName=table_name("slots"), Key={"slotKey": EVERY_TYPE["slotKey"]})["Item"]
    assert probe["binary"] == EVERY_TYPE["binary"] and probe["number"] == EVERY_TYPE["number"]
    # The restored records are readable through the API by a user who signs in again (tokens are
    # not exported) with the same keys.
    assert all(not items for items in (list(db.scan_raw(table_name(name))) for name in TRANSIENT))
    admin = APIClient()
    signed = admin.post("/auth/token", {"username": "admin", "password": PASSWORD}, format="json")
    assert signed.status_code == 201, signed.content
    admin.credentials(HTTP_AUTHORIZATION=f"Bearer {signed.json()['token']}")
    response = admin.get("/patients/p-cl")
    assert response.status_code == 200, response.content
    assert response.json()["email"] == "p-cl@example.com"


def test_importing_twice_gives_the_same_tables(world, tmp_path):
    out = export(tmp_path / "backup")
    before = snapshot()
    clear_tables()
    import_(out)
    import_(out)  # a rerun over its own result is fine
    assert snapshot() == before


def test_an_interrupted_import_can_be_run_again(world, tmp_path):
    out = export(tmp_path / "backup")
    before = snapshot()
    clear_tables()
    # What an import stopped half-way leaves: some tables filled, one in part.
    first_line = (out / "patients.jsonl").read_text().splitlines()[0]
    item = {name: backup._decode(v) for name, v in json.loads(first_line)["Item"].items()}
    raw_client().put_item(TableName=table_name("patients"), Item=item)
    import_(out)
    assert snapshot() == before


def test_import_refuses_a_table_holding_a_changed_item_and_writes_nothing(world, tmp_path):
    out = export(tmp_path / "backup")
    clear_tables()
    import_(out)
    raw_client().update_item(
        TableName=table_name("patients"),
        Key={"patientId": {"S": "p-pe"}},
        UpdateExpression="SET #n = :n",
        ExpressionAttributeNames={"#n": "name"},
        ExpressionAttributeValues={":n": {"S": "Changed since the export"}},
    )
    doctors = table_name("doctors")
    for key in ("d-cl", "d-pe"):  # an emptied table the refused import must not refill
        raw_client().delete_item(TableName=doctors, Key={"doctorId": {"S": key}})

    with pytest.raises(CommandError) as refused:
        import_(out)

    message = str(refused.value)
    assert f"Table {table_name('patients')} (patients) is not empty" in message
    assert '"p-pe"' in message and "patients.jsonl" in message
    assert raw_client().scan(TableName=doctors)["Items"] == []


def test_import_refuses_a_table_holding_items_not_in_the_export(world, tmp_path):
    out = export(tmp_path / "backup")
    clear_tables()
    import_(out)
    extra = {"countryId": {"S": "099"}, "name": {"S": "ELSEWHERE"}, "code": {"S": "XX"}}
    raw_client().put_item(TableName=table_name("countries"), Item=extra)

    with pytest.raises(CommandError, match=r"\(countries\) is not empty: it holds 1 item\(s\) that are not in"):
        import_(out)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "Expecting property name"),
        ('{"Item": {"doctorId": {"S": "d-x"}, "name": {"X": "?"}}}', "unknown attribute type 'X'"),
        ('{"Item": {"name": {"S": "no key"}}}', "no key attribute 'doctorId' (a non-empty S)"),
        ('{"Item": {"doctorId": {"S": ""}}}', "no key attribute 'doctorId' (a non-empty S)"),
        ('{"Item": {"doctorId": {"S": "d-x"}, "fee": {"N": "twelve"}}}', '"twelve" is not a number'),
        ('{"Item": {"doctorId": {"S": "d-x"}, "tags": {"SS": []}}}', "must be a non-empty list without repeats"),
        ('{"Item": {"doctorId": {"S": "d-x"}, "tags": {"NS": ["1", "1"]}}}', "must be a non-empty list without"),
        ('{"Item": {"doctorId": {"S": "d-x"}, "photo": {"B": "not base64!"}}}', "not valid base64"),
        ('["an", "array"]', 'each line must be an object {"Item": {...}}'),
    ],
)
def test_a_corrupt_line_is_named_by_file_and_line_before_anything_is_written(world, tmp_path, line, reason):
    out = export(tmp_path / "backup")
    doctors_file = out / "doctors.jsonl"
    lines = doctors_file.read_text().splitlines()
    lines[1] = line
    doctors_file.write_text("\n".join(lines) + "\n")
    resign(out)
    clear_tables()

    with pytest.raises(CommandError) as refused:
        import_(out)

    assert f"{doctors_file}, line 2: " in str(refused.value)
    assert reason in str(refused.value)
    assert all(not items for items in snapshot().values())  # appointments.jsonl, read before, was not written


def test_items_dynamodb_refuses_stop_the_import_and_a_fixed_file_finishes_it(world, tmp_path):
    """Too large an item (over DynamoDB's 400 KB) passes the file check but not the write: the error
    names the lines, and once the file is fixed the same import runs again over what it wrote."""
    out = export(tmp_path / "backup")
    before = snapshot()
    doctors_file, manifest_file = out / "doctors.jsonl", out / "manifest.json"
    good_doctors, good_manifest = doctors_file.read_text(), manifest_file.read_text()
    huge = {"Item": {"doctorId": {"S": "d-huge"}, "notes": {"S": "x" * 500_000}}}
    doctors_file.write_text(good_doctors + json.dumps(huge) + "\n")
    manifest = json.loads(good_manifest)
    manifest["tables"]["doctors"]["items"] += 1
    manifest_file.write_text(json.dumps(manifest))
    resign(out)
    clear_tables()

    with pytest.raises(CommandError, match=rf"{doctors_file}, lines 1-3: DynamoDB refused these items"):
        import_(out)
    assert snapshot()["countries"] == before["countries"]  # tables before doctors were written

    doctors_file.write_text(good_doctors)
    manifest_file.write_text(good_manifest)
    import_(out)
    assert snapshot() == before


def test_a_truncated_file_is_refused(empty_tables, tmp_path):
    raw_client().put_item(TableName=table_name("slots"), Item=EVERY_TYPE)
    out = export(tmp_path / "backup")
    (out / "slots.jsonl").write_text("")
    resign(out)
    clear_tables()
    with pytest.raises(CommandError, match=r"slots\.jsonl holds 0 items where manifest\.json says 1"):
        import_(out)


def test_export_refuses_a_directory_that_is_not_empty(empty_tables, tmp_path):
    (tmp_path / "old.txt").write_text("keep me")
    with pytest.raises(CommandError, match="is not empty; export into a new directory"):
        export(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.txt"]


def test_import_names_what_is_wrong_with_the_directory(empty_tables, tmp_path):
    with pytest.raises(CommandError, match="is not a directory"):
        import_(tmp_path / "missing")
    with pytest.raises(CommandError, match="has no manifest.json: it is not an export, or its export did not finish"):
        import_(tmp_path)
    out = export(tmp_path / "backup")
    (out / "ghosts.jsonl").write_text("")
    with pytest.raises(CommandError, match=r"Unknown file .*ghosts\.jsonl"):
        import_(out)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["tables"]["ghosts"] = {"file": "ghosts.jsonl", "items": 0}
    (out / "manifest.json").write_text(json.dumps(manifest))
    resign(out)
    with pytest.raises(CommandError, match=r"Unknown table 'ghosts'"):
        import_(out)
    (out / "manifest.json").write_text(json.dumps({**manifest, "formatVersion": 99}))
    with pytest.raises(CommandError, match="format version 99"):
        import_(out)


def test_an_export_imports_into_tables_with_another_prefix(world, tmp_path, monkeypatch, settings):
    """Files are named by logical table name, so another environment's tables take them."""
    before = snapshot()
    out = export(tmp_path / "backup")
    client = raw_client()
    models = db.tables_by_logical_name()
    # Another environment: the same tables (keys only; the import needs no index) under another prefix.
    other = {name: f"{model.Meta.table_name}-elsewhere" for name, model in models.items()}
    for name, model in models.items():
        table = client.describe_table(TableName=model.Meta.table_name)["Table"]
        keys = {key["AttributeName"] for key in table["KeySchema"]}
        client.create_table(
            TableName=other[name],
            KeySchema=table["KeySchema"],
            AttributeDefinitions=[d for d in table["AttributeDefinitions"] if d["AttributeName"] in keys],
            BillingMode="PAY_PER_REQUEST",
        )
    try:
        settings.DYNAMODB_TABLES = {**settings.DYNAMODB_TABLES, **other}
        for name, model in models.items():
            monkeypatch.setattr(model.Meta, "table_name", other[name])
        import_(out)
        assert snapshot() == before
    finally:
        monkeypatch.undo()
        for name in other.values():
            client.delete_table(TableName=name)


# --- Private, signed, audited (issue 17) -----------------------------------------------------------


def test_an_export_is_readable_by_its_owner_only_and_leaves_tokens_out(world, tmp_path):
    previous = os.umask(0o022)  # a usual umask: files would be 0644 unless the export says otherwise
    try:
        out = export(tmp_path / "backup")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    files = sorted(out.iterdir())
    assert files and all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in files), [
        (path.name, oct(path.stat().st_mode)) for path in files
    ]
    assert not {f"{name}.jsonl" for name in TRANSIENT} & {path.name for path in files}
    assert set(json.loads((out / "manifest.json").read_text())["tables"]) == set(snapshot())


def test_an_export_holds_no_token_entries_and_an_import_ignores_them(world, tmp_path):
    """Review of issue 17, item 6: the users' `tokens` (token hashes and expiries) and `signIns`."""
    hashes = {entry.split(":")[0] for item in db.scan_raw(table_name("users")) for entry in item["tokens"]["SS"]}
    assert len(hashes) == 4  # every world user signed in
    out = export(tmp_path / "backup")
    users = (out / "users.jsonl").read_text()
    assert '"tokens"' not in users and '"signIns"' not in users
    assert not [digest for digest in hashes if digest in users]
    # An export written before (or by hand) that carries them: import leaves them out.
    path = out / "users.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    for line in lines:
        line["Item"]["tokens"] = {"SS": ["f" * 64 + ":4102444800.000000"]}
        line["Item"]["signIns"] = {"N": "7"}
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    resign(out)
    clear_tables()
    import_(out)
    restored = list(db.scan_raw(table_name("users")))
    assert len(restored) == 4 and not [item for item in restored if {"tokens", "signIns"} & set(item)]


def _bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _drop_the_exports_own_entry() -> None:
    """The tables then hold exactly what an earlier run of this import put there (plus the users'
    token entries and sign-in counts, which a rerun does not compare)."""
    for item in db.scan_raw(table_name("audit")):
        if item["actor"] == {"S": "export"}:
            raw_client().delete_item(TableName=table_name("audit"), Key={"entryId": item["entryId"]})


def _clear_all_but_the_tokens() -> None:
    client = raw_client()
    for name, model in db.tables_by_logical_name().items():
        if name == "tokens":
            continue
        keys = [a.attr_name for a in (model._hash_key_attribute(), model._range_key_attribute()) if a]
        for item in db.scan_raw(model.Meta.table_name):
            client.delete_item(TableName=model.Meta.table_name, Key={key: item[key] for key in keys})


@pytest.mark.parametrize(
    "before", [_drop_the_exports_own_entry, _clear_all_but_the_tokens], ids=["rerun", "kept-tokens"]
)
def test_after_an_import_no_earlier_token_works_nor_survives_a_deactivation(world, tmp_path, before):
    """Second review of issue 17, item 1: an imported user item lists no token, so a token left in the
    tokens table (a rerun over a signed-in user, or tokens kept beside emptied tables) would be one
    that its user's deactivation does not delete."""
    token = world["staff"].token
    assert _bearer(token).get("/auth/me").status_code == 200
    out = export(tmp_path / "backup")
    before()

    import_(out)

    assert _bearer(token).get("/auth/me").status_code == 401
    assert not [item for item in db.scan_raw(table_name("tokens")) if item["username"] == {"S": "staff-cl"}]
    signed = APIClient().post("/auth/token", {"username": "admin", "password": PASSWORD}, format="json")
    assert signed.status_code == 201, signed.content
    assert _bearer(signed.json()["token"]).delete("/users/staff-cl").status_code == 204
    assert _bearer(token).get("/auth/me").status_code == 401


def test_export_records_itself_in_the_audit_trail(world, tmp_path):
    """Review of issue 17, item 10: it reads out every patient's data, so one entry per run."""
    out = export(tmp_path / "backup")
    manifest = json.loads((out / "manifest.json").read_text())
    entries = [item for item in db.scan_raw(table_name("audit")) if item["actor"] == {"S": "export"}]
    assert len(entries) == 1
    (item,) = entries
    assert item["action"] == {"S": "export"} and item["outcome"] == {"S": "ok"}
    assert item["objectType"] == {"S": "export"}
    listed = dict(entry["S"].split(":") for entry in item["objectIds"]["L"])
    assert {name: int(count) for name, count in listed.items()} == {
        name: entry["items"] for name, entry in manifest["tables"].items()
    }


def make_admin(out: Path) -> None:
    """What the review did: promote a patient's login to admin in users.jsonl (counts unchanged)."""
    path = out / "users.jsonl"
    path.write_text(path.read_text().replace('"role": {"S": "patient"}', '"role": {"S": "admin"}'))


def drop_signature(out: Path) -> None:
    manifest = json.loads((out / "manifest.json").read_text())
    del manifest["signature"]
    (out / "manifest.json").write_text(json.dumps(manifest))


def change_manifest(out: Path) -> None:
    """The doctored users.jsonl, and the manifest made to match it: only the signature is wrong."""
    make_admin(out)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["tables"]["users"]["sha256"] = hashlib.sha256((out / "users.jsonl").read_bytes()).hexdigest()
    (out / "manifest.json").write_text(json.dumps(manifest))


def add_file(out: Path) -> None:
    (out / "notes.txt").write_text("restore me too")


@pytest.mark.parametrize(
    ("alter", "refusal"),
    [
        (make_admin, r"users\.jsonl .*SHA-256"),
        (drop_signature, r"manifest\.json is not signed"),
        (change_manifest, r"manifest\.json .*altered"),
        (lambda out: (out / "doctors.jsonl").unlink(), r"doctors\.jsonl.* is missing"),
        (add_file, r"Unknown file .*notes\.txt"),
        (lambda out: resign(out, key="another key"), r"manifest\.json .*altered"),
    ],
    ids=["content", "unsigned", "manifest", "missing-file", "extra-file", "other-key"],
)
def test_import_refuses_an_altered_export_before_writing_anything(world, tmp_path, alter, refusal):
    out = export(tmp_path / "backup")
    alter(out)
    clear_tables()
    with pytest.raises(CommandError, match=refusal):
        import_(out)
    assert all(not items for items in snapshot().values())


@pytest.mark.parametrize("command", ["export", "import"])
def test_without_a_signing_key_export_and_import_refuse(empty_tables, tmp_path, settings, command):
    out = export(tmp_path / "backup")
    settings.EXPORT_SIGNING_KEY = ""
    with pytest.raises(CommandError, match="EXPORT_SIGNING_KEY is not set"):
        export(tmp_path / "other") if command == "export" else import_(out)
    assert not (tmp_path / "other").exists()


def test_import_records_what_it_wrote_in_the_audit_trail(world, tmp_path):
    out = export(tmp_path / "backup")
    counts = {name: len(items) for name, items in snapshot().items()}
    clear_tables()
    import_(out)
    import_(out)  # a rerun is accepted beside the first run's entry, and records itself too

    entries = [item for item in db.scan_raw(table_name("audit")) if is_imports_own_entry("audit", item)]
    assert len(entries) == 2
    for item in entries:
        assert item["action"] == {"S": "import"} and item["outcome"] == {"S": "ok"}
        assert item["objectType"] == {"S": "export"}
        listed = dict(entry["S"].split(":") for entry in item["objectIds"]["L"])
        assert {name: int(count) for name, count in listed.items()} == counts


# --- Point-in-time recovery ------------------------------------------------------------------------


def test_bootstrap_turns_point_in_time_recovery_on_against_aws(aws_stack, monkeypatch):
    """DynamoDB Local has no continuous backups, so AWS's answers are stubbed, including the refusal
    AWS gives for a table created a moment ago."""
    monkeypatch.setattr(tables.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(tables, "ensure_indexes", lambda model, report: None)  # its own tests: test_backfill_keys
    names = [model.Meta.table_name for model in db.registered_models()]
    dynamodb = db.dynamodb_client()
    disabled = {
        "ContinuousBackupsDescription": {
            "ContinuousBackupsStatus": "ENABLED",
            "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"},
        }
    }
    enabled = {
        "ContinuousBackupsDescription": {
            "ContinuousBackupsStatus": "ENABLED",
            "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "ENABLED"},
        }
    }
    turn_on = {"PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}}
    reports = []
    with Stubber(dynamodb) as stub:
        for index, name in enumerate(names):
            if index == 0:  # already on: left as it is
                stub.add_response("describe_continuous_backups", enabled, {"TableName": name})
                continue
            stub.add_response("describe_continuous_backups", disabled, {"TableName": name})
            if index == 1:  # just created: AWS asks to retry
                stub.add_client_error(
                    "update_continuous_backups",
                    "ContinuousBackupsUnavailableException",
                    "Backups are being enabled for the table. Please retry later",
                    expected_params={"TableName": name, **turn_on},
                )
                stub.add_response("describe_continuous_backups", disabled, {"TableName": name})
            stub.add_response("update_continuous_backups", enabled, {"TableName": name, **turn_on})
        with override_settings(DYNAMODB_ENDPOINT=None):
            tables.ensure_tables(lambda outcome, what: reports.append((outcome, what)), wait=False)
        stub.assert_no_pending_responses()
    recovery = [(outcome, what) for outcome, what in reports if "point-in-time" in what]
    assert recovery == [("found", f"point-in-time recovery of {names[0]}")] + [
        ("created", f"point-in-time recovery of {name}") for name in names[1:]
    ]


def test_bootstrap_leaves_point_in_time_recovery_alone_locally(aws_stack):
    """Against DynamoDB Local no continuous-backup call is made (it has no such operation)."""
    calls = []
    dynamodb = db.dynamodb_client()

    def count(model, **kwargs):
        calls.append(model.name)

    dynamodb.meta.events.register("before-call.dynamodb", count, unique_id="backup-calls")
    try:
        call_command("bootstrap", stdout=_null())
    finally:
        dynamodb.meta.events.unregister("before-call.dynamodb", unique_id="backup-calls")
    assert "DescribeTable" in calls  # the hook saw bootstrap's calls
    assert not {"DescribeContinuousBackups", "UpdateContinuousBackups"} & set(calls)
