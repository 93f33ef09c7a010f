"""What the benchmarks share: the local services started as the tests start them, Django set up on
them, and a signed-in admin client."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.stack import LocalStack  # noqa: E402

PASSWORD = "bench admin passphrase"  # noqa: S105 - a throwaway account on throwaway tables


def start_stack() -> LocalStack:
    # The local stage, as `make run` (STAGE=test is the test suite's alone: it needs pytest), with
    # DEBUG off and no developer's secrets file: prepare_environment gives this run its own keys.
    os.environ.setdefault("STAGE", "local")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("LOCAL_SECRETS_FILE", "/nonexistent")
    routing = os.environ.get("NEW_COUNTRY_DEFAULT_QUEUE_SECONDS")
    stack = LocalStack()
    stack.prepare_environment()
    if routing is None:  # a new country's first tasks routed as a user's are, not as the tests'
        os.environ.pop("NEW_COUNTRY_DEFAULT_QUEUE_SECONDS", None)
    os.environ["API_RATE_LIMIT"] = ""
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scheduler.settings")
    import django

    django.setup()
    from django.core.management import call_command

    stack.start()  # the services prepare_environment planned (none when endpoints are given)
    stack.wait_until_up()
    call_command("bootstrap", wait=True, stdout=open(os.devnull, "w"))  # noqa: SIM115
    return stack


def admin_token() -> str:
    """A bearer token of a new admin account (make once per run)."""
    from rest_framework.test import APIClient

    from accounts import services

    services.user_create(username="bench-admin", password=PASSWORD, role="admin")
    response = APIClient().post("/auth/token", {"username": "bench-admin", "password": PASSWORD}, format="json")
    return response.json()["token"]


def api_client(token: str):
    """Django's test client in this process, signed in with `token` (one per thread: a client keeps
    per-request state)."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def admin_client():
    return api_client(admin_token())


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []
