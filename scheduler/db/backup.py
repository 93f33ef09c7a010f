"""Export every table to JSON lines, and import such an export into empty tables.

An export is a directory: one `<logical table name>.jsonl` per table and a `manifest.json` written
last (a directory without one is an export that did not finish). Each line is one item exactly as
DynamoDB stores it, in DynamoDB JSON as the low-level client speaks it (binary values in base64), in
the `{"Item": {...}}` form of DynamoDB's own export to S3. So encrypted fields stay encrypted, numbers
keep their digits, and sets, TTL attributes and versions come back as they were. Files are named by
the logical table name (the key of settings.DYNAMODB_TABLES), so an export of one environment can be
imported into another whose tables carry another prefix.

An export holds password hashes and personal data (encrypted, with the keys elsewhere), so it is
private and signed: the directory is 0700, each file 0600; the manifest lists each file's SHA-256 and
carries an HMAC-SHA256 of itself under the caller's signing key (EXPORT_SIGNING_KEY). Import refuses,
before it writes anything, a manifest that is unsigned or does not match its signature, a file whose
digest differs, a listed file that is missing and a file the manifest does not list. The tokens and
failed sign-in counters are left out: they expire within hours, and a restored token would be a live
session of whoever held it; so are the users' token entries and sign-in counts (SESSION_ATTRIBUTES),
on export and again on import. And since an imported user item lists no token, an import deletes every
token of each user it wrote (SESSION_TABLES), so that no token a later change of the user would not
find keeps working (one left in the tokens table, or one issued before a rerun of the import).

Both directions stream: one Scan page or one batch in memory at a time. A Scan is not a snapshot of
the tables at one instant; for that, on AWS, use point-in-time recovery (see the README).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from django.conf import settings
from pynamodb.models import Model

from scheduler import db
from scheduler.progress import Progress, ProgressFactory, no_progress

FORMAT = "appointment-scheduler-dynamodb-export"
# 2: signed, with each file's SHA-256, without the transient tables (1 was neither: refused).
FORMAT_VERSION = 2
MANIFEST_NAME = "manifest.json"
TABLE_FILE_SUFFIX = ".jsonl"
SIGNATURE_ALGORITHM = "HMAC-SHA256"
# Short-lived tables an export leaves out (see the module's docstring).
TRANSIENT_TABLES = frozenset({"tokens", "logins"})
# Attributes an export leaves out of a table's items, and an import ignores: the users' token entries
# (token hashes and expiries) and sign-in counts, which belong with the tokens left out above.
SESSION_ATTRIBUTES: dict[str, frozenset[str]] = {"users": frozenset({"tokens", "signIns"})}
# The sessions of a table's items, which an import deletes once it wrote those items: table → (the
# transient table that holds them, its attribute naming the item's hash key). A user item comes back
# without its token entries, so a token still in the tokens table would be one its user's
# deactivation does not find.
SESSION_TABLES: dict[str, tuple[str, str]] = {"users": ("tokens", "username")}
DIRECTORY_MODE, FILE_MODE = 0o700, 0o600
_DIGEST_CHUNK = 1 << 20
# BatchGetItem takes at most 100 keys.
_BATCH_GET_LIMIT = 100


class BackupError(Exception):
    """An export or import that cannot go on, with a message that says what to do."""


# --- DynamoDB JSON <-> JSON lines -----------------------------------------------------------------


def _encode(value: dict) -> dict:
    """A low-level attribute value as JSON: binary values in base64, everything else as it is."""
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64encode(inner).decode("ascii")}
    if kind == "BS":
        return {"BS": [base64.b64encode(b).decode("ascii") for b in inner]}
    if kind == "M":
        return {"M": {name: _encode(v) for name, v in inner.items()}}
    if kind == "L":
        return {"L": [_encode(v) for v in inner]}
    return value


def _decode(value: Any) -> dict:
    """The inverse of `_encode`, checking the shape; ValueError says what is wrong."""
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueError(f"an attribute value must be an object with one type key, not {json.dumps(value)[:80]}")
    ((kind, inner),) = value.items()
    if kind == "S":
        if not isinstance(inner, str):
            raise ValueError("an S value must be a string")
        return value
    if kind == "N":
        _number(inner)
        return value
    if kind in ("SS", "NS", "BS"):
        # What DynamoDB would refuse half-way through the import is refused before it starts.
        if not isinstance(inner, list) or not inner or len(set(map(str, inner))) != len(inner):
            raise ValueError(f"a {kind} value must be a non-empty list without repeats")
        if kind == "SS" and not all(isinstance(v, str) for v in inner):
            raise ValueError("an SS value must be a list of strings")
        if kind == "NS":
            for v in inner:
                _number(v)
        return {"BS": [_b64(v) for v in inner]} if kind == "BS" else value
    if kind == "B":
        return {"B": _b64(inner)}
    if kind == "BOOL":
        if not isinstance(inner, bool):
            raise ValueError("a BOOL value must be true or false")
        return value
    if kind == "NULL":
        if inner is not True:
            raise ValueError("a NULL value must be true")
        return value
    if kind == "M":
        if not isinstance(inner, dict):
            raise ValueError("an M value must be an object")
        return {"M": {name: _decode(v) for name, v in inner.items()}}
    if kind == "L":
        if not isinstance(inner, list):
            raise ValueError("an L value must be a list")
        return {"L": [_decode(v) for v in inner]}
    raise ValueError(f"unknown attribute type {kind!r}")


def _number(text: Any) -> None:
    try:
        if isinstance(text, str) and Decimal(text).is_finite():
            return
    except InvalidOperation:
        pass
    raise ValueError(f"{json.dumps(text)[:40]} is not a number (N values are decimal strings)")


def _b64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("a binary value must be a base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError("a binary value is not valid base64") from None


def item_line(item: dict) -> str:
    return json.dumps({"Item": {name: _encode(v) for name, v in item.items()}}, ensure_ascii=False) + "\n"


def canonical(item: dict) -> dict:
    """The item with its sets sorted: DynamoDB does not keep the order of a set's members."""

    def value(v: dict) -> dict:
        ((kind, inner),) = v.items()
        if kind in ("SS", "NS", "BS"):
            return {kind: sorted(inner)}
        if kind == "M":
            return {"M": {name: value(x) for name, x in inner.items()}}
        if kind == "L":
            return {"L": [value(x) for x in inner]}
        return v

    return {name: value(v) for name, v in item.items()}


def _key_of(model: type[Model], item: dict) -> dict:
    return {
        attribute.attr_name: item[attribute.attr_name]
        for attribute in (model._hash_key_attribute(), model._range_key_attribute())
        if attribute
    }


def _key_text(key: dict) -> str:
    return json.dumps({name: _encode(v) for name, v in key.items()}, sort_keys=True)


# --- Signing -------------------------------------------------------------------------------------


def signature_of(manifest: dict, signing_key: str) -> str:
    """The HMAC-SHA256 (hex) of the manifest without its `signature`, in canonical JSON."""
    unsigned = {name: value for name, value in manifest.items() if name != "signature"}
    text = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(signing_key.encode(), text.encode(), hashlib.sha256).hexdigest()


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        while chunk := data.read(_DIGEST_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _require_key(signing_key: str) -> None:
    if not signing_key:
        raise BackupError("No signing key: exports are signed, and checked on import, with EXPORT_SIGNING_KEY.")


# --- Export ---------------------------------------------------------------------------------------


def exported_tables() -> dict[str, type[Model]]:
    return {name: model for name, model in db.tables_by_logical_name().items() if name not in TRANSIENT_TABLES}


def export_tables(out_dir: Path | str, *, signing_key: str, progress: ProgressFactory = no_progress) -> dict:
    """Write every registered table but the transient ones into `out_dir` (new or empty), readable by
    this user only, with a signed manifest; return the manifest."""
    _require_key(signing_key)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise BackupError(f"{out_dir} is a file; give a directory for the export.")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        raise BackupError(f"{out_dir} is not empty; export into a new directory (an export never overwrites one).")
    out_dir.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    out_dir.chmod(DIRECTORY_MODE)  # an empty directory given may have been readable by others
    started = db.utcnow()
    tables = {}
    for name, model in sorted(exported_tables().items()):
        file_name = f"{name}{TABLE_FILE_SUFFIX}"
        count, digest = _export_table(name, model.Meta.table_name, out_dir / file_name, progress(name, None))
        tables[name] = {"file": file_name, "items": count, "sha256": digest, "tableName": model.Meta.table_name}
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "formatVersion": FORMAT_VERSION,
        "startedAt": started.isoformat(),
        "finishedAt": db.utcnow().isoformat(),
        "region": settings.AWS_REGION,
        "tables": tables,
    }
    manifest["signature"] = {"algorithm": SIGNATURE_ALGORITHM, "value": signature_of(manifest, signing_key)}
    # Written last, and atomically: its presence says every table file is complete.
    _write_atomically(out_dir / MANIFEST_NAME, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
    return manifest


def _private_file(path: Path):
    """A new file only this user may read (0600 whatever the umask), opened for writing bytes."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE), "wb")


def without_sessions(name: str, item: dict) -> dict:
    """`item` of the table `name` without its SESSION_ATTRIBUTES."""
    dropped = SESSION_ATTRIBUTES.get(name)
    return {key: value for key, value in item.items() if key not in dropped} if dropped else item


def _export_table(name: str, table_name: str, path: Path, bar: Progress) -> tuple[int, str]:
    partial = path.with_name(path.name + ".partial")
    count = 0
    digest = hashlib.sha256()
    try:
        with _private_file(partial) as out:
            for item in db.scan_raw(table_name):
                line = item_line(without_sessions(name, item)).encode("utf-8")
                out.write(line)
                digest.update(line)
                count += 1
                bar.update(1)
            out.flush()
            os.fsync(out.fileno())
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        bar.close()
    return count, digest.hexdigest()


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    with _private_file(partial) as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    partial.replace(path)


# --- Import ---------------------------------------------------------------------------------------


@dataclass
class TableImport:
    name: str  # logical
    model: type[Model]
    path: Path
    items: int  # as the manifest says
    sha256: str  # as the manifest says

    @property
    def table_name(self) -> str:
        return self.model.Meta.table_name


def read_manifest(from_dir: Path | str, *, signing_key: str) -> dict:
    """The manifest, once its signature is checked: nothing it says is trusted before."""
    _require_key(signing_key)
    from_dir = Path(from_dir)
    if not from_dir.is_dir():
        raise BackupError(f"{from_dir} is not a directory; give the directory an export wrote.")
    path = from_dir / MANIFEST_NAME
    if not path.is_file():
        raise BackupError(f"{from_dir} has no {MANIFEST_NAME}: it is not an export, or its export did not finish.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BackupError(f"{path} is not valid JSON ({exc}).") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not the manifest of an export of this application.")
    if manifest.get("formatVersion") != FORMAT_VERSION:
        raise BackupError(
            f"{path} has format version {manifest.get('formatVersion')!r}; this version reads {FORMAT_VERSION} "
            "(signed exports only)."
        )
    signature = manifest.get("signature")
    if (
        not isinstance(signature, dict)
        or signature.get("algorithm") != SIGNATURE_ALGORITHM
        or not isinstance(signature.get("value"), str)
    ):
        raise BackupError(f"{path} is not signed ({SIGNATURE_ALGORITHM}): refusing an export that cannot be checked.")
    if not hmac.compare_digest(signature["value"], signature_of(manifest, signing_key)):
        raise BackupError(
            f"{path} does not match its signature: it was altered after the export, or signed with another "
            "EXPORT_SIGNING_KEY. Nothing was imported."
        )
    tables = manifest.get("tables")
    if not isinstance(tables, dict) or not all(
        isinstance(t, dict)
        and isinstance(t.get("file"), str)
        and isinstance(t.get("items"), int)
        and isinstance(t.get("sha256"), str)
        for t in tables.values()
    ):
        raise BackupError(f"{path}: `tables` must map each table to its file, item count and SHA-256.")
    return manifest


def plan_import(from_dir: Path | str, *, signing_key: str) -> list[TableImport]:
    """The tables a signed export holds, each matched to this application's model; every file in the
    directory accounted for."""
    from_dir = Path(from_dir)
    manifest = read_manifest(from_dir, signing_key=signing_key)
    known = exported_tables()
    listed = {entry["file"]: name for name, entry in manifest["tables"].items()}
    for path in sorted(from_dir.iterdir()):
        if path.name != MANIFEST_NAME and path.name not in listed:
            raise BackupError(f"Unknown file {path}: {MANIFEST_NAME} does not list it (an export holds nothing else).")
    plan = []
    for name, entry in sorted(manifest["tables"].items()):
        if name not in known:
            raise BackupError(
                f"Unknown table {name!r} in {from_dir / MANIFEST_NAME} (file {entry['file']}); "
                f"this application's tables are {', '.join(sorted(known))}."
            )
        path = from_dir / entry["file"]
        if path.parent != from_dir or not path.is_file():
            raise BackupError(f"{path}, the file of table {name}, is missing.")
        plan.append(TableImport(name=name, model=known[name], path=path, items=entry["items"], sha256=entry["sha256"]))
    return plan


def read_items(table: TableImport) -> Iterator[tuple[int, dict]]:
    """(line number, raw item) for each item of a table file; BackupError names file and line."""
    hash_key, range_key = table.model._hash_key_attribute(), table.model._range_key_attribute()
    with table.path.open(encoding="utf-8") as lines:
        number = 0
        while True:
            number += 1
            try:
                line = lines.readline()
            except UnicodeDecodeError:
                raise BackupError(f"{table.path}, line {number}: not UTF-8 text.") from None
            if not line:
                return
            if not line.strip():
                continue
            try:
                document = json.loads(line)
                if not isinstance(document, dict) or not isinstance(document.get("Item"), dict):
                    raise ValueError('each line must be an object {"Item": {...}}')
                item = without_sessions(table.name, {name: _decode(v) for name, v in document["Item"].items()})
                for attribute in (hash_key, range_key):
                    if attribute and not item.get(attribute.attr_name, {}).get(attribute.attr_type):
                        raise ValueError(
                            f"the item has no key attribute {attribute.attr_name!r} (a non-empty {attribute.attr_type})"
                        )
            except ValueError as exc:  # json.JSONDecodeError is one
                raise BackupError(f"{table.path}, line {number}: {exc}") from None
            yield number, item


# Items of a table that a rerun accepts beside the export's (logical table name, raw item).
ExtraItems = Callable[[str, dict], bool]


def import_tables(
    from_dir: Path | str,
    *,
    signing_key: str,
    progress: ProgressFactory = no_progress,
    accept_extra: ExtraItems | None = None,
) -> dict[str, int]:
    """Put every item of a signed export into this environment's tables; return the count per table.
    Nothing is written until the signature and every file's digest are checked, every file has been
    read through and every table checked: each must be empty, or hold only items identical to ones
    in the file (what an earlier run of the same import left) and items `accept_extra` accepts (what
    the caller itself writes during an import: its audit entries), so running it again is harmless.
    Then the sessions of the items written (SESSION_TABLES: the users' tokens) are deleted."""
    plan = plan_import(from_dir, signing_key=signing_key)
    for table in plan:
        if not hmac.compare_digest(file_digest(table.path), table.sha256):
            raise BackupError(
                f"{table.path} is not the file that was exported (its SHA-256 differs from the one "
                f"{MANIFEST_NAME} signs): refusing an altered export. Nothing was imported."
            )
    for table in plan:
        count = 0
        bar = progress(f"{table.name} (read)", table.items)
        try:
            for _ in read_items(table):
                count += 1
                bar.update(1)
        finally:
            bar.close()
        if count != table.items:
            raise BackupError(
                f"{table.path} holds {count} items where {MANIFEST_NAME} says {table.items}: "
                "the file is incomplete or was changed."
            )
    for table in plan:
        _check_target(table, progress, accept_extra)
    written = {}
    for table in plan:
        owners: set[str] | None = set() if table.name in SESSION_TABLES else None
        try:
            written[table.name] = _put_all(table, progress(table.name, table.items), owners)
        finally:  # also when the import stops half-way: the items written so far lost their entries
            if owners:
                _forget_sessions(table, owners)
    return written


def _forget_sessions(table: TableImport, owners: set[str]) -> int:
    """Delete every item of the session table of `table` (SESSION_TABLES) that names one of `owners`
    (hash keys as `_owner_text` gives them): one strongly consistent Scan, after the owners are
    written, so that a session issued before that write is seen, and one issued after it is listed
    on its owner's new item. Returns how many were deleted."""
    session_name, owner_attribute = SESSION_TABLES[table.name]
    model = db.tables_by_logical_name()[session_name]
    key_names = [
        attribute.attr_name for attribute in (model._hash_key_attribute(), model._range_key_attribute()) if attribute
    ]
    names = {f"#a{i}": name for i, name in enumerate([*key_names, owner_attribute])}
    doomed = [
        {name: item[name] for name in key_names}
        for item in db.scan_raw(
            model.Meta.table_name, ProjectionExpression=", ".join(names), ExpressionAttributeNames=names
        )
        if owner_attribute in item and _owner_text(item[owner_attribute]) in owners
    ]
    for start in range(0, len(doomed), db.BATCH_WRITE_LIMIT):
        db.batch_delete_raw(model.Meta.table_name, doomed[start : start + db.BATCH_WRITE_LIMIT])
    return len(doomed)


def _owner_text(value: dict) -> str:
    return json.dumps(value, sort_keys=True)


def _check_target(table: TableImport, progress: ProgressFactory, accept_extra: ExtraItems | None) -> None:
    client = db.connection().client
    try:
        first = client.scan(TableName=table.table_name, Limit=1, ConsistentRead=True)
    except ClientError as exc:
        if db.error_code(exc) == "ResourceNotFoundException":
            raise BackupError(f"Table {table.table_name} ({table.name}) does not exist; run bootstrap first.") from None
        raise
    if not first.get("Items") and not first.get("LastEvaluatedKey"):
        return

    def counted(item: dict) -> bool:
        return accept_extra is None or not accept_extra(table.name, item)

    if accept_extra is None:
        paginator = client.get_paginator("scan")
        pages = paginator.paginate(TableName=table.table_name, Select="COUNT", ConsistentRead=True)
        present = sum(page["Count"] for page in pages)
    else:
        present = sum(1 for item in db.scan_raw(table.table_name) if counted(item))
    matched = 0
    refuse = f"Table {table.table_name} ({table.name}) is not empty"
    bar = progress(f"{table.name} (compare)", table.items)
    try:
        for chunk in _chunks(read_items(table), _BATCH_GET_LIMIT, table.model):
            wanted = {_key_text(_key_of(table.model, item)): (number, item) for number, item in chunk}
            request = {
                table.table_name: {
                    "Keys": [_key_of(table.model, item) for _, item in chunk],
                    "ConsistentRead": True,
                }
            }
            for stored in db.batch_get_raw(request).get(table.table_name, []):
                number, item = wanted[_key_text(_key_of(table.model, stored))]
                if canonical(without_sessions(table.name, stored)) != canonical(item):
                    raise BackupError(
                        f"{refuse} and its item {_key_text(_key_of(table.model, stored))} differs from line "
                        f"{number} of {table.path}. Import only into empty tables (or into those an earlier "
                        "run of this same import filled)."
                    )
                matched += counted(stored)
            bar.update(len(chunk))
    finally:
        bar.close()
    if matched < present:
        raise BackupError(
            f"{refuse}: it holds {present - matched} item(s) that are not in {table.path}. "
            "Import only into empty tables."
        )


def _put_all(table: TableImport, bar: Progress, owners: set[str] | None = None) -> int:
    """Put the table's items; `owners` (if given) collects the hash keys of those written."""
    count = 0
    hash_name = table.model._hash_key_attribute().attr_name
    try:
        for chunk in _chunks(read_items(table), db.BATCH_WRITE_LIMIT, table.model):
            if owners is not None:  # before the put: a batch that fails half-way may have written some
                owners.update(_owner_text(item[hash_name]) for _, item in chunk)
            try:
                db.batch_put_raw(table.table_name, [item for _, item in chunk])
            except ClientError as exc:
                if db.error_code(exc) != "ValidationException":
                    raise
                raise BackupError(
                    f"{table.path}, lines {chunk[0][0]}-{chunk[-1][0]}: DynamoDB refused these items "
                    f"({exc.response['Error'].get('Message')}). The lines before them are in {table.table_name}; "
                    "fix the file and run the import again (it accepts what it wrote)."
                ) from None
            count += len(chunk)
            bar.update(len(chunk))
    finally:
        bar.close()
    return count


def _chunks(items: Iterator[tuple[int, dict]], size: int, model: type[Model]) -> Iterator[list[tuple[int, dict]]]:
    """Batches of at most `size`, cut early where a key repeats: one batch request may not name an
    item twice."""
    chunk: list[tuple[int, dict]] = []
    keys: set[str] = set()
    for number, item in items:
        key = _key_text(_key_of(model, item))
        if len(chunk) == size or key in keys:
            yield chunk
            chunk, keys = [], set()
        chunk.append((number, item))
        keys.add(key)
    if chunk:
        yield chunk
