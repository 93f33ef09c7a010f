from django.apps import AppConfig


class AppointmentTypesConfig(AppConfig):
    name = "appointment_types"

    def ready(self):
        from appointment_types import guards

        guards.register()  # refuses a country's deletion while it has appointment types
