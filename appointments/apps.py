from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "appointments"

    def ready(self):
        from appointments import receivers  # noqa: F401 - connects the post-commit receivers
