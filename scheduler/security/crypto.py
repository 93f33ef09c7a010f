"""Encryption of personal data before it reaches DynamoDB, and the e-mail blind index.

A protected value is stored as `enc:v1:<key id>:<base64(nonce | AES-GCM ciphertext and tag)>`. The key
id travels with each value, so records written under an older key stay readable after a new key
becomes active, until `manage.py rotate_keys` re-encrypts them. The attribute's name is bound to the
ciphertext (associated data), so a value cannot be moved into another field unnoticed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from functools import cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from pynamodb.attributes import UnicodeAttribute

PREFIX = "enc:v1:"
_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
_NONCE_BYTES = 12


class DecryptionError(Exception):
    """A stored value that no configured key opens (a missing key, or a tampered value)."""


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


def new_key_entry(key_id: str) -> str:
    """A fresh `keyid:base64` entry for FIELD_ENCRYPTION_KEYS."""
    return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"


def encrypt(plaintext: str, *, context: str) -> str:
    ring = keyring()
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(ring.keys[ring.active_id]).encrypt(nonce, plaintext.encode(), context.encode())
    return f"{PREFIX}{ring.active_id}:{base64.b64encode(nonce + sealed).decode()}"


def key_id_of(stored: str) -> str | None:
    """The key id a stored value was encrypted under; None for a value stored in the clear."""
    if not stored.startswith(PREFIX):
        return None
    return stored[len(PREFIX) :].split(":", 1)[0]


def decrypt(stored: str, *, context: str) -> str:
    key_id = key_id_of(stored)
    if key_id is None:
        return stored  # written before encryption was on; rotate_keys encrypts it
    ring = keyring()
    key = ring.keys.get(key_id)
    if key is None:
        raise DecryptionError(f"No key {key_id!r} in FIELD_ENCRYPTION_KEYS; add it back to read this value.")
    try:
        raw = base64.b64decode(stored[len(PREFIX) + len(key_id) + 1 :])
        return AESGCM(key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode()).decode()
    except (InvalidTag, ValueError, binascii.Error):
        raise DecryptionError(f"A value encrypted under key {key_id!r} does not decrypt (tampered?).") from None


class EncryptedUnicodeAttribute(UnicodeAttribute):
    """A text attribute that is encrypted in the application: DynamoDB (and its backups, streams and
    any scan) only ever holds the ciphertext."""

    def serialize(self, value: str) -> str:
        return encrypt(value, context=self.attr_name)

    def deserialize(self, value: str) -> str:
        return decrypt(value, context=self.attr_name)


def blind_index(kind: str, value: str | None) -> str | None:
    """A keyed hash of a value, to find a record by it without storing or indexing the value."""
    if not value:
        return None
    key = settings.EMAIL_INDEX_KEY
    if not key:
        raise ImproperlyConfigured("EMAIL_INDEX_KEY is not set (make run creates a local one).")
    return hmac.new(key.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
