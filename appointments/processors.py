"""Per-country processing hooks: what a country's worker checks or does before an appointment is
scheduled (an insurance check, a referral rule...). Keyed by ISO country code, with a default."""

from collections.abc import Callable

from appointments.models import Appointment
from countries.models import Country

Processor = Callable[[Appointment, Country], None]
_registry: dict[str, Processor] = {}


def default_processor(appointment: Appointment, country: Country) -> None:
    """Every booking that passed the API's checks is accepted as it is."""


def register(code: str) -> Callable[[Processor], Processor]:
    """Decorator: `@register("CL")` makes a function Chile's processor. It may raise to refuse or
    delay (the task retries with backoff, then the message goes to the dead-letter queue)."""

    def decorate(processor: Processor) -> Processor:
        _registry[code.upper()] = processor
        return processor

    return decorate


def for_country(code: str) -> Processor:
    return _registry.get(code.upper(), default_processor)
