"""check_integrity's kinds of problem: which ones --repair may fix (the checks themselves run against
DynamoDB Local in tests/integration/appointments/test_integrity.py)."""

import pytest

from appointments.integrity import LOCK_HELD_BY_OTHER, MISSING_LOCK, ORPHANED_LOCK, PENDING_NOT_QUEUED, Problem


@pytest.mark.parametrize("kind", [MISSING_LOCK, ORPHANED_LOCK, PENDING_NOT_QUEUED])
def test_repairable_kinds(kind):
    assert Problem(kind).repairable
    assert not Problem(LOCK_HELD_BY_OTHER).repairable
