"""Run the incidents' periodic work once, without Celery beat: relay the outbox, escalate what is due.

Useful after an outage (`manage.py incidents_relay`) or from cron where beat is not running. Prints one
JSON line with what was done.
"""

import json

from django.core.management.base import BaseCommand
from django.utils import timezone

from incidents.outbox import outbox_relay
from incidents.services.escalation import incidents_escalate_due
from incidents.services.webhooks import webhook_deliveries_requeue


class Command(BaseCommand):
    help = "Relay pending incident outbox messages and escalate overdue incidents once."

    def add_arguments(self, parser) -> None:  # type: ignore[no-untyped-def]
        parser.add_argument("--no-escalate", action="store_true", help="Only relay the outbox.")

    def handle(self, *args: object, **options: object) -> None:
        relay = outbox_relay()
        requeued = webhook_deliveries_requeue()
        escalated = [] if options["no_escalate"] else incidents_escalate_due(now=timezone.now())
        self.stdout.write(json.dumps({"published": relay.published, "deferred": relay.deferred,
                                      "webhooks_requeued": requeued, "escalated": len(escalated)}))
