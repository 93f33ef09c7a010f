from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"

    def ready(self):
        from patients import guards

        guards.register()  # refuses a country's deletion while it has patients
