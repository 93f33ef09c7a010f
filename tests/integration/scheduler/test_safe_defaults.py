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


def start(stage: str, **overrides) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in GOOD and k != "DJANGO_SETTINGS_MODULE"}
    env.update(STAGE=stage, **{k: v for k, v in {**GOOD, **overrides}.items() if v is not None})
    env["LOCAL_SECRETS_FILE"] = "/nonexistent"
    env["DJANGO_SETTINGS_MODULE"] = "scheduler.settings"
    code = "import django; django.setup(); print('started')"
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


def test_the_local_stage_starts_without_them():
    result = start("local", SECRET_KEY=None, FIELD_ENCRYPTION_KEYS=None, EMAIL_INDEX_KEY=None, DEBUG=None)
    assert result.returncode == 0, result.stderr


def test_cors_is_closed_unless_configured(api):
    response = api.get("/countries", HTTP_ORIGIN="https://evil.example.com")
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response
    preflight = api.options(
        "/countries", HTTP_ORIGIN="https://evil.example.com", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert "Access-Control-Allow-Origin" not in preflight
