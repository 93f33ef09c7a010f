"""Field encryption: the cipher and key ring, no services (key rotation against DynamoDB Local is in
tests/integration/scheduler/test_crypto.py)."""

import base64
import os

import pytest
from django.core.exceptions import ImproperlyConfigured

from scheduler.security.crypto import DecryptionError, decrypt, encrypt, key_id_of, parse_keys
from tests.helpers import key


class TestCipher:
    def test_round_trip_with_a_fresh_nonce_each_time(self, keys):
        keys(key("k1"))
        first, second = encrypt("Jorge Moros", context="name"), encrypt("Jorge Moros", context="name")
        assert first != second and "Jorge" not in first
        assert first.startswith("enc:v1:k1:") and key_id_of(first) == "k1"
        assert decrypt(first, context="name") == decrypt(second, context="name") == "Jorge Moros"

    def test_a_value_moved_to_another_field_or_tampered_does_not_decrypt(self, keys):
        keys(key("k1"))
        sealed = encrypt("jorge@example.com", context="email")
        with pytest.raises(DecryptionError):
            decrypt(sealed, context="name")
        tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
        with pytest.raises(DecryptionError):
            decrypt(tampered, context="email")

    def test_old_keys_stay_readable_and_a_missing_key_is_named(self, keys):
        old, new = key("k1"), key("k2")
        keys(old)
        sealed = encrypt("secret", context="reason")
        keys(new, old)
        assert decrypt(sealed, context="reason") == "secret"
        assert key_id_of(encrypt("secret", context="reason")) == "k2"
        keys(new)
        with pytest.raises(DecryptionError, match="No key 'k1'"):
            decrypt(sealed, context="reason")

    @pytest.mark.parametrize(
        "entries, message",
        [
            ([], "FIELD_ENCRYPTION_KEYS is not set"),
            (["k1:not base64!"], "not base64"),
            ([f"k1:{base64.b64encode(b'short').decode()}"], "32 bytes"),
            ([f"bad id:{base64.b64encode(os.urandom(32)).decode()}"], "not a key id"),
        ],
    )
    def test_bad_key_settings_are_named(self, entries, message):
        with pytest.raises(ImproperlyConfigured, match=message):
            parse_keys(entries)
