from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"

    def ready(self) -> None:
        from django.urls import reverse

        from trees.hooks import register_escalation_url

        # Escalating a decision-tree walkthrough opens the incident form, which reads the walkthrough itself.
        register_escalation_url(lambda walkthrough: f"{reverse('incidents:new')}?walkthrough={walkthrough.pk}")
