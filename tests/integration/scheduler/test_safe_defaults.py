"""Outside the local and test stages the app refuses to start on settings fit only for a laptop."""

import os
import subprocess
import sys

import pytest

from tests.stack import BASE_DIR

GOOD = {
    "SECRET_KEY": "x" * 50,
    "FIELD_ENCRYPTION_KEYS": "k1:" + "A" * 43 + "=",
    "EMAIL_INDEX_KEY": "an index key",
    "DEBUG": "false",
}


def start(
    stage: str, *, clean: bool = False, code: str = "print('started')", **overrides
) -> subprocess.CompletedProcess:
    """Set Django up in a new process; `clean`: with only PATH and HOME of this one's environment (not
    pytest's PYTEST_VERSION, nor the suite's endpoints and keys)."""
    inherited = {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ} if clean else os.environ
    env = {k: v for k, v in inherited.items() if k not in GOOD and k != "DJANGO_SETTINGS_MODULE"}
    env.update(STAGE=stage, **{k: v for k, v in {**GOOD, **overrides}.items() if v is not None})
    env["LOCAL_SECRETS_FILE"] = "/nonexistent"
    env["DJANGO_SETTINGS_MODULE"] = "scheduler.settings"
    code = "import django; django.setup(); from django.conf import settings; " + code
    return subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )


def test_production_settings_start():
    result = start("prod")
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


@pytest.mark.parametrize(
    "overrides, reason",
    [
        ({"SECRET_KEY": None}, "SECRET_KEY is not set"),
        ({"SECRET_KEY": "local-insecure-key-change-me"}, "SECRET_KEY is not set (or is the local default)"),
        ({"FIELD_ENCRYPTION_KEYS": None}, "FIELD_ENCRYPTION_KEYS is not set"),
        ({"EMAIL_INDEX_KEY": None}, "EMAIL_INDEX_KEY is not set"),
        ({"DEBUG": "true"}, "DEBUG is on"),
    ],
)
def test_unsafe_settings_refuse_to_start_and_say_why(overrides, reason):
    result = start("prod", **overrides)
    assert result.returncode != 0
    assert "Refusing to start with STAGE=prod" in result.stderr and reason in result.stderr


def test_the_test_stage_outside_the_test_suite_refuses_a_default_secret_key():
    # STAGE=test is the suite's stage (the process runs under pytest); anywhere else it is no local stage.
    for secret_key in (None, "local-insecure-key-change-me"):
        result = start("test", clean=True, SECRET_KEY=secret_key)
        assert result.returncode != 0
        assert "Refusing to start with STAGE=test: SECRET_KEY is not set" in result.stderr


def test_the_test_stage_outside_the_test_suite_gets_production_defaults():
    code = "print(settings.IS_LOCAL, settings.PASSWORD_HASHERS[0].rsplit('.', 1)[1], settings.SESSION_COOKIE_SECURE)"
    result = start("test", clean=True, code=code)
    assert result.returncode == 0, result.stderr
    # not local (no seed_demo users, no default admin), Argon2 first (not MD5), Secure cookies
    assert result.stdout.split() == ["False", "Argon2PasswordHasher", "True"]
    under_the_suite = start("test", code=code)  # this process's environment: the suite's
    assert under_the_suite.stdout.split() == ["True", "MD5PasswordHasher", "False"]


def test_the_local_stage_starts_without_them():
    result = start("local", SECRET_KEY=None, FIELD_ENCRYPTION_KEYS=None, EMAIL_INDEX_KEY=None, DEBUG=None)
    assert result.returncode == 0, result.stderr


def test_accepting_legacy_values_outside_the_local_stage_is_a_warning_at_startup():
    warned = start("prod", FIELD_ENCRYPTION_ACCEPT_LEGACY="true")
    assert warned.returncode == 0, warned.stderr
    lines = [line for line in warned.stderr.splitlines() if "FIELD_ENCRYPTION_ACCEPT_LEGACY" in line]
    assert len(lines) == 1 and "WARNING" in lines[0], warned.stderr
    assert GOOD["FIELD_ENCRYPTION_KEYS"] not in warned.stderr and GOOD["EMAIL_INDEX_KEY"] not in warned.stderr
    for quiet in (start("prod"), start("local", FIELD_ENCRYPTION_ACCEPT_LEGACY="true")):
        assert quiet.returncode == 0, quiet.stderr
        assert "FIELD_ENCRYPTION_ACCEPT_LEGACY" not in quiet.stderr


def test_cors_is_closed_unless_configured(api):
    response = api.get("/countries", HTTP_ORIGIN="https://evil.example.com")
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response
    preflight = api.options(
        "/countries", HTTP_ORIGIN="https://evil.example.com", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert "Access-Control-Allow-Origin" not in preflight
