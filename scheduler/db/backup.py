"""Export every table to JSON lines, and import such an export into empty tables.

An export is a directory: one `<logical table name>.jsonl` per table and a `manifest.json` written
last (a directory without one is an export that did not finish). Each line is one item exactly as
DynamoDB stores it, in DynamoDB JSON as the low-level client speaks it (binary values in base64), in
the `{"Item": {...}}` form of DynamoDB's own export to S3. So encrypted fields stay encrypted, numbers
keep their digits, and sets, TTL attributes and versions come back as they were. Files are named by
the logical table name (the key of settings.DYNAMODB_TABLES), so an export of one environment can be
imported into another whose tables carry another prefix.

Both directions stream: one Scan page or one batch in memory at a time. A Scan is not a snapshot of
the tables at one instant; for that, on AWS, use point-in-time recovery (see the README).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Iterator
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
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
TABLE_FILE_SUFFIX = ".jsonl"
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


# --- Export ---------------------------------------------------------------------------------------


def export_tables(out_dir: Path | str, *, progress: ProgressFactory = no_progress) -> dict:
    """Write every registered table into `out_dir` (new or empty); return the manifest."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise BackupError(f"{out_dir} is a file; give a directory for the export.")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        raise BackupError(f"{out_dir} is not empty; export into a new directory (an export never overwrites one).")
    out_dir.mkdir(parents=True, exist_ok=True)
    started = db.utcnow()
    tables = {}
    for name, model in sorted(db.tables_by_logical_name().items()):
        file_name = f"{name}{TABLE_FILE_SUFFIX}"
        count = _export_table(model.Meta.table_name, out_dir / file_name, progress(name, None))
        tables[name] = {"file": file_name, "items": count, "tableName": model.Meta.table_name}
    manifest = {
        "format": FORMAT,
        "formatVersion": FORMAT_VERSION,
        "startedAt": started.isoformat(),
        "finishedAt": db.utcnow().isoformat(),
        "region": settings.AWS_REGION,
        "tables": tables,
    }
    # Written last, and atomically: its presence says every table file is complete.
    _write_atomically(out_dir / MANIFEST_NAME, json.dumps(manifest, indent=2) + "\n")
    return manifest


def _export_table(table_name: str, path: Path, bar: Progress) -> int:
    partial = path.with_name(path.name + ".partial")
    count = 0
    try:
        with partial.open("w", encoding="utf-8") as out:
            for item in db.scan_raw(table_name):
                out.write(item_line(item))
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
    return count


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as out:
        out.write(text)
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

    @property
    def table_name(self) -> str:
        return self.model.Meta.table_name


def read_manifest(from_dir: Path | str) -> dict:
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
            f"{path} has format version {manifest.get('formatVersion')!r}; this version reads {FORMAT_VERSION}."
        )
    tables = manifest.get("tables")
    if not isinstance(tables, dict) or not all(
        isinstance(t, dict) and isinstance(t.get("file"), str) and isinstance(t.get("items"), int)
        for t in tables.values()
    ):
        raise BackupError(f"{path}: `tables` must map each table to its file and item count.")
    return manifest


def plan_import(from_dir: Path | str) -> list[TableImport]:
    """The tables an export holds, each matched to this application's model; every file accounted for."""
    from_dir = Path(from_dir)
    manifest = read_manifest(from_dir)
    known = db.tables_by_logical_name()
    listed = {entry["file"]: name for name, entry in manifest["tables"].items()}
    for path in sorted(from_dir.glob(f"*{TABLE_FILE_SUFFIX}")):
        if path.name not in listed:
            raise BackupError(f"Unknown table file {path}: {MANIFEST_NAME} does not list it.")
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
        plan.append(TableImport(name=name, model=known[name], path=path, items=entry["items"]))
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
                item = {name: _decode(v) for name, v in document["Item"].items()}
                for attribute in (hash_key, range_key):
                    if attribute and not item.get(attribute.attr_name, {}).get(attribute.attr_type):
                        raise ValueError(
                            f"the item has no key attribute {attribute.attr_name!r} (a non-empty {attribute.attr_type})"
                        )
            except ValueError as exc:  # json.JSONDecodeError is one
                raise BackupError(f"{table.path}, line {number}: {exc}") from None
            yield number, item


def import_tables(from_dir: Path | str, *, progress: ProgressFactory = no_progress) -> dict[str, int]:
    """Put every item of an export into this environment's tables; return the count per table.
    Nothing is written until every file has been read through and every table checked: each must
    be empty, or hold only items identical to ones in the file (what an earlier run of the same
    import left), so running it again is harmless."""
    plan = plan_import(from_dir)
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
        _check_target(table, progress)
    written = {}
    for table in plan:
        written[table.name] = _put_all(table, progress(table.name, table.items))
    return written


def _check_target(table: TableImport, progress: ProgressFactory) -> None:
    client = db.connection().client
    try:
        first = client.scan(TableName=table.table_name, Limit=1, ConsistentRead=True)
    except ClientError as exc:
        if db.error_code(exc) == "ResourceNotFoundException":
            raise BackupError(f"Table {table.table_name} ({table.name}) does not exist; run bootstrap first.") from None
        raise
    if not first.get("Items") and not first.get("LastEvaluatedKey"):
        return
    paginator = client.get_paginator("scan")
    pages = paginator.paginate(TableName=table.table_name, Select="COUNT", ConsistentRead=True)
    present = sum(page["Count"] for page in pages)
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
                if canonical(stored) != canonical(item):
                    raise BackupError(
                        f"{refuse} and its item {_key_text(_key_of(table.model, stored))} differs from line "
                        f"{number} of {table.path}. Import only into empty tables (or into those an earlier "
                        "run of this same import filled)."
                    )
                matched += 1
            bar.update(len(chunk))
    finally:
        bar.close()
    if matched < present:
        raise BackupError(
            f"{refuse}: it holds {present - matched} item(s) that are not in {table.path}. "
            "Import only into empty tables."
        )


def _put_all(table: TableImport, bar: Progress) -> int:
    count = 0
    try:
        for chunk in _chunks(read_items(table), db.BATCH_WRITE_LIMIT, table.model):
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
