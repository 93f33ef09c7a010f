"""The newcomer's `make run`: it starts, serves, stops on Ctrl-C, keeps its data, and says clearly
when a port is taken. These start the real processes on free ports."""

import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import requests

from tests.stack import BASE_DIR, free_port


def run_env(tmp_path: Path, api: int, dynamodb: int, moto: int) -> dict[str, str]:
    # Not the test run's keys: make run uses (and if need be makes) its own in .local/secrets.env.
    own = ("FIELD_ENCRYPTION_KEYS", "EMAIL_INDEX_KEY", "SECRET_KEY")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DYNAMODB_", "AWS_ENDPOINT", "SQS_", "SNS_")) and k not in own
    }
    env.update(
        STAGE="local",
        API_PORT=str(api),
        DYNAMODB_PORT=str(dynamodb),
        MOTO_PORT=str(moto),
        DYNAMODB_DATA_DIR=str(tmp_path / "data"),
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def start(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=BASE_DIR,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_ready(base: str, process: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            if requests.get(f"{base}/health/ready", timeout=5).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):  # still starting, or a busy machine
            pass
        time.sleep(0.5)
    raise AssertionError("not ready in time:\n" + log.read_text()[-3000:])


def ctrl_c(process: subprocess.Popen) -> int:
    os.killpg(process.pid, signal.SIGINT)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def hundred_clients(url: str, headers: dict, requests_each: int = 5) -> list[int]:
    """100 clients, each on its own keep-alive connection, all starting at once; their status codes
    (or the error's name where a request got no answer)."""
    barrier = threading.Barrier(100)
    codes: list = []

    def client() -> None:
        session = requests.Session()
        barrier.wait()
        for _ in range(requests_each):
            try:
                codes.append(session.get(url, headers=headers, timeout=60).status_code)
            except requests.RequestException as exc:
                codes.append(type(exc).__name__)

    threads = [threading.Thread(target=client) for _ in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(codes, key=str)


def test_make_run_serves_stops_and_keeps_data(tmp_path):
    api, dynamodb, moto = free_port(), free_port(), free_port()
    env, log, base = run_env(tmp_path, api, dynamodb, moto), tmp_path / "run.log", f"http://127.0.0.1:{api}"
    process = start(env, log)
    try:
        wait_ready(base, process, log)
        # Nothing answers without credentials; the first run printed the local admin's password once.
        assert requests.get(f"{base}/patients", timeout=10).status_code == 401
        password = re.search(r"password: (\S+)", log.read_text()).group(1)
        signed_in = requests.post(f"{base}/auth/token", json={"username": "admin", "password": password}, timeout=30)
        assert signed_in.status_code == 201, signed_in.text
        auth = {"Authorization": f"Bearer {signed_in.json()['token']}"}
        created = requests.post(
            f"{base}/countries", json={"countryId": "002", "name": "CHILE", "code": "CL"}, headers=auth, timeout=10
        )
        assert created.status_code == 201, created.text
        patient = {"patientId": "p1", "name": "Jorge Moros", "countryId": "002", "email": "jorge@example.com"}
        assert requests.post(f"{base}/patients", json=patient, headers=auth, timeout=10).status_code == 201
        # gunicorn, not a development server: 100 clients at once, each answered.
        assert "Booting worker" in log.read_text() and "runserver" not in log.read_text()
        assert hundred_clients(f"{base}/countries/002", auth) == [200] * 500
        assert requests.get(f"{base}/docs", timeout=10).status_code == 200
    finally:
        ctrl_c(process)
    time.sleep(1)
    assert all(port_is_free(port) for port in (api, dynamodb, moto)), "a process outlived Ctrl-C"
    assert "created  table" in log.read_text()

    first_run_bytes = log.stat().st_size
    process = start(env, log)
    try:
        wait_ready(base, process, log)
        # The token, the country and the encrypted patient all outlived the restart (keys kept in .local/).
        again = requests.get(f"{base}/countries/002", headers=auth, timeout=10)
        assert again.status_code == 200
        assert again.json()["code"] == "CL"
        assert requests.get(f"{base}/patients/p1", headers=auth, timeout=10).json()["name"] == "Jorge Moros"
    finally:
        ctrl_c(process)
    second_run = log.read_bytes()[first_run_bytes:].decode()
    assert "found  table" in second_run
    assert "created  table" not in second_run  # the tables and their data were kept on disk
    assert "An admin exists already" in second_run and "password:" not in second_run


def test_a_taken_port_gives_a_clear_message(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = run_env(tmp_path, port, free_port(), free_port())
        result = subprocess.run(
            [str(BASE_DIR / "bin" / "check-ports")], env=env, capture_output=True, text=True, timeout=30
        )
    assert result.returncode == 1
    assert f"port {port} (the API) is already in use" in result.stderr
    assert "Traceback" not in result.stderr
