from django.apps import AppConfig


class DoctorsConfig(AppConfig):
    name = "doctors"

    def ready(self):
        from doctors import guards

        guards.register()  # refuses a country's deletion while it has doctors
