import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("kb", "0008_more_search_synonyms"),
    ]

    operations = [
        migrations.AddField(
            model_name="system",
            name="aliases",
            field=models.TextField(
                blank=True, max_length=4000,
                help_text="Other names this system goes by in logs and alerts, one per line: hosts, containers, "
                          "services, pods (e.g. pay-api, payments.internal). A pasted error naming one is matched "
                          "to this system first."),
        ),
        migrations.AddField(
            model_name="system",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, default=django.utils.timezone.now),
            preserve_default=False,
        ),
    ]
