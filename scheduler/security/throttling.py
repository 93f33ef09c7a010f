"""Rate limiting (429 with Retry-After) through DRF's throttling, per client address.

The counts live in Django's cache: per process with the default local-memory cache, so with N API
processes a client gets up to N times the rate; point CACHES at a shared cache to make it global."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class ClientRateThrottle(SimpleRateThrottle):
    scope = "client"

    def get_rate(self) -> str | None:
        # Read at request time (not class definition), so the rate follows the settings.
        return settings.API_RATE_LIMIT or None

    def get_cache_key(self, request, view) -> str:
        user = getattr(request, "user", None)
        ident = f"user:{user.pk}" if getattr(user, "pk", None) else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class HealthRateThrottle(SimpleRateThrottle):
    """/health/ready per client address (it needs no sign-in): HEALTH_RATE_LIMIT, apart from the
    API's limit so that a client's other requests do not use up its load balancer's checks."""

    scope = "health"

    def get_rate(self) -> str | None:
        return settings.HEALTH_RATE_LIMIT or None

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
