"""Docker Compose, the Dockerfile and .env.example, read as files: no Docker and no services needed."""

from __future__ import annotations

import re
import shlex
from urllib.parse import urlsplit

import pytest
import yaml

from tests.stack import BASE_DIR

SETTINGS_SOURCE = (BASE_DIR / "scheduler" / "settings.py").read_text()

APP_SERVICES = ("bootstrap", "web", "worker", "sweeper", "worker-us", "beat", "consumer")
# boto3 reads these itself; settings.py reads them too, but they would be valid names either way.
BOTO3_NAMES = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
ENDPOINT_NAMES = ("DYNAMODB_ENDPOINT", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB")
ORIGINAL_NAMES = (
    "AWS_REGION",
    "DYNAMODB_ENDPOINT",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "STAGE",
    "DYNAMODB_PATIENTS_TABLE",
    "DYNAMODB_DOCTORS_TABLE",
    "DYNAMODB_APPOINTMENTS_TABLE",
    "DYNAMODB_USERS_TABLE",
    "DYNAMODB_COUNTRIES_TABLE",
    "SNS_TOPIC_ARN",
    "SQS_QUEUE_URL",
)


def settings_env_names() -> set[str]:
    """The variable names scheduler/settings.py reads: every `env.<type>("NAME", ...)`, plus the
    DYNAMODB_<NAME>_TABLE overrides it builds from the table names."""
    names = set(re.findall(r"""env\.\w+\(\s*["']([A-Z][A-Z0-9_]*)["']""", SETTINGS_SOURCE))
    table_tuple = re.search(r"for name in \(([^)]*)\)", SETTINGS_SOURCE)
    assert table_tuple, "settings.py no longer builds DYNAMODB_<NAME>_TABLE from a tuple of names; update this test"
    names |= {f"DYNAMODB_{name.upper()}_TABLE" for name in re.findall(r'"(\w+)"', table_tuple.group(1))}
    return names


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def environment(service: dict) -> dict[str, str]:
    """A service's environment as a dict, from either the mapping or the KEY=VALUE list form."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {name: str(value) for name, value in env.items()}


def command(service: dict) -> list[str]:
    cmd = service.get("command") or []
    return shlex.split(cmd) if isinstance(cmd, str) else [str(part) for part in cmd]


def published_ports(service: dict) -> dict[int, int]:
    """{host port: container port} from the short ("4200:8000") or long (published/target) syntax."""
    ports = {}
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            ports[int(entry["published"])] = int(entry["target"])
        else:
            *_, host, container = str(entry).split(":")
            ports[int(host)] = int(container.split("/")[0])
    return ports


def listening_port(name: str, service: dict) -> int:
    """The port a service listens on inside the network, given each image's default."""
    if name == "dynamodb":  # DynamoDB Local: 8000 unless -port is given
        args = command(service)
        return int(args[args.index("-port") + 1]) if "-port" in args else 8000
    if name == "moto":  # the image runs `moto_server -H 0.0.0.0`: $MOTO_PORT, else 5000
        return int(environment(service).get("MOTO_PORT", 5000))
    raise AssertionError(f"no known listening port for {name}")


def test_services_exist(services):
    assert {"dynamodb", "moto", "bootstrap", "web", "worker", "beat", "consumer"} <= set(services)


def test_dynamodb_keeps_its_data_in_a_named_volume(compose, services):
    dynamodb = services["dynamodb"]
    assert dynamodb["image"].split(":")[0] == "amazon/dynamodb-local"
    args = command(dynamodb)
    assert "-sharedDb" in args
    assert "-dbPath" in args
    db_path = args[args.index("-dbPath") + 1]
    mounts = {source: target for source, target, *_ in (v.split(":") for v in dynamodb["volumes"])}
    assert db_path in mounts.values(), f"-dbPath {db_path} is not a mounted volume"
    source = next(source for source, target in mounts.items() if target == db_path)
    assert source in (compose.get("volumes") or {}), f"{source} is not a named volume"


def test_moto_uses_its_official_image(services):
    assert services["moto"]["image"].split(":")[0] == "motoserver/moto"


EVERY_INTERFACE = "0.0.0.0"  # noqa: S104 - what Compose publishes on when no address is given


def published_addresses(service: dict) -> dict[int, str]:
    """{host port: the host address it is published on}; Compose's default is every interface."""
    addresses = {}
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            addresses[int(entry["published"])] = entry.get("host_ip", EVERY_INTERFACE)
        else:
            parts = str(entry).rsplit(":", 2)
            addresses[int(parts[-2])] = parts[0] if len(parts) == 3 else EVERY_INTERFACE
    return addresses


@pytest.mark.parametrize("name", ["dynamodb", "moto"])
def test_the_emulators_are_published_on_loopback_only(services, name):
    # Nothing guards DynamoDB Local and moto (any key is accepted): published on every interface,
    # anyone on the machine's network could read and change the tables, queues and topic.
    addresses = published_addresses(services[name])
    assert addresses and set(addresses.values()) == {"127.0.0.1"}, addresses


@pytest.mark.parametrize(("service", "host_port"), [("web", 8000), ("dynamodb", 4200), ("moto", 4566)])
def test_published_ports_match_make_run(services, service, host_port):
    assert host_port in published_ports(services[service])


@pytest.mark.parametrize("name", ["dynamodb", "moto"])
def test_published_port_reaches_the_listening_port(services, name):
    service = services[name]
    assert listening_port(name, service) in published_ports(service).values()


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_services_set_only_variables_the_app_reads(services, service):
    env = environment(services[service])
    unknown = set(env) - settings_env_names() - BOTO3_NAMES
    assert not unknown, f"{service} sets variables nothing reads: {sorted(unknown)}"
    assert env["STAGE"] == "local"


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_endpoints_point_at_compose_services(services, service):
    env = environment(services[service])
    endpoints = {name: env[name] for name in env if name in ENDPOINT_NAMES or name.startswith("AWS_ENDPOINT_URL_")}
    dynamodb_endpoint = env.get("DYNAMODB_ENDPOINT") or env.get("AWS_ENDPOINT_URL_DYNAMODB")
    assert dynamodb_endpoint and env.get("AWS_ENDPOINT_URL_SQS") and env.get("AWS_ENDPOINT_URL_SNS")
    for name, url in endpoints.items():
        parts = urlsplit(url)
        assert parts.hostname in services, f"{service}: {name}={url} is not a compose service"
        assert parts.port == listening_port(parts.hostname, services[parts.hostname]), (
            f"{service}: {name}={url}, but {parts.hostname} listens on another port inside the network"
        )
    assert urlsplit(dynamodb_endpoint).hostname == "dynamodb"
    assert urlsplit(env["AWS_ENDPOINT_URL_SQS"]).hostname == "moto"
    assert urlsplit(env["AWS_ENDPOINT_URL_SNS"]).hostname == "moto"


def test_web_allows_its_hosts(services):
    allowed = environment(services["web"])["ALLOWED_HOSTS"].split(",")
    assert {"localhost", "127.0.0.1", "web"} <= set(allowed)


def test_bootstrap_runs_once_and_waits_for_the_services(services):
    bootstrap = services["bootstrap"]
    assert command(bootstrap)[-3:] == ["manage.py", "bootstrap", "--wait"]
    assert {"dynamodb", "moto"} <= set(bootstrap["depends_on"])


@pytest.mark.parametrize("service", ["web", "worker", "sweeper", "worker-us", "beat", "consumer"])
def test_starts_after_bootstrap_succeeded(services, service):
    depends_on = services[service]["depends_on"]
    assert isinstance(depends_on, dict), "the long form is needed to give a condition"
    assert depends_on["bootstrap"]["condition"] == "service_completed_successfully"


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", (BASE_DIR / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (parts[0].upper(), parts[1] if len(parts) > 1 else "")
        for parts in (line.split(None, 1) for line in lines if line and not line.startswith("#"))
    ]


def test_dockerfile_installs_pinned_requirements_and_drops_root():
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    runs = [args for instruction, args in instructions if instruction == "RUN"]
    assert any(re.search(r"pip install\b.*-r\s+requirements\.txt", run) for run in runs)
    users = [args for instruction, args in instructions if instruction == "USER"]
    assert users, "the image would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"the image runs as {users[-1]}"


def test_dockerignore_keeps_local_state_out_of_the_image():
    ignored = set((BASE_DIR / ".dockerignore").read_text().split())
    assert {".venv", ".local", ".git", ".env"} <= ignored
    assert ignored & {"__pycache__", "**/__pycache__"}


def test_env_example_names_the_original_variables():
    text = (BASE_DIR / ".env.example").read_text()
    missing = [name for name in ORIGINAL_NAMES if not re.search(rf"\b{name}=", text)]
    assert not missing, f".env.example does not mention {missing}"


def test_env_example_names_every_variable_settings_reads():
    text = (BASE_DIR / ".env.example").read_text()
    missing = sorted(name for name in settings_env_names() if not re.search(rf"\b{name}=", text))
    assert not missing, f".env.example does not mention {missing}"


def test_env_example_changes_nothing_when_copied():
    lines = (BASE_DIR / ".env.example").read_text().splitlines()
    assert [line for line in lines if line.strip() and not line.lstrip().startswith("#")] == []


def test_local_keys_are_made_once_in_a_volume_every_app_service_reads(compose, services):
    keys = services["keys"]
    assert command(keys)[-2:] == ["bin/local-secrets", "/secrets/secrets.env"]
    assert keys["restart"] == "no"
    assert services["bootstrap"]["depends_on"]["keys"]["condition"] == "service_completed_successfully"
    assert "secrets" in compose["volumes"]
    for name in APP_SERVICES:
        assert "secrets:/secrets" in services[name]["volumes"], name
        assert environment(services[name])["LOCAL_SECRETS_FILE"] == "/secrets/secrets.env"
    assert "mkdir /secrets && chown 10001:10001 /secrets" in (BASE_DIR / "Dockerfile").read_text()


def test_the_sweeps_have_their_own_worker_and_beat_sends_them_there(services):
    from django.conf import settings

    assert command(services["sweeper"])[-6:] == [
        "--queues",
        "periodic",
        "--concurrency",
        "1",
        "--hostname",
        "sweeper@%h",
    ]
    assert {entry["options"]["queue"] for entry in settings.CELERY_BEAT_SCHEDULE.values()} == {"periodic"}
    assert "--all-countries" in command(services["worker"])
    assert services["worker-us"]["profiles"] == ["dedicated"] and "appointments-us" in command(services["worker-us"])
