# Reserved for the search index (tsvector/pg_trgm on PostgreSQL, FTS5 on SQLite).
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("kb", "0001_initial")]
    operations = []
