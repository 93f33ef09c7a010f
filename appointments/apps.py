from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "appointments"

    def ready(self):
        # receivers: the post-commit receivers connect; tasks: registered, since the pipeline sends them by name.
        from appointments import guards, receivers, tasks  # noqa: F401

        guards.register()  # refuses a doctor's or patient's deletion while it has upcoming appointments
