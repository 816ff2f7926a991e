from django.db import migrations


def seed_new_synonyms(apps, schema_editor):
    """Groups added to kb/search/synonyms.txt since 0006 (a group already there is left as staff edited it)."""
    from kb.search.synonyms import default_groups

    model = apps.get_model("kb", "SearchSynonym")
    for terms in default_groups():
        model.objects.using(schema_editor.connection.alias).get_or_create(terms=terms[:500])


class Migration(migrations.Migration):

    dependencies = [
        ("kb", "0007_article_embeddings"),
    ]

    operations = [
        migrations.RunPython(seed_new_synonyms, migrations.RunPython.noop),
    ]
