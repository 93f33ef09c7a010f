"""Start the local AWS services the integration tests talk to: DynamoDB Local and moto server,
each on a free port, unless endpoints are given in the environment."""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DYNAMODB_LOCAL_DIR = Path(os.environ.get("DYNAMODB_LOCAL_DIR", BASE_DIR / ".local" / "dynamodb-local"))
LOG_DIR = BASE_DIR / ".local" / "test-logs"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float, process: subprocess.Popen | None = None, name: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode}; see {LOG_DIR}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not open port {port} within {timeout:.0f}s; see {LOG_DIR}")


@dataclass
class LocalStack:
    """The processes this test run started, and the environment that points at them."""

    processes: list[tuple[str, subprocess.Popen]] = field(default_factory=list)
    pending: list[tuple[str, int, subprocess.Popen]] = field(default_factory=list)
    # What prepare_environment chose to run here (name, port): started by start(), not before.
    planned: list[tuple[str, int]] = field(default_factory=list)

    def prepare_environment(self) -> None:
        """Choose endpoints (free ports for what this run will start) and a per-run prefix, without
        starting anything. Runs before Django loads settings, because PynamoDB reads host and table
        names when models are defined; the processes start only when a test asks (`start`)."""
        run = uuid.uuid4().hex[:8]
        os.environ.setdefault("STAGE", "test")
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
        os.environ.setdefault("AWS_REGION", "us-east-1")
        os.environ.setdefault("API_RATE_LIMIT", "100000/minute")  # the suite is one fast client
        os.environ.setdefault("HEALTH_RATE_LIMIT", "100000/minute")  # its waits poll /health/ready
        # Tests make a country and book in it at once, and most check what reaches the country's own
        # queue: route to it from the start. The tests of a new country's first bookings use the default
        # (tests/system/test_many_countries.py, tests/integration/scheduler/test_routing.py).
        os.environ.setdefault("NEW_COUNTRY_DEFAULT_QUEUE_SECONDS", "0")
        # Tests book dates derived from an anchor week, which can hold a public holiday: countries made
        # without observesHolidays do not observe them here; the holiday tests set it true.
        os.environ.setdefault("COUNTRIES_OBSERVE_HOLIDAYS_BY_DEFAULT", "false")
        # A few shards keep the sweeps' Queries few while still spreading the items over several keys.
        os.environ.setdefault("SPARSE_INDEX_SHARDS", "4")
        # Fresh keys for every run: nothing a test writes is readable with a key from elsewhere.
        os.environ.setdefault("FIELD_ENCRYPTION_KEYS", f"t1:{base64.b64encode(os.urandom(32)).decode()}")
        os.environ.setdefault("EMAIL_INDEX_KEY", uuid.uuid4().hex)
        os.environ["DYNAMODB_TABLE_PREFIX"] = f"test-{run}-"
        os.environ["SQS_QUEUE_PREFIX"] = f"test-{run}-"
        os.environ.pop("SNS_TOPIC_ARN", None)
        os.environ.pop("SQS_QUEUE_URL", None)
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        if not (os.environ.get("DYNAMODB_ENDPOINT") or os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")):
            port = free_port()
            self.planned.append(("dynamodb-local", port))
            os.environ["DYNAMODB_ENDPOINT"] = f"http://127.0.0.1:{port}"
        if not os.environ.get("AWS_ENDPOINT_URL_SQS"):
            port = free_port()
            self.planned.append(("moto", port))
            os.environ["AWS_ENDPOINT_URL_SQS"] = os.environ["AWS_ENDPOINT_URL_SNS"] = f"http://127.0.0.1:{port}"
        os.environ.setdefault("AWS_ENDPOINT_URL_SNS", os.environ["AWS_ENDPOINT_URL_SQS"])

    @property
    def planned_ports(self) -> set[int]:
        """The ports of the services this run starts (or will start) itself."""
        return {port for _, port in self.planned}

    @property
    def started(self) -> bool:
        return bool(self.processes)

    def start(self) -> None:
        """Spawn the services prepare_environment planned, once; wait_until_up waits for them."""
        if self.processes:
            return
        for name, port in self.planned:
            if name == "dynamodb-local":
                self._start_dynamodb(port)
            else:
                self._start_moto(port)

    def wait_until_up(self, timeout: float = 60.0) -> None:
        for name, port, process in self.pending:
            wait_for_port(port, timeout, process, name)
        self.pending.clear()

    def _spawn(self, name: str, port: int, command: list[str], cwd: Path | None = None) -> None:
        log = open(LOG_DIR / f"{name}.log", "wb")  # noqa: SIM115 - kept open for the process' life
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True)
        self.processes.append((name, process))
        self.pending.append((name, port, process))

    def _start_dynamodb(self, port: int) -> None:
        jar = DYNAMODB_LOCAL_DIR / "DynamoDBLocal.jar"
        if not jar.exists():
            raise RuntimeError(
                f"{jar} is missing: run `make test` (it obtains DynamoDB Local) or set DYNAMODB_ENDPOINT."
            )
        if not shutil.which("java"):
            raise RuntimeError("Java 17+ is needed to run DynamoDB Local, or set DYNAMODB_ENDPOINT.")
        self._spawn(
            "dynamodb-local",
            port,
            [
                "java",
                f"-Djava.library.path={DYNAMODB_LOCAL_DIR / 'DynamoDBLocal_lib'}",
                "-jar",
                str(jar),
                "-inMemory",
                "-port",
                str(port),
            ],
            cwd=LOG_DIR,  # where DynamoDB Local writes its metadata file
        )

    def _start_moto(self, port: int) -> None:
        moto = Path(sys.executable).parent / "moto_server"
        self._spawn("moto", port, [str(moto), "-H", "127.0.0.1", "-p", str(port)])

    def stop(self) -> None:
        for _, process in self.processes:
            process.terminate()
        for _, process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()


def start_api(name: str, *extra: str, gunicorn: bool = False, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """An API process on this run's tables (or `env`'s) and a free port (log in
    .local/test-logs/<name>.log), Django's runserver or, with `gunicorn`, the server `make run` uses;
    returns once it answers /health/live."""
    import requests  # a test dependency; this module also serves conftest before Django is set up

    port = free_port()
    log = open(LOG_DIR / f"{name}.log", "wb")  # noqa: SIM115 - kept open for the process' life
    command = [sys.executable, "manage.py", "runserver", "--noreload", *extra, f"127.0.0.1:{port}"]
    if gunicorn:
        command = [str(Path(sys.executable).parent / "gunicorn"), "scheduler.wsgi", "--config"]
        command += ["scheduler/gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", *extra]
    process = subprocess.Popen(
        command,
        cwd=BASE_DIR,
        env={**os.environ, **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{url}/health/live", timeout=1).status_code == 200:
                return process, url
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still loading
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError(f"the API did not start; see {LOG_DIR / name}.log") from None
            time.sleep(0.2)


class PrivateService:
    """A DynamoDB Local (its data on disk in `data_dir`, so a kill and restart keep it) or a moto
    server that one test owns, on a port of its own: the test may pause, kill and restart it on the
    same port, which the shared instances of the run must never see."""

    def __init__(self, kind: str, name: str, data_dir: Path | None = None) -> None:
        assert kind in ("dynamodb", "moto")
        assert kind == "moto" or data_dir is not None, "DynamoDB Local needs a data folder to survive a restart"
        self.kind, self.name, self.data_dir = kind, name, data_dir
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        if self.kind == "dynamodb":
            self.data_dir.mkdir(parents=True, exist_ok=True)
            command = ["java", f"-Djava.library.path={DYNAMODB_LOCAL_DIR / 'DynamoDBLocal_lib'}", "-jar"]
            command += [str(DYNAMODB_LOCAL_DIR / "DynamoDBLocal.jar"), "-sharedDb", "-dbPath", str(self.data_dir)]
            command += ["-port", str(self.port)]
        else:
            command = [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)]
        log = open(LOG_DIR / f"{self.name}.log", "ab")  # noqa: SIM115 - kept open for the process' life
        self.process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, cwd=self.data_dir or LOG_DIR, start_new_session=True
        )
        wait_for_port(self.port, timeout, self.process, self.name)

    def pause(self) -> None:
        """SIGSTOP: the port still accepts connections (the kernel does), nothing answers."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL, paused or not: no clean shutdown, as when a host dies."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def restart(self) -> None:
        self.kill()
        self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a stopped process cannot act on SIGTERM
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


class CeleryWorker:
    """`celery worker` in a process group of its own, on this run's queues, with the environment of the
    tests plus `env`; the constructor returns once the worker says it is ready."""

    def __init__(self, name: str, args: list[str], *, app: str = "scheduler", env: dict | None = None) -> None:
        self.log = LOG_DIR / f"worker-{name}.log"
        command = [sys.executable, "-m", "celery", "-A", app, "worker", "--loglevel", "INFO", *args]
        command += ["--without-heartbeat", "--without-gossip", "--without-mingle", "--hostname", f"{name}@%h"]
        self.process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env={**os.environ, **(env or {})},
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while b" ready." not in self.log.read_bytes():
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, "worker did not start:\n" + self.log.read_text()[-3000:]
            time.sleep(0.2)

    def kill(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """Warm shutdown (nothing left in flight), forced after a minute."""
        try:
            self.kill(signal.SIGTERM)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)


class Background:
    """A command of the Procfile's in a process group of its own, on this run's services (log in
    .local/test-logs/<name>.log); the constructor returns once the log shows `ready`."""

    def __init__(self, name: str, command: list[str], ready: bytes, *, env: dict | None = None) -> None:
        self.log = LOG_DIR / f"{name}.log"
        self.process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while ready not in self.log.read_bytes():
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, f"{name} did not start:\n" + self.log.read_text()[-3000:]
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)


class CeleryBeat(Background):
    """`celery beat` as the Procfile runs it, with a fresh schedule file beside its log, so that the
    real sweeps run at their settings' intervals."""

    def __init__(self, name: str, *, app: str = "scheduler", env: dict | None = None) -> None:
        schedule = LOG_DIR / f"celerybeat-schedule-{name}"
        for stale in LOG_DIR.glob(f"{schedule.name}*"):  # shelve may add suffixes: start from no history
            stale.unlink()
        command = [sys.executable, "-m", "celery", "-A", app, "beat", "--loglevel", "INFO", "--schedule", str(schedule)]
        super().__init__(f"beat-{name}", command, b"beat: Starting", env=env)


class EventConsumer(Background):
    """`manage.py consume_events` as the Procfile runs it: it drains the notifications queue the topic
    delivers to (left to grow, that queue makes every publish slower in moto, which counts its
    messages on each one)."""

    def __init__(self, name: str, *, env: dict | None = None) -> None:
        command = [sys.executable, "manage.py", "consume_events"]
        super().__init__(f"consumer-{name}", command, b"consuming ", env=env)
