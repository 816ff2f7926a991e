# Default severities (critical 5 min / 15 min, high 15 min / 30 min, medium 1 h / 4 h, low 1 day / none),
# the first two escalation levels, and the "responders" group that may see and work every incident.
from datetime import timedelta

from django.db import migrations

SEVERITIES = [
    ("Critical", "critical", 1, timedelta(minutes=5), timedelta(minutes=15)),
    ("High", "high", 2, timedelta(minutes=15), timedelta(minutes=30)),
    ("Medium", "medium", 3, timedelta(hours=1), timedelta(hours=4)),
    ("Low", "low", 4, timedelta(days=1), None),
]
LEVELS = [(1, "On-call"), (2, "Manager")]


def forwards(apps, schema_editor):
    Severity = apps.get_model("incidents", "Severity")
    EscalationLevel = apps.get_model("incidents", "EscalationLevel")
    Group = apps.get_model("auth", "Group")
    for name, slug, rank, response, escalation in SEVERITIES:
        Severity.objects.get_or_create(
            slug=slug, defaults={"name": name, "rank": rank, "response_target": response,
                                 "escalation_target": escalation},
        )
    for order, name in LEVELS:
        EscalationLevel.objects.get_or_create(order=order, defaults={"name": name})
    Group.objects.get_or_create(name="responders")


def backwards(apps, schema_editor):
    # Severities may be referenced by incidents by now; leave data in place when unapplying.
    pass


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
