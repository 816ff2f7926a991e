"""Search index: a weighted tsvector + pg_trgm on PostgreSQL, FTS5 tables on SQLite.

The index columns/tables are raw SQL on purpose: they are not part of the Django model, so the ORM,
fixtures and SQLite stay unaware of them. Triggers keep them current on every write of an article's
own text; `kb.search.index_articles()` re-runs the same trigger after symptoms, signatures or tags change.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

# Text fed to the index is capped so one enormous article cannot overflow a tsvector (1 MB) or slow writes.
BODY_CAP = 200000

POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # ASCII punctuation becomes a space, so both backends split "127.0.0.1:5432" or "pg_hba.conf" the same way.
    r"""
    CREATE OR REPLACE FUNCTION kb_search_clean(t text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
    $$ SELECT regexp_replace(coalesce(t, ''), '[!-/:-@\[-`{-~]+', ' ', 'g') $$
    """,
    # Markdown markers (and a code fence's language name) become spaces for display in headlines, and the
    # private-use characters we use as highlight markers are removed so article text can never forge or
    # unbalance a <mark>. Kept to one small regex and a translate(): it runs for every row on a page.
    r"""
    CREATE OR REPLACE FUNCTION kb_search_plain(t text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
    $$ SELECT translate(regexp_replace(coalesce(t, ''), '```[A-Za-z0-9_+-]*', ' ', 'g'),
                        U&'#*`>|\E000\E001', '     ') $$
    """,
    f"""
    CREATE OR REPLACE FUNCTION kb_article_search_document() RETURNS trigger
    LANGUAGE plpgsql AS
    $$
    DECLARE
      sigs text;
      related text;
      head tsvector;
    BEGIN
      SELECT coalesce(string_agg(sg.text, E'\\n' ORDER BY sg.id), '') INTO sigs
        FROM kb_symptom_articles sa JOIN kb_signature sg ON sg.symptom_id = sa.symptom_id
       WHERE sa.article_id = NEW.id;
      SELECT coalesce(string_agg(x.t, E'\\n'), '') INTO related FROM (
        SELECT sy.title AS t FROM kb_symptom_articles sa JOIN kb_symptom sy ON sy.id = sa.symptom_id
         WHERE sa.article_id = NEW.id
        UNION ALL
        SELECT tg.name FROM kb_article_tags at JOIN kb_tag tg ON tg.id = at.tag_id WHERE at.article_id = NEW.id
      ) x;
      NEW.search_signatures := left(sigs, 20000);
      head := setweight(to_tsvector('english', kb_search_clean(NEW.title)), 'A')
        || setweight(to_tsvector('english', kb_search_clean(left(sigs, 20000) || E'\\n' || related)), 'B');
      NEW.search_head := head;
      NEW.search_vector := head
        || setweight(to_tsvector('english', kb_search_clean(left(NEW.summary, 20000))), 'C')
        || setweight(to_tsvector('english', kb_search_clean(left(NEW.body, {BODY_CAP}))), 'D');
      RETURN NEW;
    END
    $$
    """,
    """
    ALTER TABLE kb_article
      ADD COLUMN search_vector tsvector NOT NULL DEFAULT ''::tsvector,
      ADD COLUMN search_head tsvector NOT NULL DEFAULT ''::tsvector,
      ADD COLUMN search_signatures text NOT NULL DEFAULT ''
    """,
    """
    CREATE TRIGGER kb_article_search_document
    BEFORE INSERT OR UPDATE OF title, summary, body ON kb_article
    FOR EACH ROW EXECUTE FUNCTION kb_article_search_document()
    """,
    "CREATE INDEX kb_article_search_vector_gin ON kb_article USING gin (search_vector)",
    # Title, symptoms and tags only: when a common word matches more articles than are ranked, the
    # ones with it in these fields are fetched first, from this small index alone.
    "CREATE INDEX kb_article_search_head_gin ON kb_article USING gin (search_head)",
    "CREATE INDEX kb_article_title_trgm ON kb_article USING gin (title gin_trgm_ops)",
    "CREATE INDEX kb_article_signatures_trgm ON kb_article USING gin (search_signatures gin_trgm_ops)",
    # Counts matches (up to lim) through the GIN index. For a word the planner has no statistics on it
    # guesses thousands of matches, and with a LIMIT it would rather scan the table "until it finds one":
    # on a large table that reads every row. The SET clause also keeps this function from being inlined.
    """
    CREATE OR REPLACE FUNCTION kb_search_matches(q tsquery, lim integer) RETURNS integer
    LANGUAGE sql STABLE SET enable_seqscan = off AS
    $$ SELECT count(*)::integer FROM (SELECT 1 FROM kb_article WHERE search_vector @@ q LIMIT lim) s $$
    """,
    # Every word seen in the knowledge base, for "did you mean". GiST, because its nearest-neighbour
    # order (word <-> typo) stays a few milliseconds where GIN's "%" must count every common trigram.
    "CREATE TABLE kb_search_word (word varchar(64) PRIMARY KEY)",
    "CREATE INDEX kb_search_word_trgm ON kb_search_word USING gist (word gist_trgm_ops)",
    # Index what is already there.
    "UPDATE kb_article SET title = title",
]

POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS kb_article_title_trgm",
    "DROP INDEX IF EXISTS kb_article_signatures_trgm",
    "DROP INDEX IF EXISTS kb_article_search_head_gin",
    "DROP INDEX IF EXISTS kb_article_search_vector_gin",
    "DROP TABLE IF EXISTS kb_search_word",
    "DROP TRIGGER IF EXISTS kb_article_search_document ON kb_article",
    "ALTER TABLE kb_article DROP COLUMN IF EXISTS search_vector, DROP COLUMN IF EXISTS search_head, "
    "DROP COLUMN IF EXISTS search_signatures",
    "DROP FUNCTION IF EXISTS kb_article_search_document()",
    "DROP FUNCTION IF EXISTS kb_search_matches(tsquery, integer)",
    "DROP FUNCTION IF EXISTS kb_search_plain(text)",
    "DROP FUNCTION IF EXISTS kb_search_clean(text)",
]

_SQLITE_SIGNATURES = """(SELECT coalesce(group_concat(sg.text, char(10)), '')
      FROM kb_symptom_articles sa JOIN kb_signature sg ON sg.symptom_id = sa.symptom_id
     WHERE sa.article_id = new.id)"""
_SQLITE_RELATED = """(SELECT coalesce(group_concat(t, char(10)), '') FROM (
      SELECT sy.title AS t FROM kb_symptom_articles sa JOIN kb_symptom sy ON sy.id = sa.symptom_id
       WHERE sa.article_id = new.id
      UNION ALL
      SELECT tg.name FROM kb_article_tags at JOIN kb_tag tg ON tg.id = at.tag_id WHERE at.article_id = new.id))"""
# Same caps and markdown stripping as on PostgreSQL; the FTS5 tokenizer does the punctuation splitting.
_SQLITE_INSERT = f"""
  INSERT INTO kb_article_fts(rowid, title, related, summary, body) VALUES (
    new.id, new.title,
    substr({_SQLITE_SIGNATURES}, 1, 20000) || char(10) || {_SQLITE_RELATED},
    replace(replace(substr(new.summary, 1, 20000), char(57344), ''), char(57345), ''),
    replace(replace(replace(replace(replace(replace(replace(substr(new.body, 1, {BODY_CAP}),
      char(57344), ''), char(57345), ''), '`', ' '), '#', ' '), '*', ' '), '>', ' '), '|', ' '));
  INSERT INTO kb_article_trgm(rowid, title, signatures) VALUES (new.id, new.title, substr({_SQLITE_SIGNATURES}, 1, 20000));
"""

SQLITE_FORWARD = [
    # Porter stemming over unicode61 mirrors PostgreSQL's English configuration closely enough that the
    # same query finds the same articles; diacritics are kept because PostgreSQL keeps them too.
    "CREATE VIRTUAL TABLE kb_article_fts USING fts5(title, related, summary, body, "
    "tokenize='porter unicode61 remove_diacritics 0')",
    "CREATE VIRTUAL TABLE kb_article_trgm USING fts5(title, signatures, tokenize='trigram')",
    f"CREATE TRIGGER kb_article_search_ai AFTER INSERT ON kb_article BEGIN {_SQLITE_INSERT} END",
    f"""CREATE TRIGGER kb_article_search_au AFTER UPDATE OF title, summary, body ON kb_article BEGIN
      DELETE FROM kb_article_fts WHERE rowid = old.id;
      DELETE FROM kb_article_trgm WHERE rowid = old.id;
      {_SQLITE_INSERT}
    END""",
    """CREATE TRIGGER kb_article_search_ad AFTER DELETE ON kb_article BEGIN
      DELETE FROM kb_article_fts WHERE rowid = old.id;
      DELETE FROM kb_article_trgm WHERE rowid = old.id;
    END""",
    "CREATE TABLE kb_search_word (word varchar(64) NOT NULL PRIMARY KEY)",
    "CREATE VIRTUAL TABLE kb_search_word_trgm USING fts5(word, tokenize='trigram')",
    """CREATE TRIGGER kb_search_word_ai AFTER INSERT ON kb_search_word BEGIN
      INSERT INTO kb_search_word_trgm(rowid, word) VALUES (new.rowid, new.word);
    END""",
    """CREATE TRIGGER kb_search_word_ad AFTER DELETE ON kb_search_word BEGIN
      DELETE FROM kb_search_word_trgm WHERE rowid = old.rowid;
    END""",
    "UPDATE kb_article SET title = title",
]

SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS kb_search_word_ad",
    "DROP TRIGGER IF EXISTS kb_search_word_ai",
    "DROP TABLE IF EXISTS kb_search_word_trgm",
    "DROP TABLE IF EXISTS kb_search_word",
    "DROP TRIGGER IF EXISTS kb_article_search_ad",
    "DROP TRIGGER IF EXISTS kb_article_search_au",
    "DROP TRIGGER IF EXISTS kb_article_search_ai",
    "DROP TABLE IF EXISTS kb_article_trgm",
    "DROP TABLE IF EXISTS kb_article_fts",
]


def _run(statements: dict[str, list[str]]):
    def run(apps, schema_editor) -> None:
        vendor = schema_editor.connection.vendor
        if vendor not in statements:
            raise RuntimeError(f"Triage search supports PostgreSQL and SQLite, not {vendor}")
        for sql in statements[vendor]:
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("kb", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='SearchQueryLog',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('query', models.CharField(max_length=500)),
                ('normalized', models.CharField(db_index=True, max_length=500)),
                ('result_count', models.PositiveIntegerField(default=0)),
                ('session_key', models.CharField(blank=True, max_length=40)),
                ('source', models.CharField(choices=[('web', 'Web'), ('api', 'API')], default='web', max_length=3)),
                ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                ('clicked_article', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='kb.article')),
                ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at'],
                'indexes': [models.Index(fields=['result_count', '-created_at'], name='kb_searchlog_gaps_idx')],
            },
        ),
        migrations.RunPython(
            _run({"postgresql": POSTGRES_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": POSTGRES_BACKWARD, "sqlite": SQLITE_BACKWARD}),
        ),
    ]
