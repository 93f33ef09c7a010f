from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Users, tokens and sign-in"

    def ready(self):
        from accounts import hooks, schema  # noqa: F401 - schema registers the OpenAPI authentication schemes

        hooks.register()  # deleting a patient or doctor deactivates its login in the same transaction
