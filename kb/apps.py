from django.apps import AppConfig


class KbConfig(AppConfig):
    name = "kb"
    verbose_name = "Knowledge base"

    def ready(self) -> None:
        from .home_panels import monitors_panel, register_home_panel, search_gaps_panel

        register_home_panel("monitors", monitors_panel, order=20)
        register_home_panel("search-gaps", search_gaps_panel, order=40)
