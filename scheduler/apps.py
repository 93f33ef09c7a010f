from django.apps import AppConfig


class SchedulerConfig(AppConfig):
    name = "scheduler"
    verbose_name = "Scheduler core"

    def ready(self) -> None:
        from scheduler.security.crypto import warn_if_legacy_accepted

        warn_if_legacy_accepted()
