"""Search engine behaviour; every test runs on whichever backend the suite uses (PostgreSQL or SQLite)."""

import pytest
from django.contrib.auth.models import User
from django.db import connection

from kb import search as kb_search
from kb.models import Article, Signature, Solution, Symptom
from kb.search import QueryError, index_articles, parse_query, query_from_words, search
from kb.search.engines import LOOSE, Filters, engine_for
from kb.services import article_create, article_update, article_vote, system_upsert

pytestmark = pytest.mark.django_db


def _article(system, title, body, *, summary="", tags=(), signatures=(), symptom="", status="published"):
    article = article_create(system=system, title=title, body=body, summary=summary, tags=list(tags), status=status)
    if signatures:
        sym = Symptom.objects.create(system=system, title=symptom or title)
        sym.articles.add(article)
        for text in signatures:
            Signature.objects.create(symptom=sym, text=text)
        index_articles([article.pk])
    return article


@pytest.fixture
def corpus(db):
    api, _ = system_upsert(slug="api", name="API")
    worker, _ = system_upsert(slug="worker", name="Worker")
    articles = {
        "pg": _article(
            api, "PostgreSQL connection refused", "Start the database server and check pg_hba.conf rules.",
            summary="The API cannot open a database connection.", tags=["postgres", "database"],
            signatures=["Error: connect ECONNREFUSED 127.0.0.1:5432"], symptom="Nothing listens on port 5432",
        ),
        "port": _article(
            api, "Port 3000 already in use", "Another process holds the port; find it with lsof and stop it.",
            summary="The server cannot bind its port at startup.", tags=["startup"],
            signatures=["Error: listen EADDRINUSE: address already in use :::3000"], symptom="Server cannot bind",
        ),
        "redis": _article(
            worker, "Agents idle while Redis is down", "The task queue lives in Redis. Restart redis-server.",
            summary="Workers stop taking jobs.", tags=["redis", "queue"],
            signatures=["redis.exceptions.ConnectionError: Error 111 connecting to localhost:6379",
                        "[Errno 111] Connection refused"],
            symptom="Redis refuses connections",
        ),
        "oom": _article(
            worker, "Worker pods restarted by the kernel", "Raise the memory limit or lower concurrency.",
            summary="Pods exit with code 137 under load.", tags=["kubernetes", "memory"],
            signatures=["Last State: Terminated Reason: OOMKilled"], symptom="Pods are OOMKilled",
        ),
        "key": _article(
            api, "Provider rejects the API key", "Rotate the key and update the environment file.",
            summary="Calls fail with 401 Unauthorized.", tags=["auth"],
            signatures=["HTTP 401 Unauthorized: invalid x-api-key"], symptom="Requests rejected with 401",
        ),
        "lock": _article(
            worker, "SQLite database is locked", "Two writers contend for one database file; serialise writes.",
            summary="Writes fail while another process holds the lock.", tags=["sqlite", "database"],
        ),
        "draft": _article(api, "Unfinished draft about database tuning", "Work in progress on database tuning.",
                          status=Article.Status.DRAFT),
    }
    return articles


def _titles(results):
    return [hit.article.title for hit in results.hits]


# --- parsing (no database) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "terms", "phrases", "excluded"),
    [
        ("redis connection refused", ("redis", "connection", "refused"), (), ()),
        ('"database is locked" sqlite', ("sqlite",), (("database", "is", "locked"),), ()),
        ("database -sqlite", ("database",), (), ("sqlite",)),
        ('unbalanced "quote here', ("unbalanced", "quote"), (), ()),
        ("the is not", (), (), ()),
        ("pm2 --update-env", ("pm2", "update", "env"), (), ()),
    ],
)
def test_parse_query_splits_words_phrases_and_exclusions(text, terms, phrases, excluded):
    parsed = parse_query(text)
    assert parsed.terms == terms
    assert parsed.phrases == phrases
    assert parsed.excluded_terms == excluded


def test_parse_query_reads_system_and_tag_filters():
    parsed = parse_query("system:Ares tag:redis timeout")
    assert parsed.systems == ("ares",)
    assert parsed.tags == ("redis",)
    assert parsed.terms == ("timeout",)
    assert parsed.fragments == ()


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("connect ECONNREFUSED 127.0.0.1:5432", "ECONNREFUSED"),
        ("listen EADDRINUSE :::3000", "EADDRINUSE"),
        ("[Errno 111] Connection refused", "Errno 111"),
        ("got a 401 from the provider", "401"),
        ("pod OOMKilled again", "OOMKilled"),
        ("sqlalchemy.exc.OperationalError on boot", "OperationalError"),
        ("SQLITE_BUSY when writing", "SQLITE_BUSY"),
    ],
)
def test_parse_query_recognises_error_tokens(text, label):
    assert label in [token.label for token in parse_query(text).error_tokens]


def test_port_numbers_and_versions_are_not_http_statuses():
    labels = [t.label for t in parse_query("listen on 127.0.0.1:4010 with node 404.1").error_tokens]
    assert labels == []


@pytest.mark.parametrize("text", ["&|!():*'\\", "\x00\x00", "redis\x00 down", "\ufffd\ufffd", "'''", '"', "-", "---"])
def test_parse_query_never_raises_on_odd_input(text):
    parsed = parse_query(text)
    assert "\x00" not in parsed.raw


def test_parse_query_refuses_a_query_over_the_limit():
    with pytest.raises(QueryError, match="at most 1,000"):
        parse_query("x" * 10_000)


def test_as_you_type_treats_the_last_unfinished_word_as_a_prefix():
    assert parse_query("redis conn", as_you_type=True).prefix == "conn"
    assert parse_query("redis conn ", as_you_type=True).prefix == ""
    assert parse_query("redis conn").prefix == ""


def test_highlight_markup_escapes_text_and_balances_marks():
    html = kb_search.mark_highlight("<script>x</script> \ue000ok\ue001 \ue000open")
    assert "<script>" not in html
    assert html.count("<mark>") == html.count("</mark>") == 2


# --- search ----------------------------------------------------------------------------------------


# The same sane queries must find the same articles, in the same order, on PostgreSQL and SQLite.
SAME_ON_BOTH = [
    # Fewer than three articles have every word, so those with some of them follow.
    ("postgres connection refused", ["PostgreSQL connection refused", "Agents idle while Redis is down"]),
    ("database locked", ["SQLite database is locked", "PostgreSQL connection refused"]),
    ('"already in use"', ["Port 3000 already in use"]),
    ("database -sqlite", ["PostgreSQL connection refused"]),
    ("system:worker database", ["SQLite database is locked"]),
    ("tag:redis", ["Agents idle while Redis is down"]),
    ("lsof", ["Port 3000 already in use"]),
    ("rotate key", ["Provider rejects the API key"]),
]


@pytest.mark.parametrize(("query", "expected"), SAME_ON_BOTH)
def test_sane_queries_find_the_same_articles_on_every_backend(corpus, query, expected):
    assert _titles(search(query)) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ECONNREFUSED", "PostgreSQL connection refused"),
        ("Error: connect ECONNREFUSED 127.0.0.1:5432", "PostgreSQL connection refused"),
        ("EADDRINUSE", "Port 3000 already in use"),
        ("Errno 111", "Agents idle while Redis is down"),
        ("401 unauthorized", "Provider rejects the API key"),
        ("OOMKilled", "Worker pods restarted by the kernel"),
        ('"invalid x-api-key"', "Provider rejects the API key"),
    ],
)
def test_error_tokens_rank_the_article_with_that_signature_first(corpus, query, expected):
    results = search(query)
    assert _titles(results)[0] == expected
    assert results.hits[0].signature  # the matching symptom's signature is shown


def test_signature_match_outranks_a_stronger_text_match(corpus):
    api = corpus["pg"].system
    _article(api, "ECONNREFUSED explained", "ECONNREFUSED ECONNREFUSED means nothing listens.")
    assert _titles(search("ECONNREFUSED"))[0] == "PostgreSQL connection refused"


def test_a_body_that_keeps_naming_rare_words_outranks_a_common_word_in_a_title(corpus):
    """Field weights count before saturation (BM25, on both backends): an article whose body is about the
    rare words beats one that only has the query's most common word in its title."""
    api = corpus["pg"].system
    _article(api, "Wrong timezone in the logs", "Set TZ in the container environment.")
    for n in range(2):
        _article(api, f"Checklist {n}", "A wrong setting here breaks the deploy; check it twice.")
    about = _article(api, "Pods stay pending on the second node",
                     "Flannel picks the first NIC it sees. Under Vagrant that NIC is the NAT one, so flannel "
                     "routes pod traffic through it; point flannel at the private NIC instead.")
    results = search("flannel chooses the wrong nic")
    assert results.hits[0].article.pk == about.pk


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="document frequencies are counted on PostgreSQL")
def test_word_frequencies_are_counted_once_until_an_article_is_added_or_edited(corpus):
    from django.test.utils import CaptureQueriesContext

    def counted(text):
        with CaptureQueriesContext(connection) as queries:
            first = _titles(search(text))
        return first, sum("kb_search_matches(phraseto_tsquery" in q["sql"] for q in queries.captured_queries)

    titles, counts = counted("redis queue backlog")
    assert counts >= 1
    assert counted("redis queue backlog") == (titles, 0)  # the same words: counted already
    _article(corpus["pg"].system, "Queue backlog after a deploy", "Drain the redis queue before the deploy.")
    assert counted("redis queue backlog")[1] >= 1  # the table changed: counted again


def test_an_engine_called_with_a_word_list_finds_the_same_articles_as_typed_words(corpus):
    """Another module (the matcher's retrieval) calls an engine with tokens it already has."""
    engine = engine_for()
    from_words = engine.candidates(query_from_words(["Redis", "the", "queue"]), LOOSE, Filters(), sort="relevance",
                                   rank=True, limit=10)
    typed = engine.candidates(parse_query("redis the queue"), LOOSE, Filters(), sort="relevance", rank=True, limit=10)
    assert {c.id for c in from_words} == {c.id for c in typed} == {corpus["redis"].pk}
    assert query_from_words(["Error:", "the"]).terms == ("error",)  # normalised like typed words


def test_misspelled_query_is_corrected_and_suggested(corpus):
    results = search("conection refusd")
    assert results.suggestion == "connection refused"
    assert results.corrected
    assert "PostgreSQL connection refused" in _titles(results)[:2]


def test_misspelled_word_alongside_a_correct_one_still_finds_the_article(corpus):
    results = search("reddis queue")
    assert results.suggestion == "redis queue"
    assert _titles(results)[0] == "Agents idle while Redis is down"


def test_as_you_type_prefix_finds_articles_before_the_word_is_finished(corpus):
    assert _titles(search("lsof proc", as_you_type=True))[0] == "Port 3000 already in use"


def test_highlight_marks_the_matched_words(corpus):
    hit = search("concurrency").hits[0]
    assert "<mark>concurrency</mark>" in hit.highlight.lower()


def test_highlight_escapes_html_in_articles(corpus):
    system = corpus["pg"].system
    _article(system, "Escaping check", "The tag <script>alert(1)</script> is shown as text near zebrafish.")
    hit = search("zebrafish").hits[0]
    assert "<mark>zebrafish</mark>" in hit.highlight
    assert "<" not in hit.highlight.replace("<mark>", "").replace("</mark>", "")


def test_facets_count_results_by_system_and_tag(corpus):
    results = search("database")
    assert {f.slug: f.count for f in results.systems} == {"api": 1, "worker": 1}
    assert {f.slug: f.count for f in results.tags}["database"] == 2


def test_unknown_system_filter_finds_nothing_and_says_why(corpus):
    results = search("database system:nope")
    assert results.count == 0
    assert "nope" in results.message


def test_drafts_are_found_by_staff_only(corpus):
    staff = User.objects.create(username="staffer", is_staff=True)
    assert "Unfinished draft about database tuning" not in _titles(search("tuning"))
    assert _titles(search("tuning", user=staff)) == ["Unfinished draft about database tuning"]


def test_recent_sort_orders_by_last_update(corpus):
    article_update(article=corpus["pg"], body=corpus["pg"].body + " Also check the database log.")
    assert _titles(search("database", sort="recent"))[0] == "PostgreSQL connection refused"


def test_pagination_splits_results(corpus):
    first = search("database", per_page=1)
    assert first.count >= 2 and len(first.hits) == 1 and first.has_next
    second = search("database", per_page=1, page=2)
    assert second.hits[0].article.pk != first.hits[0].article.pk


def test_empty_and_punctuation_only_queries_are_unusable_with_a_message(corpus):
    assert not search("").usable and "Type a few words" in search("").message
    results = search("&|!():*'\\")
    assert not results.usable and "Nothing searchable" in results.message


@pytest.mark.parametrize("query", ["&|!():*'\\ redis", "redis & queue | (x", "redis:* !", "'redis'", "redis\\", 'redis"'])
def test_operator_characters_are_treated_as_text(corpus, query):
    assert _titles(search(query))[0] == "Agents idle while Redis is down"


# --- index maintenance ------------------------------------------------------------------------------


def test_article_update_reindexes_new_words_and_drops_old_ones(corpus):
    article_update(article=corpus["lock"], title="SQLite writer contention", body="Serialise the writes.",
                   summary="Writers queue up.")
    assert _titles(search("contention")) == ["SQLite writer contention"]
    assert search("locked").count == 0


def test_signature_added_later_is_searchable_after_index_articles(corpus):
    symptom = Symptom.objects.create(system=corpus["lock"].system, title="Lock timeout")
    symptom.articles.add(corpus["lock"])
    Signature.objects.create(symptom=symptom, text="sqlite3.OperationalError: database is locked")
    assert search("OperationalError").count == 0
    index_articles([corpus["lock"].pk])
    assert _titles(search("OperationalError")) == ["SQLite database is locked"]


def test_deleted_article_leaves_the_index(corpus):
    corpus["lock"].delete()
    assert search("locked").count == 0
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM kb_article_fts WHERE rowid = %s", [corpus["lock"].pk or 0])
            assert cursor.fetchone()[0] == 0


def test_new_words_feed_did_you_mean(corpus):
    _article(corpus["pg"].system, "Kafka broker unreachable", "The kafka broker does not answer.")
    assert search("kafak").suggestion == "kafka"


# --- outcome boosts --------------------------------------------------------------------------------


def test_helpful_votes_lift_an_article_within_bounds(corpus):
    system = corpus["pg"].system
    first = _article(system, "Flaky gateway twin one", "gateway resets")
    second = _article(system, "Flaky gateway twin two", "gateway resets")
    for n in range(3):
        article_vote(article=second, helpful=True, user=User.objects.create(username=f"voter{n}"), session_key="")
    assert _titles(search("flaky gateway")) == [second.title, first.title]
    # Votes never lift a partial match above an article that has every word.
    for n in range(20):
        article_vote(article=corpus["lock"], helpful=True, user=User.objects.create(username=f"fan{n}"), session_key="")
    assert _titles(search("database sqlite locked"))[0] == "SQLite database is locked"
    assert kb_search.outcome_multiplier(helpful=1000, not_helpful=0, resolved=10**6) <= 1.45
    assert kb_search.outcome_multiplier(helpful=0, not_helpful=1000, resolved=0) >= 0.85


def test_solutions_that_resolved_incidents_lift_their_articles(corpus):
    system = corpus["pg"].system
    first = _article(system, "Cache node evicts keys twin", "evictions rise")
    second = _article(system, "Cache node evicts keys copy", "evictions rise")
    solution = Solution.objects.create(system=system, title="Raise maxmemory", steps="1. Raise it.")
    solution.articles.add(second)
    Solution.objects.filter(pk=solution.pk).update(resolved_count=8)
    assert _titles(search("evictions"))[:2] == [second.title, first.title]

