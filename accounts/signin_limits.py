"""Failed sign-ins, counted in DynamoDB (every API process sees the same counts) before the password
is checked, so that parallel guesses cannot slip past a limit; 429 with Retry-After beyond one."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from functools import partial

from django.conf import settings
from rest_framework.exceptions import Throttled

from accounts.models import LoginFailures
from scheduler.db import Transaction, run_transaction
from scheduler.exceptions import Conflict

logger = logging.getLogger(__name__)

Attempt = list[tuple[str, int, int]]


def attempt_reserve(*, username: str, client_address: str) -> Attempt:
    """Count a sign-in attempt as a failure before its password is checked; 429 beyond a limit."""
    keys = _failure_keys(username=username, client_address=client_address)
    _reserve_attempt(keys)
    return keys


def attempt_succeeded(attempt: Attempt) -> None:
    """The password was right: the attempt was not a failure after all."""
    _give_back_attempt(attempt)


def _failure_keys(*, username: str, client_address: str) -> list[tuple[str, int, int]]:
    """(counter key, limit, window end) for the username and for the client address."""
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    start = int(time.time()) // window * window
    return [
        (f"user#{username.lower()[:200]}#{start}", settings.LOGIN_FAILURES_PER_USERNAME, start + window),
        (f"address#{client_address}#{start}", settings.LOGIN_FAILURES_PER_ADDRESS, start + window),
    ]


def _counter_actions(window_end: int, step: int) -> list:
    return [
        LoginFailures.failures.add(step),
        LoginFailures.expires_at.set(datetime.fromtimestamp(window_end + 60, UTC)),
    ]


def _reserve_attempt(keys: list[tuple[str, int, int]]) -> None:
    """Count this attempt against both limits in one transaction, only while both are under their
    limit (a conditional update: no two API processes can both slip under it); 429 otherwise."""

    def build(tx: Transaction) -> None:
        for key, limit, window_end in keys:
            tx.update(
                LoginFailures(key),
                _counter_actions(window_end, 1),
                condition=LoginFailures.failures.does_not_exist() | (LoginFailures.failures < limit),
                on_fail=partial(_throttled, key, window_end),
            )

    run_transaction(build, default_conflict=lambda: _throttled(keys[0][0], keys[0][2]))


def _throttled(key: str, window_end: int) -> Throttled:
    logger.warning("sign-in throttled: %s", key.split("#", 1)[0])  # no username or address in logs
    return Throttled(wait=max(1, window_end - int(time.time())), detail="Too many failed sign-ins; wait and retry.")


def _give_back_attempt(keys: list[tuple[str, int, int]]) -> None:
    def build(tx: Transaction) -> None:
        for key, _, window_end in keys:
            tx.update(LoginFailures(key), _counter_actions(window_end, -1))

    run_transaction(build, default_conflict=lambda: Conflict("Signing in collided with another attempt; retry."))
