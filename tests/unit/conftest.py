"""The unit tier runs without DynamoDB Local or moto server: a test here that asks for them, through
`aws_stack` or a fixture built on it (empty_tables, api, clinic, world), or that opens a connection to
their ports, fails at once and says so, instead of starting Java or waiting on a refused port."""

import os
import socket
from urllib.parse import urlsplit

import pytest

from tests.conftest import _stack


class EmulatorUsed(AssertionError):
    pass


@pytest.fixture(scope="session")
def aws_stack():
    raise EmulatorUsed(
        "a unit test asked for DynamoDB Local / moto server (aws_stack, directly or through empty_tables, "
        "api, clinic, world): move it to tests/integration, or stub the client"
    )


def emulator_ports() -> set[int]:
    """The ports this run's DynamoDB Local and moto server listen (or would listen) on."""
    names = (
        "AWS_ENDPOINT_URL",
        "DYNAMODB_ENDPOINT",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_SQS",
        "AWS_ENDPOINT_URL_SNS",
    )
    ports = {urlsplit(os.environ[name]).port for name in names if os.environ.get(name)}
    return {port for port in ports if port} | _stack.planned_ports


@pytest.fixture(autouse=True)
def no_emulator_connections(monkeypatch):
    """Refuse any connection from this process to the emulators' ports, whatever client opens it."""
    ports = emulator_ports()
    assert ports, "no emulator endpoint is set: tests/conftest.py prepares them before Django starts"
    started_before = _stack.started
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

    def check(address) -> None:
        if isinstance(address, tuple) and len(address) >= 2 and address[1] in ports:
            raise EmulatorUsed(f"a unit test connected to an emulator at {address[0]}:{address[1]}")

    def guarded_connect(sock, address):
        check(address)
        return connect(sock, address)

    def guarded_connect_ex(sock, address):
        check(address)
        return connect_ex(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    yield
    assert _stack.started == started_before, "a unit test started DynamoDB Local or moto server"
