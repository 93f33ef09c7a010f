"""Encryption of personal data before it reaches DynamoDB, and the e-mail blind index.

A protected value is stored as `enc:v2:<key id>:<base64(nonce | AES-GCM ciphertext and tag)>`. The key
id travels with each value, so records written under an older key stay readable after a new key
becomes active, until `manage.py rotate_keys` re-encrypts them. The associated data is
`<table>|<record key>|<attribute>` (the table's logical name, without the environment's prefix): a
value moved to another record, another table or another field does not decrypt.

PynamoDB serializes an attribute without its record, so the binding is made by the record
(`EncryptedRecord`): its serialize and deserialize name the record the attributes are (de)serialized
for; an encrypted attribute serialized anywhere else (an update action, a condition) is refused. A
value that does not decrypt does not fail the read: the record carries it in `undecryptable`, its
field reads None, a save writes the stored value back unchanged, and a view refuses to show that
record alone (`refuse_undecryptable`, a 503), while a list shows it with its fields null.

Before record binding, values were `enc:v1:` (the attribute name as associated data) or, older
still, plain text; both are refused unless FIELD_ENCRYPTION_ACCEPT_LEGACY is on, while rotate_keys
rewrites them as v2.
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import hashlib
import hmac
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import AttributeNullError

from scheduler.db import RecordModel
from scheduler.exceptions import Undecryptable

PREFIX = "enc:v2:"
LEGACY_PREFIX = "enc:v1:"  # associated data: the attribute name only (not bound to a record)
_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
_NONCE_BYTES = 12

logger = logging.getLogger(__name__)


class DecryptionError(Exception):
    """A stored value that no configured key opens (a missing key, a tampered value, a value of
    another record), or a legacy value while legacy values are refused. `key_id` is None for a value
    stored in the clear."""

    def __init__(self, message: str, *, key_id: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.key_id = key_id


@dataclass(frozen=True)
class Keyring:
    active_id: str
    keys: dict[str, bytes]


def parse_keys(entries: list[str]) -> Keyring:
    """`["k2:<base64>", "k1:<base64>"]` → the keyring; the first entry is the active key."""
    keys: dict[str, bytes] = {}
    for entry in entries:
        key_id, _, encoded = entry.strip().partition(":")
        if not _KEY_ID.match(key_id):
            raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS: {key_id!r} is not a key id (letters, digits, _ . -).")
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS: the key {key_id!r} is not base64.") from None
        if len(key) != 32:
            raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS: the key {key_id!r} must be 32 bytes (AES-256).")
        keys[key_id] = key
    if not keys:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS is not set: give `keyid:base64-of-32-bytes` (make run creates a local one)."
        )
    return Keyring(active_id=entries[0].split(":", 1)[0].strip(), keys=keys)


@cache
def keyring() -> Keyring:
    return parse_keys(settings.FIELD_ENCRYPTION_KEYS)


def warn_if_legacy_accepted() -> None:
    """At startup (`SchedulerConfig.ready`): outside the local stage and the test suite, accepting
    legacy values is meant for a migration only, so say so (no values, no keys)."""
    if settings.FIELD_ENCRYPTION_ACCEPT_LEGACY and not settings.IS_LOCAL:
        logger.warning(
            "FIELD_ENCRYPTION_ACCEPT_LEGACY is on: enc:v1: values and values stored in the clear are accepted; "
            "run rotate_keys, then turn it off."
        )


def new_key_entry(key_id: str) -> str:
    """A fresh `keyid:base64` entry for FIELD_ENCRYPTION_KEYS."""
    return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"


def record_context(table: str, record_key: str, attribute: str) -> str:
    """The associated data of one stored value: which table, record and attribute it belongs to."""
    return f"{table}|{record_key}|{attribute}"


def encrypt(plaintext: str, *, context: str) -> str:
    ring = keyring()
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(ring.keys[ring.active_id]).encrypt(nonce, plaintext.encode(), context.encode())
    return f"{PREFIX}{ring.active_id}:{base64.b64encode(nonce + sealed).decode()}"


def _split(stored: str) -> tuple[str | None, str | None, str]:
    """(format prefix, key id, payload); (None, None, stored) for a value stored in the clear."""
    for prefix in (PREFIX, LEGACY_PREFIX):
        if stored.startswith(prefix):
            key_id, _, payload = stored[len(prefix) :].partition(":")
            return prefix, key_id, payload
    return None, None, stored


def key_id_of(stored: str) -> str | None:
    """The key id a stored value was encrypted under; None for a value stored in the clear."""
    return _split(stored)[1]


def is_current(stored: str, active_id: str) -> bool:
    """Is this stored value bound to its record (v2) and under the active key? (rotate_keys)"""
    prefix, key_id, _ = _split(stored)
    return prefix == PREFIX and key_id == active_id


def decrypt(stored: str, *, context: str, legacy_context: str | None = None) -> str:
    """`context`: the record binding (`record_context`); `legacy_context`: the attribute name a v1
    value was sealed with, tried only while FIELD_ENCRYPTION_ACCEPT_LEGACY is on."""
    prefix, key_id, payload = _split(stored)
    legacy = settings.FIELD_ENCRYPTION_ACCEPT_LEGACY
    if prefix is None:
        if legacy:
            return stored  # written before encryption was on; rotate_keys encrypts it
        raise DecryptionError("the value is not encrypted (refused unless FIELD_ENCRYPTION_ACCEPT_LEGACY)", key_id=None)
    if prefix == LEGACY_PREFIX:
        if not legacy or legacy_context is None:
            raise DecryptionError(
                f"the value under key {key_id!r} is in the old v1 format, not bound to its record "
                "(read only with FIELD_ENCRYPTION_ACCEPT_LEGACY, until rotate_keys rewrites it)",
                key_id=key_id,
            )
        context = legacy_context
    key = keyring().keys.get(key_id or "")
    if key is None:
        raise DecryptionError(f"no key {key_id!r} in FIELD_ENCRYPTION_KEYS (add it back to read it)", key_id=key_id)
    try:
        raw = base64.b64decode(payload)
        return AESGCM(key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode()).decode()
    except (InvalidTag, ValueError, binascii.Error):
        raise DecryptionError(
            f"the value under key {key_id!r} does not decrypt (altered, or copied from another record or field)",
            key_id=key_id,
        ) from None


# --- Binding to the record -------------------------------------------------------------------------

# (logical table name, record key) of the record being serialized or deserialized in this context.
_binding: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar("crypto_binding", default=None)


@contextmanager
def _bound_to(table: str, record_key: str) -> Iterator[None]:
    token = _binding.set((table, record_key))
    try:
        yield
    finally:
        _binding.reset(token)


@dataclass(frozen=True)
class UnreadableValue:
    """A stored value that did not decrypt, kept to be written back as it is."""

    stored: str
    key_id: str | None
    reason: str


class EncryptedUnicodeAttribute(UnicodeAttribute):
    """A text attribute that is encrypted in the application: DynamoDB (and its backups, streams and
    any scan) only ever holds the ciphertext. Only on an `EncryptedRecord`, which binds it."""

    def __set__(self, instance: Any, value: str | None) -> None:
        super().__set__(instance, value)
        # A value set by hand replaces an undecryptable stored one (deserialize sets the list after).
        unreadable = getattr(instance, "_unreadable", None)
        if unreadable:
            unreadable.pop(self.attr_name, None)

    def serialize(self, value: str) -> str:
        bound = _binding.get()
        if bound is None:
            raise RuntimeError(
                f"The encrypted attribute {self.attr_name!r} was serialized outside its record (in an update "
                "action or a condition?): assign it on the record and write the whole record instead."
            )
        return encrypt(value, context=record_context(*bound, self.attr_name))

    def deserialize(self, value: str) -> str:
        bound = _binding.get()
        if bound is None:
            raise RuntimeError(f"The encrypted attribute {self.attr_name!r} was read outside its record.")
        return decrypt(value, context=record_context(*bound, self.attr_name), legacy_context=self.attr_name)


class EncryptedRecord(RecordModel):
    """A record with `EncryptedUnicodeAttribute`s: binds each of their values to this table, this
    record's key and the attribute (see the module's docstring)."""

    _unreadable: dict[str, UnreadableValue]

    @classmethod
    def _encrypted(cls) -> dict[str, EncryptedUnicodeAttribute]:
        return {
            name: attr for name, attr in cls.get_attributes().items() if isinstance(attr, EncryptedUnicodeAttribute)
        }

    def _binding_key(self) -> str:
        record_key = getattr(self, self._hash_keyname)
        if record_key is None:
            raise AttributeNullError(self._hash_keyname)
        return str(record_key)

    def serialize(self, null_check: bool = True) -> dict[str, dict[str, Any]]:
        unreadable = dict(getattr(self, "_unreadable", {}))
        with _bound_to(self.Meta.logical_name, self._binding_key()):
            # An unreadable value reads None here; the null check is made below with it written back.
            values = super().serialize(null_check=null_check and not unreadable)
        for attr_name, kept in unreadable.items():
            values[attr_name] = {"S": kept.stored}
        if null_check and unreadable:
            for name, attr in self.get_attributes().items():
                if not attr.null and attr.attr_name not in values:
                    raise AttributeNullError(name)
        return values

    @classmethod
    def _without_encrypted(cls, attribute_values: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        raw_names = {attr.attr_name for attr in cls._encrypted().values()}
        return {name: value for name, value in attribute_values.items() if name not in raw_names}

    def deserialize(self, attribute_values: dict[str, dict[str, Any]]) -> None:
        """After a get, an update, a refresh (PynamoDB's `Model.deserialize`)."""
        super().deserialize(self._without_encrypted(attribute_values))
        self._decrypt_from(attribute_values)

    @classmethod
    def _instantiate(cls, attribute_values: dict[str, dict[str, Any]]) -> Any:
        """`from_raw_data` (queries, scans, batch reads): PynamoDB 6 deserializes there through
        `AttributeContainer._container_deserialize`, not `deserialize` (pinned in tests/unit/test_crypto.py)."""
        instance = super()._instantiate(cls._without_encrypted(attribute_values))
        instance._decrypt_from(attribute_values)
        return instance

    def _decrypt_from(self, attribute_values: dict[str, dict[str, Any]]) -> None:
        unreadable: dict[str, UnreadableValue] = {}
        with _bound_to(self.Meta.logical_name, self._binding_key()):
            for name, attr in self._encrypted().items():
                stored = attribute_values.get(attr.attr_name, {}).get("S")
                if stored is None:
                    continue
                try:
                    setattr(self, name, attr.deserialize(stored))
                except DecryptionError as exc:
                    unreadable[attr.attr_name] = UnreadableValue(stored, exc.key_id, exc.message)
        self._unreadable = unreadable

    @property
    def undecryptable_fields(self) -> list[str]:
        """The stored names of the fields whose value did not decrypt (they read None)."""
        return sorted(getattr(self, "_unreadable", {}))

    def undecryptable_reasons(self) -> dict[str, UnreadableValue]:
        return dict(getattr(self, "_unreadable", {}))


def refuse_undecryptable(record: Any) -> None:
    """A record shown alone must be whole: 503 `undecryptable` naming the record, its fields and key
    ids (never the value) when one of its values does not decrypt."""
    unreadable = record.undecryptable_reasons() if isinstance(record, EncryptedRecord) else {}
    if not unreadable:
        return
    record_key = getattr(record, record._hash_keyname)
    fields = "; ".join(f"{attr_name}: {kept.reason}" for attr_name, kept in sorted(unreadable.items()))
    raise Undecryptable(
        f"{type(record).__name__} {record_key} cannot be shown: {fields}. Restore the key or the value "
        "(see docs/security.md); the record's other data is unchanged."
    )


def blind_index(kind: str, value: str | None) -> str | None:
    """A keyed hash of a value, to find a record by it without storing or indexing the value."""
    if not value:
        return None
    key = settings.EMAIL_INDEX_KEY
    if not key:
        raise ImproperlyConfigured("EMAIL_INDEX_KEY is not set (make run creates a local one).")
    return hmac.new(key.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
