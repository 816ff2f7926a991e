from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and API keys"

    def ready(self) -> None:
        # Registers the Bearer scheme with drf-spectacular; importing is the registration.
        from . import schema  # noqa: F401
