"""The OpenAPI schema tells the truth: Schemathesis, generating requests from /schema, finds nothing
against the server `make run` uses (gunicorn), with its default checks and every phase, the stateful
one included. `schemathesis.toml` states what a schema cannot (see its comments).

The operations that revoke the fuzzing admin's own token (signing out, changing or deactivating a
user) run in a second pass, with a token of their own, so that the first pass keeps its credentials.
The same command by hand: README, "Checking the API against its schema"."""

import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.helpers import PASSWORD, clear_tables
from tests.stack import BASE_DIR, start_api

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
REVOKING = ["DELETE /auth/token", "PATCH /users/{username}", "DELETE /users/{username}"]


@pytest.fixture(scope="module")
def server(aws_stack):
    clear_tables()
    process, url = start_api("schemathesis-api", gunicorn=True)
    yield url
    process.terminate()
    process.wait(timeout=30)


def fuzz(url: str, username: str, *filters: str) -> subprocess.CompletedProcess:
    from accounts import services

    services.user_create(username=username, password=PASSWORD, role="admin")
    token = requests.post(f"{url}/auth/token", json={"username": username, "password": PASSWORD}, timeout=30)
    command = [str(SCHEMATHESIS), "run", f"{url}/schema", "-H", f"Authorization: Bearer {token.json()['token']}"]
    command += ["--max-examples", "10", "--seed", "20261127", "--no-color", *filters]
    return subprocess.run(command, cwd=BASE_DIR, capture_output=True, text=True, timeout=600)


def test_schemathesis_finds_no_failure(server):
    everything_else = fuzz(server, "fuzz-admin", *[arg for name in REVOKING for arg in ("--exclude-name", name)])
    assert everything_else.returncode == 0, everything_else.stdout[-6000:]
    assert "Stateful" in everything_else.stdout and " passed" in everything_else.stdout
    revoking = fuzz(server, "fuzz-admin-2", *[arg for name in REVOKING for arg in ("--include-name", name)])
    assert revoking.returncode == 0, revoking.stdout[-6000:]
