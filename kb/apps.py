from django.apps import AppConfig


class KbConfig(AppConfig):
    name = "kb"
    verbose_name = "Knowledge base"

    def ready(self) -> None:
        from diagnostics import hooks

        from .check_links import symptom_signatures

        # Log file checks written as `symptom: <id>` read that symptom's signatures from the knowledge base.
        hooks.register_symptom_provider(symptom_signatures)

        from .home_panels import monitors_panel, search_gaps_panel
        from .hooks import register_home_panel

        register_home_panel("monitors", monitors_panel, order=20)
        register_home_panel("search-gaps", search_gaps_panel, order=40)
