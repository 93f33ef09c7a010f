"""What the app believes of X-Forwarded-* headers depends on NUM_PROXIES: with none (the default),
neither the client address nor the scheme a client claims is taken from them."""

import logging
import os
import subprocess
import sys

from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from scheduler.api.middleware import ProxySettingCheckMiddleware
from tests.stack import BASE_DIR


def settings_value(name: str, **env: str) -> str:
    """repr(settings.<name>) in a fresh process with these variables (the settings compute it once)."""
    code = f"import django; django.setup(); from django.conf import settings; print(repr(settings.{name}))"
    full_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "scheduler.settings", **env}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=full_env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_forwarded_proto_is_ignored_without_proxies():
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == 0
    request = RequestFactory().get("/", HTTP_X_FORWARDED_PROTO="https")
    assert request.is_secure() is False  # a client cannot claim HTTPS (Secure cookies, redirects)
    assert settings_value("SECURE_PROXY_SSL_HEADER", NUM_PROXIES="0") == "None"


def test_forwarded_proto_is_honoured_behind_a_proxy():
    assert settings_value("SECURE_PROXY_SSL_HEADER", NUM_PROXIES="1") == "('HTTP_X_FORWARDED_PROTO', 'https')"


def checked(middleware, **meta):
    middleware(RequestFactory().get("/health/live", **meta))


def test_forwarded_for_from_a_private_address_without_proxies_is_logged_once(caplog):
    assert "scheduler.api.middleware.ProxySettingCheckMiddleware" in settings.MIDDLEWARE  # every request
    middleware = ProxySettingCheckMiddleware(lambda request: HttpResponse())
    with caplog.at_level(logging.WARNING, logger="scheduler.requests"):
        checked(middleware, REMOTE_ADDR="93.184.216.34", HTTP_X_FORWARDED_FOR="198.51.100.1")  # public: a client
        checked(middleware, REMOTE_ADDR="10.1.2.3")  # no header
        assert caplog.records == []
        checked(middleware, REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="198.51.100.1")
        checked(middleware, REMOTE_ADDR="10.1.2.4", HTTP_X_FORWARDED_FOR="198.51.100.2")
    (record,) = caplog.records
    assert record.levelno == logging.WARNING and "NUM_PROXIES" in record.getMessage()
    assert "10.1.2" not in record.getMessage() and "198.51.100" not in record.getMessage()


def test_forwarded_for_is_not_logged_when_proxies_are_configured(caplog):
    rest = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    middleware = ProxySettingCheckMiddleware(lambda request: HttpResponse())
    with override_settings(REST_FRAMEWORK=rest), caplog.at_level(logging.WARNING, logger="scheduler.requests"):
        checked(middleware, REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert caplog.records == []
