from django.apps import AppConfig


class CommonConfig(AppConfig):
    """Small shared pieces every app may use: the htmx page-or-fragment helper and shared partials."""

    name = "common"
