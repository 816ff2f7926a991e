"""The semantic rerank: the numpy encoder, stored vectors kept current, hybrid ranking and its fallbacks.

Articles here are our own, written for these tests."""

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kb.models import ArticleEmbedding
from kb.search import search
from kb.search.semantic import encoder as encoder_module
from kb.search.semantic import encoder_get, semantic_similarities
from kb.search.semantic import rerank as rerank_module
from kb.services import article_create, article_update, system_upsert
from kb.tasks import article_embeddings_refresh_task

from .test_search import corpus  # noqa: F401  (the exact-query corpus, reused below)

pytestmark = pytest.mark.django_db


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


def test_encoder_gives_unit_vectors_that_put_paraphrases_together(semantic):
    encoder = encoder_get()
    disk, space, login, frozen, hung = encoder.encode(
        ["disk is full", "no space left on device", "user logged in", "terminal window frozen", "the shell is hung"]
    )
    assert np.allclose(np.linalg.norm(disk), 1.0, atol=1e-5)
    assert _cos(disk, space) > _cos(disk, login) + 0.2
    assert _cos(frozen, hung) > _cos(frozen, login)


def test_encoder_matches_reference_vector_components(semantic):
    # First components of sentence-transformers' own output for this model (PyTorch 2.13, CPU).
    vector = encoder_get().encode(["disk is full"])[0]
    assert np.allclose(vector[:4], [0.01256765, -0.00993998, -0.00447582, -0.03763141], atol=1e-5)


def test_encoding_in_a_batch_with_padding_changes_nothing(semantic):
    encoder = encoder_get()
    alone = encoder.encode(["connection refused"])[0]
    batched = encoder.encode(["connection refused", "a much longer sentence about a pod that keeps restarting " * 8])[0]
    assert np.allclose(alone, batched, atol=1e-5)


def _shell_kb():
    system, _ = system_upsert(slug="shell", name="Shell")
    hung = article_create(system=system, title="Bash is hung",
                          body="The terminal stops responding to keystrokes. Press Ctrl+Q, then restart the session.")
    printer = article_create(system=system, title="Printer queue stuck",
                             body="Jobs pile up in the spooler. Clear the spool folder and restart the service.")
    return system, hung, printer


def test_refresh_stores_vectors_once_and_again_after_an_edit(semantic, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _system, hung, printer = _shell_kb()
    stored = {e.article_id: e for e in ArticleEmbedding.objects.all()}
    assert set(stored) == {hung.pk, printer.pk}
    assert stored[hung.pk].chunks >= 2
    assert len(bytes(stored[hung.pk].vectors)) == stored[hung.pk].chunks * 384 * 2  # float16

    assert article_embeddings_refresh_task([hung.pk, printer.pk]) == "encoded 0"  # nothing changed

    with django_capture_on_commit_callbacks(execute=True):
        article_update(article=hung, title="Bash window is frozen", body=hung.body, summary="", note="rename")
    after = ArticleEmbedding.objects.get(article=hung)
    assert after.content_hash != stored[hung.pk].content_hash
    assert ArticleEmbedding.objects.get(article=printer).content_hash == stored[printer.pk].content_hash


def test_hybrid_search_finds_a_paraphrase_that_lexical_search_misses(semantic, settings):
    system, _hung, _printer = _shell_kb()
    mail = article_create(system=system, title="Mail server rejects outgoing messages",
                          body="The SMTP relay refuses the connection; configure the relay host and its credentials.")
    # Shares a word with the query, means something else: lexical search finds only this one.
    article_create(system=system, title="Backup never finishes",
                   body="The nightly backup job never completes; raise its timeout.")
    query = "emails I send never arrive"
    settings.TRIAGE_SEMANTIC = False
    assert [h.article.pk for h in search(query).hits][0] != mail.pk
    settings.TRIAGE_SEMANTIC = True
    # No refresh task ran: the search encodes the four new articles itself.
    assert [h.article.pk for h in search(query).hits][0] == mail.pk


def test_a_query_about_nothing_here_still_finds_nothing(semantic):
    _shell_kb()
    assert search("quarterly tax filing deadline for freelancers").count == 0


def test_filters_and_exclusions_still_hold(semantic):
    system, hung, _printer = _shell_kb()
    other, _ = system_upsert(slug="desk", name="Desk")
    article_create(system=other, title="Frozen terminal on the desk PC", body="Unplug the keyboard.")
    titles = [h.article.title for h in search("terminal frozen keyboard does nothing system:shell").hits]
    assert titles and all(t in {hung.title, "Printer queue stuck"} for t in titles)
    titles = [h.article.title for h in search("terminal frozen -keyboard").hits]
    assert "Frozen terminal on the desk PC" not in titles


@pytest.mark.parametrize(("query", "key"), [
    ("ECONNREFUSED 127.0.0.1:5432", "pg"),
    ("OOMKilled", "oom"),
    ("address already in use", "port"),
    ("database is locked", "lock"),
    ('"Error 111 connecting to localhost:6379"', "redis"),
])
def test_exact_queries_keep_their_top_result_with_semantics_on(semantic, corpus, query, key):  # noqa: F811
    assert search(query).hits[0].article.pk == corpus[key].pk


def test_search_is_lexical_when_the_setting_is_off(settings):
    _shell_kb()
    settings.TRIAGE_SEMANTIC = False
    assert semantic_similarities("bash hung") == {}
    with CaptureQueriesContext(connection) as queries:
        search("bash hung")
    assert not any("kb_articleembedding" in q["sql"] for q in queries.captured_queries)
    assert not ArticleEmbedding.objects.exists()


def _lexical_ids(settings, query: str) -> list[int]:
    settings.TRIAGE_SEMANTIC = False
    ids = [h.article.pk for h in search(query).hits]
    settings.TRIAGE_SEMANTIC = True
    return ids


def test_search_is_lexical_when_the_model_package_is_missing(semantic, settings, monkeypatch):
    _shell_kb()
    lexical = _lexical_ids(settings, "bash hung")
    monkeypatch.setattr(encoder_module, "MODEL_PACKAGE", "no_such_model_package")
    assert [h.article.pk for h in search("bash hung").hits] == lexical
    assert not ArticleEmbedding.objects.exists()


def test_a_failing_encoder_degrades_to_lexical_search(semantic, settings, monkeypatch):
    _shell_kb()
    lexical = _lexical_ids(settings, "bash hung")

    def broken(text):
        raise RuntimeError("boom")

    monkeypatch.setattr(rerank_module, "query_vector", broken)
    assert [h.article.pk for h in search("bash hung").hits] == lexical


def test_articles_written_in_one_transaction_are_refreshed_by_one_task(semantic, monkeypatch,
                                                                      django_capture_on_commit_callbacks):
    from django.db import transaction

    from config import celery as celery_config

    sent = []
    monkeypatch.setattr(celery_config, "task_publish", lambda task, args=(), **kw: sent.append(list(args[0])))
    system, _ = system_upsert(slug="manuals", name="Manuals")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        ids = [article_create(system=system, title=f"Guide part {n}", body=f"Step {n} of the guide.").pk
               for n in range(3)]
    assert sent == [sorted(ids)]


def test_passages_read_template_slots_as_the_words_they_name():
    from kb.search.semantic.store import article_passages

    passages = article_passages(title="P1010", heading_path="Error codes / P1010",
                                summary='"User {database_user} was denied access on the database \\{database_name}"',
                                body='"User {database_user} was denied access on the database \\{database_name}"',
                                symptoms=["P1010"])
    assert all("{" not in p and "_" not in p for p in passages)
    assert "denied access on the database database name" in passages[0]


def test_an_article_whose_passages_all_match_beats_one_with_a_single_close_passage():
    from kb.search.semantic.store import VectorIndex

    query = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    close, related, unrelated = [0.9, 0.436, 0.0], [0.8, 0.6, 0.0], [0.0, 0.0, 1.0]
    index = VectorIndex(version=(), article_ids=np.array([1, 2]), system_ids=np.array([1, 1]),
                        published=np.array([True, True]), starts=np.array([0, 2]),
                        matrix=np.array([close, unrelated, close, related], dtype=np.float32))
    one, both = index.similarities(query)
    assert both > one
    # An article of one passage is scored by that passage alone.
    single = VectorIndex(version=(), article_ids=np.array([1]), system_ids=np.array([1]),
                         published=np.array([True]), starts=np.array([0]), matrix=np.array([close], dtype=np.float32))
    assert single.similarities(query)[0] == pytest.approx(0.9)


def test_the_vector_table_version_moves_with_every_write_the_index_depends_on(semantic):
    from kb.search.semantic.store import table_version

    system, hung, printer = _shell_kb()
    article_embeddings_refresh_task([hung.pk, printer.pk])
    seen = [table_version()]
    article_update(article=printer, title="Printer queue stuck", body="Clear the spooler, then restart it.")
    seen.append(table_version())  # an edit
    article_embeddings_refresh_task([printer.pk])
    seen.append(table_version())  # its vectors rewritten
    printer.delete()
    seen.append(table_version())  # its vectors went with it
    assert len(set(seen)) == len(seen)


def test_no_query_is_encoded_while_no_article_has_vectors(semantic, monkeypatch):
    system, hung, printer = _shell_kb()
    monkeypatch.setattr(rerank_module, "LAZY_LIMIT", 0)  # leave the vectors to the task
    encoded = []
    real = rerank_module.query_vector
    monkeypatch.setattr(rerank_module, "query_vector", lambda text: encoded.append(text) or real(text))
    assert semantic_similarities("terminal window frozen") == {}
    assert encoded == []
    article_embeddings_refresh_task([hung.pk, printer.pk])
    assert set(semantic_similarities("terminal window frozen")) == {hung.pk, printer.pk}
    assert encoded == ["terminal window frozen"]
