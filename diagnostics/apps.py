from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class DiagnosticsConfig(AppConfig):
    name = "diagnostics"

    def ready(self) -> None:
        # Apps that build on diagnostics (the knowledge base) register hooks and event subscribers in
        # their own checks.py; importing them by convention keeps diagnostics from naming them.
        autodiscover_modules("checks")
