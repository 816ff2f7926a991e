from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alert sources"

    def ready(self) -> None:
        # Hooks offered by the lower apps: the outbox handler for enrichment, the incident page's alerts panel.
        from . import bridge

        bridge.hooks_install()
