"""Sharding math of the sparse indexes: which shard an id lands on, the keys of a shard set, and the
test stage's few shards (the sweeps and listings over them are in
tests/integration/appointments/test_sharding.py)."""

from django.conf import settings

from scheduler import db


def test_shard_keys_are_stable_and_spread():
    # Pinned: the first 32 bits of SHA-256 modulo the shard count, the same in every process and release
    # (Python's hash() is salted per process, so items written by one process would be missed by another).
    assert db.shard_of("appointment-1", 128) == 122
    assert db.shard_of("appointment-1", 4) == 2
    assert db.shard_key("pending", "appointment-1", 128) == "pending#122"
    assert db.shard_keys("due", 3) == ["due#0", "due#1", "due#2"]
    counts = [0] * 16
    for n in range(1600):
        counts[db.shard_of(f"a-{n}", 16)] += 1
    assert min(counts) > 60 and max(counts) < 140  # about 100 each


def test_the_test_stage_uses_a_few_shards():
    assert settings.SPARSE_INDEX_SHARDS == 4
    assert settings.COUNTRY_DAY_SHARDS == 4
