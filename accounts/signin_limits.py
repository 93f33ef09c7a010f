"""Failed sign-ins, counted in DynamoDB (every API process sees the same counts) before the password
is checked, so that parallel guesses cannot slip past a limit; 429 with Retry-After beyond one.

Three counters per window (LOGIN_FAILURE_WINDOW_SECONDS), none of which lets one address lock an
account's owner out from another:
- `pair#<username>#<address>`: one address guessing at one account (LOGIN_FAILURES_PER_USERNAME);
  that address waits for the next window, the owner elsewhere does not;
- `address#<address>`: one address spraying many usernames (LOGIN_FAILURES_PER_ADDRESS);
- `account#<username>`: one account guessed at from many addresses. Past
  LOGIN_ACCOUNT_FAILURES_BEFORE_DELAY failures (more than one address can make in a window), each
  further attempt waits 1, 2, 4, ... seconds after the last (at most LOGIN_ACCOUNT_DELAY_MAX_SECONDS),
  except from an address the account signed in from successfully in the last KNOWN_ADDRESS_DAYS
  (`known#<username>#<address>`), where the owner usually is.
An "address" of the pair and address counters is an IPv6 client's /64 (`counted_client`).

Correct sign-ins are limited too, per account: `success#<username>` allows LOGIN_SUCCESSES_PER_ACCOUNT
a minute, then 429 (not a failure). Every write of a user is conditional on its sign-in count and
loses its race to a sign-in that commits first, so a change of the user retries more often than the
sign-ins of a minute's boundary (two windows) can make it lose (`user_write_attempts`): whoever holds
the password cannot hold off its revocation by signing in again and again.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from django.conf import settings
from rest_framework.exceptions import Throttled

from accounts.models import LoginFailures
from scheduler.db import LOST_RACE_ATTEMPTS, Transaction, batch_get, run_transaction, utcnow
from scheduler.exceptions import Conflict

logger = logging.getLogger(__name__)

KNOWN_ADDRESS_DAYS = 30
SUCCESS_WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Counter:
    key: str
    limit: int
    window_end: int


@dataclass(frozen=True)
class Attempt:
    """What a reserved attempt counted, to give back if its password was right."""

    counters: list[Counter]
    name: str  # the username as the counters key it
    account_key: str
    known_key: str
    window_end: int


TOO_MANY_SIGN_INS = "Too many sign-ins to this account; wait and retry."


def user_write_attempts() -> int:
    """How often a write of a user is judged again while it loses races (accounts.services.user_update):
    more than the correct sign-ins that can commit around one window boundary, plus the usual retries."""
    return 2 * settings.LOGIN_SUCCESSES_PER_ACCOUNT + LOST_RACE_ATTEMPTS


def counted_client(address: str) -> str:
    """What the per-address and pair counters count: an IPv6 client by its /64 (one subscriber or host
    holds all of it, so a new interface id would be a fresh limit), an IPv4 one (also when shown
    IPv4-mapped) by its address. The known addresses stay exact: counted wide, trusted narrow."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # "unknown"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else ip)


def account_delay(failures: int) -> int:
    """Seconds the attempt after `failures` failures at one account (from any address) waits."""
    free = settings.LOGIN_ACCOUNT_FAILURES_BEFORE_DELAY
    if failures < free:
        return 0
    return min(2 ** min(failures - free, 30), settings.LOGIN_ACCOUNT_DELAY_MAX_SECONDS)


def attempt_reserve(*, username: str, client_address: str) -> Attempt:
    """Count a sign-in attempt as a failure before its password is checked; 429 beyond a limit."""
    now = int(utcnow().timestamp())
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    start = now // window * window
    end = start + window
    name = username.lower()[:200]
    client = counted_client(client_address)
    attempt = Attempt(
        counters=[
            Counter(f"pair#{name}#{client}#{start}", settings.LOGIN_FAILURES_PER_USERNAME, end),
            Counter(f"address#{client}#{start}", settings.LOGIN_FAILURES_PER_ADDRESS, end),
        ],
        name=name,
        account_key=f"account#{name}#{start}",
        known_key=f"known#{name}#{client_address}",
        window_end=end,
    )
    account, known = batch_get([(LoginFailures, attempt.account_key), (LoginFailures, attempt.known_key)])
    failures = int(account.failures) if account else 0
    not_before = int(account.not_before or 0) if account else 0
    # The account's own addresses are not slowed, for KNOWN_ADDRESS_DAYS: DynamoDB's TTL deletes late.
    slowed = known is None or known.expires_at is None or known.expires_at.timestamp() <= now
    if slowed and not_before > now:
        raise _throttled("account", not_before - now)
    next_wait = account_delay(failures + 1)

    def build(tx: Transaction) -> None:
        for counter in attempt.counters:
            tx.update(
                LoginFailures(counter.key),
                _counter_actions(counter.window_end, 1),
                condition=LoginFailures.failures.does_not_exist() | (LoginFailures.failures < counter.limit),
                on_fail=partial(_throttled, counter.key, counter.window_end - now),
            )
        actions = _counter_actions(end, 1)
        condition = None
        if slowed:  # a parallel attempt that got in first moves notBefore on: this one waits
            actions.append(LoginFailures.not_before.set(now + next_wait))
            condition = (
                LoginFailures.failures.does_not_exist()
                | (LoginFailures.failures < settings.LOGIN_ACCOUNT_FAILURES_BEFORE_DELAY)
                | LoginFailures.not_before.does_not_exist()
                | (LoginFailures.not_before <= now)
            )
        tx.update(
            LoginFailures(attempt.account_key),
            actions,
            condition=condition,
            on_fail=partial(_throttled, "account", max(1, next_wait)),
        )

    run_transaction(build, default_conflict=lambda: _throttled("account", 1))
    return attempt


def attempt_succeeded(attempt: Attempt) -> None:
    """The password was right: the attempt was not a failure, and its address is now one the
    account signs in from (not slowed when the account is guessed at from elsewhere). 429 beyond
    LOGIN_SUCCESSES_PER_ACCOUNT correct sign-ins of the account in a minute (given back all the same)."""
    try:
        _count_success(attempt)
    finally:
        _give_back(attempt)


def _count_success(attempt: Attempt) -> None:
    now = int(utcnow().timestamp())
    start = now // SUCCESS_WINDOW_SECONDS * SUCCESS_WINDOW_SECONDS
    end = start + SUCCESS_WINDOW_SECONDS
    key = f"success#{attempt.name}#{start}"
    limit = settings.LOGIN_SUCCESSES_PER_ACCOUNT

    def build(tx: Transaction) -> None:
        tx.update(
            LoginFailures(key),
            [LoginFailures.successes.add(1), LoginFailures.expires_at.set(datetime.fromtimestamp(end + 60, UTC))],
            condition=LoginFailures.successes.does_not_exist() | (LoginFailures.successes < limit),
            on_fail=lambda: _throttled(key, end - now, detail=TOO_MANY_SIGN_INS),
        )

    run_transaction(build, default_conflict=lambda: _throttled(key, 1, detail=TOO_MANY_SIGN_INS))


def _give_back(attempt: Attempt) -> None:
    known_until = datetime.fromtimestamp(attempt.window_end, UTC) + timedelta(days=KNOWN_ADDRESS_DAYS)

    def build(tx: Transaction) -> None:
        for counter in attempt.counters:
            tx.update(LoginFailures(counter.key), _counter_actions(counter.window_end, -1))
        tx.update(LoginFailures(attempt.account_key), _counter_actions(attempt.window_end, -1))
        tx.update(LoginFailures(attempt.known_key), [LoginFailures.expires_at.set(known_until)])

    run_transaction(build, default_conflict=lambda: Conflict("Signing in collided with another attempt; retry."))


def _counter_actions(window_end: int, step: int) -> list:
    return [
        LoginFailures.failures.add(step),
        LoginFailures.expires_at.set(datetime.fromtimestamp(window_end + 60, UTC)),
    ]


def _throttled(key: str, wait: int, detail: str = "Too many failed sign-ins; wait and retry.") -> Throttled:
    logger.warning("sign-in throttled: %s", key.split("#", 1)[0])  # no username or address in logs
    return Throttled(wait=max(1, wait), detail=detail)
