"""With a real Celery worker on real Redis: an imported guide's sentence vectors are written by the worker,
in one task queued after the import commits (no eager mode), and search then finds a paraphrase through them."""

import pytest
from celery.signals import task_postrun

from kb.importing import guide_import, system_for_import
from kb.models import Article, ArticleEmbedding
from kb.search import search
from tests.diagnostics.worker import celery_worker_on_private_queue, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

GUIDE = """# Ledger troubleshooting

## Nightly totals job hangs

The totals job stops making progress and never finishes; its worker shows no CPU use.

### Fix

Restart the totals worker, then rerun the job for the missed night.

## Exports are empty

The CSV export downloads, but it holds only the header row.

### Fix

Check that the export window covers days that have postings.

## Login page loops back to itself

After signing in, the browser returns to the sign-in form again and again.

### Fix

Clear the session cookie and check the clock of the web server.
"""


def test_imported_guide_gets_its_vectors_from_a_real_worker_in_one_task(semantic):
    results = []

    def record(sender=None, retval=None, **_):
        if sender is not None and sender.name.endswith("article_embeddings_refresh_task"):
            results.append(retval)

    task_postrun.connect(record, weak=False)
    try:
        with celery_worker_on_private_queue():
            system = system_for_import(name="Ledger")
            guide_import(data=GUIDE.encode(), filename="ledger.md", system=system)
            ids = set(Article.objects.filter(system=system).values_list("pk", flat=True))
            assert len(ids) >= 3
            wait_until(lambda: ids <= set(ArticleEmbedding.objects.values_list("article_id", flat=True)),
                       timeout=90, what="the worker to encode the guide's articles")
    finally:
        task_postrun.disconnect(record)
    # One task encoded the whole import; any later one (the import's follow-up write) found nothing to do.
    assert results[0] == f"encoded {len(ids)}"
    assert set(results[1:]) <= {"encoded 0"}
    hits = search("accounting batch frozen overnight", per_page=3, highlight=False).hits
    assert hits and "hangs" in hits[0].article.title
