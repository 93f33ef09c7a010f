from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "appointments"

    def ready(self):
        # receivers: the post-commit receivers connect; tasks: registered, since the pipeline sends them by name.
        from appointments import receivers, tasks  # noqa: F401
