from django.apps import AppConfig


class TreesConfig(AppConfig):
    name = "trees"
    verbose_name = "Decision trees"

    def ready(self) -> None:
        # kb shows tree links on its pages and loads starter trees through hooks it offers (kb never imports trees).
        from . import hooks_kb

        hooks_kb.register()
