from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"

    def ready(self) -> None:
        # kb owns the home page but may not import incidents: hand it our cockpit panels instead.
        from kb.home_panels import register_home_panel

        from .home import my_action_items_panel, open_incidents_panel

        register_home_panel("incidents", open_incidents_panel, order=10)
        register_home_panel("action-items", my_action_items_panel, order=30)
