"""Sharding math of the sparse indexes: which shard an id lands on, the keys of a shard set, and the
test stage's few shards (the sweeps and listings over them are in
tests/integration/appointments/test_sharding.py)."""

from django.conf import settings

from scheduler import db


def test_shard_keys_are_stable_and_spread():
    assert db.shard_of("appointment-1", 128) == db.shard_of("appointment-1", 128)  # not Python's salted hash()
    assert db.shard_key("pending", "appointment-1", 128) == f"pending#{db.shard_of('appointment-1', 128)}"
    assert db.shard_keys("due", 3) == ["due#0", "due#1", "due#2"]
    counts = [0] * 16
    for n in range(1600):
        counts[db.shard_of(f"a-{n}", 16)] += 1
    assert min(counts) > 60 and max(counts) < 140  # about 100 each


def test_the_test_stage_uses_a_few_shards():
    assert settings.SPARSE_INDEX_SHARDS == 4
    assert settings.COUNTRY_DAY_SHARDS == 4
