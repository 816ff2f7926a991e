from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"

    def ready(self) -> None:
        from kb import hooks as kb_hooks

        from . import outbox
        from .prefill import incident_prefill_url
        from .services.attachments import handle_attachment
        from .services.checks import handle_checks
        from .services.notifications import handle_incident_event
        from .services.symptoms import handle_match_report

        # Which service handles each kind of outbox message (the outbox itself imports no service).
        for event in (outbox.EVENT_CREATED, outbox.EVENT_ACKNOWLEDGED, outbox.EVENT_ESCALATED, outbox.EVENT_RESOLVED):
            outbox.outbox_handler_register(event, handle_incident_event)
        outbox.outbox_handler_register(outbox.TOPIC_CHECKS, handle_checks)
        outbox.outbox_handler_register(outbox.TOPIC_MATCH_REPORT, handle_match_report)
        outbox.outbox_handler_register(outbox.TOPIC_ATTACHMENT, handle_attachment)

        from django.urls import reverse

        from trees.hooks import register_escalation_url

        # Escalating a decision-tree walkthrough opens the incident form, which reads the walkthrough itself.
        register_escalation_url(lambda walkthrough: f"{reverse('incidents:new')}?walkthrough={walkthrough.pk}")

        # kb owns the home page but may not import incidents: hand it our cockpit panels instead.
        from kb.hooks import register_home_panel

        from .home import my_action_items_panel, open_incidents_panel

        register_home_panel("incidents", open_incidents_panel, order=10)
        register_home_panel("action-items", my_action_items_panel, order=30)

        # The knowledge base's match page offers "File an incident with this" through this builder.
        kb_hooks.register_incident_prefill_url_builder(incident_prefill_url)
