"""What the benchmarks share: the local services started as the tests start them, Django set up on
them, and a signed-in admin client."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.stack import LocalStack  # noqa: E402

PASSWORD = "bench admin passphrase"  # noqa: S105 - a throwaway account on throwaway tables


def start_stack() -> LocalStack:
    stack = LocalStack()
    stack.prepare_environment()
    os.environ["API_RATE_LIMIT"] = ""
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scheduler.settings")
    import django

    django.setup()
    from django.core.management import call_command

    stack.wait_until_up()
    call_command("bootstrap", wait=True, stdout=open(os.devnull, "w"))  # noqa: SIM115
    return stack


def admin_client():
    from rest_framework.test import APIClient

    from accounts import services

    services.user_create(username="bench-admin", password=PASSWORD, role="admin")
    client = APIClient()
    token = client.post("/auth/token", {"username": "bench-admin", "password": PASSWORD}, format="json").json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token['token']}")
    return client


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []
