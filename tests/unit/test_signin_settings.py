"""The sign-in limits refuse to start on settings that would let one address slow an account for its
owner everywhere (LOGIN_ACCOUNT_FAILURES_BEFORE_DELAY not above LOGIN_FAILURES_PER_USERNAME)."""

import os
import subprocess
import sys

import pytest

from tests.stack import BASE_DIR


def start_settings(**env: str) -> subprocess.CompletedProcess:
    """Load the settings in a fresh process with these variables (they are checked once, at start)."""
    code = "import django; django.setup()"
    full_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "scheduler.settings", **env}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=full_env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("free", ["10", "5"], ids=["equal", "below"])
def test_free_account_failures_not_above_the_per_username_limit_refuse_to_start(free):
    result = start_settings(LOGIN_FAILURES_PER_USERNAME="10", LOGIN_ACCOUNT_FAILURES_BEFORE_DELAY=free)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"LOGIN_ACCOUNT_FAILURES_BEFORE_DELAY ({free}) must exceed LOGIN_FAILURES_PER_USERNAME (10)" in result.stderr


def test_no_correct_sign_in_allowed_refuses_to_start():
    result = start_settings(LOGIN_SUCCESSES_PER_ACCOUNT="0")
    assert result.returncode != 0 and "LOGIN_SUCCESSES_PER_ACCOUNT (0) must be at least 1" in result.stderr
    assert "LOGIN_ACCOUNT_FAILURES_BEFORE_DELAY" not in result.stderr


def test_the_defaults_and_a_free_count_above_the_limit_start():
    assert start_settings().returncode == 0
    assert start_settings(LOGIN_FAILURES_PER_USERNAME="10", LOGIN_ACCOUNT_FAILURES_BEFORE_DELAY="11").returncode == 0
