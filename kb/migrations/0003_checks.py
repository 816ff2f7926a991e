# Links systems, articles and symptoms to diagnostic checks (kb -> diagnostics, never the other way).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("kb", "0002_search"),
        ("diagnostics", "0002_checks"),
    ]

    operations = [
        migrations.AddField(
            model_name="system",
            name="checks",
            field=models.ManyToManyField(blank=True, related_name="+", to="diagnostics.check"),
        ),
        migrations.AddField(
            model_name="article",
            name="checks",
            field=models.ManyToManyField(blank=True, related_name="+", to="diagnostics.check"),
        ),
        migrations.AddField(
            model_name="symptom",
            name="checks",
            field=models.ManyToManyField(blank=True, related_name="+", to="diagnostics.check"),
        ),
    ]
