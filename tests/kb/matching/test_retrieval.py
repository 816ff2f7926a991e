"""Retrieval behind the signatures: error-aware tokens, related articles for errors no signature knows,
and system detection. Runs on whichever backend the suite uses; the index is the same on both."""

import pytest

from kb.matching.retrieval import MAX_EVENTS, related_lookup, retrieval_reset, system_detect
from kb.matching.tokens import error_tokens, phrase_tokens, query_tokens, quoted_fragments, stem
from kb.models import Article, Signature, Symptom
from kb.search import index_articles
from kb.services import article_create, system_upsert

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_index():
    retrieval_reset()
    yield
    retrieval_reset()


def _article(system, title, body, *, heading_path="", symptom="", signatures=(), status="published"):
    article = article_create(system=system, title=title, body=body, summary="", tags=[], status=status)
    if heading_path:
        Article.objects.filter(pk=article.pk).update(heading_path=heading_path)
    if symptom:
        sym = Symptom.objects.create(system=system, title=symptom)
        sym.articles.add(article)
        for text in signatures:
            Signature.objects.create(symptom=sym, text=text)
        index_articles([article.pk])
    return article


@pytest.fixture
def corpus(db):
    api, _ = system_upsert(slug="ledger", name="Ledger")
    web, _ = system_upsert(slug="storefront", name="Storefront")
    return {
        "pool": _article(api, "Problem: database pool exhausted",
                         "Requests wait for a connection and fail.\n\n```\nsqlalchemy.exc.TimeoutError: QueuePool "
                         "limit of size 5 overflow 10 reached, connection timed out\n```\n\nRaise pool_size.",
                         heading_path="Database / Problem: database pool exhausted",
                         symptom="Pool exhausted", signatures=["QueuePool limit of size 5 overflow 10 reached"]),
        "jwt": _article(api, "Problem: login tokens rejected",
                        "Clients get 401 after an hour: the JWT expired. Refresh tokens before expiry.",
                        symptom="Expired tokens", signatures=["TokenExpiredError: jwt expired"]),
        "schema": _article(web, "Problem: Database schema out of date",
                           "A migration did not run: `relation \"orders\" does not exist`. Run the migrations.",
                           symptom="Missing table", signatures=['relation "orders" does not exist']),
        "disk": _article(web, "Disk full", "No space left on device (ENOSPC) while writing uploads.",
                         symptom="Disk full", signatures=["ENOSPC: no space left on device"]),
        "draft": _article(web, "Kernel oops in the uploader", "The uploader hit a kernel oops in zfs_write.",
                          status="draft"),
    }


def test_error_tokens_keep_exception_names_whole_and_split():
    tokens = error_tokens("sqlalchemy.exc.TimeoutError: QueuePool limit reached")
    assert "sqlalchemy.exc.timeouterror" in tokens
    assert {stem("sqlalchemy"), "timeouterror", "timeout", "queuepool", "queue", "pool", "limit", "reach"} <= set(tokens)


def test_error_tokens_keep_errno_status_and_hex_codes_but_drop_ports_and_ids():
    tokens = set(error_tokens("[Errno 111] ECONNREFUSED 10.0.3.7:6379 got 503 from upstream, code 0x80070003 id 98121"))
    assert {"errno111", "econnrefused", "http503", "0x80070003"} <= tokens
    assert not {"6379", "98121", "10"} & tokens


def test_errno_names_and_numbers_carry_their_message_and_each_other():
    by_name = set(error_tokens("Error: connect ECONNREFUSED 10.0.4.17:9999"))
    by_number = set(error_tokens("OSError: [Errno 111] could not reach the upstream"))
    assert {"econnrefused", stem("connection"), stem("refused")} <= by_name
    assert {"errno111", "econnrefused"} <= by_number


def test_an_exit_status_above_128_names_its_signal_and_what_it_usually_means():
    tokens = set(error_tokens("billing-api-1 exited with code 137"))
    assert {"sigkill", "oom", stem("memory")} <= tokens
    assert "sigkill" not in error_tokens("billing-api-1 exited with code 1")


def test_a_docker_compose_container_line_says_container():
    assert stem("container") in error_tokens("billing-api-1 exited with code 1")
    assert stem("container") in error_tokens("booting\nbilling-api-1  | KeyError: 'DATABASE_URL'")
    # A pipe in ordinary text, or a name without a replica number, is no container line.
    assert stem("container") not in error_tokens("grep ERROR app.log | wc -l")
    assert stem("container") not in error_tokens("billing-api | KeyError: 'DATABASE_URL'")


def test_a_compose_line_finds_the_article_about_containers_that_fail_to_start(db):
    system, _ = system_upsert(slug="billing", name="Billing")
    # Both name the container once; the older article would win a tie.
    tls = _article(system, "Issue: TLS certificate errors",
                   "```bash\nopenssl s_client -connect billing-api:443 -showcerts\n```")
    containers = _article(system, "Issue: Containers fail to start",
                          "```bash\ndocker compose logs billing-api\ndocker compose down -v\n```")
    for n in range(4):
        _article(system, f"Unrelated note {n}", "Rotate the signing keys every quarter.")
    [hit] = related_lookup(events=["billing-api-1 exited with code 1\nbilling-api-1  | ValueError: bad setting"])
    assert hit.articles[:2] == [containers, tls]


def test_a_well_known_port_names_its_service_and_host_port_names_the_host():
    assert stem("postgres") in error_tokens("connect ECONNREFUSED 10.0.4.17:5432")
    assert stem("redis") in error_tokens("Could not connect to port 6379")
    assert "redis-main" in error_tokens("Could not connect to Redis at redis-main:6380")
    assert stem("postgres") not in error_tokens("took 5432 ms")


def test_phrase_tokens_pair_neighbouring_words_without_noise():
    assert phrase_tokens("ERROR: Connection refused by 10.0.0.1") == [f"{stem('connection')} {stem('refused')}"]


def test_a_phrase_ranks_the_article_that_says_it_above_one_with_the_same_words_apart(db):
    system, _ = system_upsert(slug="gateway", name="Gateway")
    # The same words as often, in the same length: only their order differs (and the older article
    # would win a tie).
    apart = _article(system, "Listener notes", "The address is in use already.")
    phrase = _article(system, "Listener notes", "The address already in use.")
    for n in range(4):
        _article(system, f"Unrelated note {n}", "Rotate the signing keys every quarter.")
    [hit] = related_lookup(events=["listen failed: address already in use"])
    assert hit.articles[:2] == [phrase, apart]


def test_with_no_system_known_a_hit_spreads_its_articles_over_systems(db):
    one, _ = system_upsert(slug="alpha", name="Alpha")
    two, _ = system_upsert(slug="beta", name="Beta")
    firsts = [_article(one, f"Cache stampede {n}", "The cache stampede warms every key at once.") for n in range(3)]
    other = _article(two, "Cache stampede", "A cache stampede warms every key; stagger the expiry.")
    for n in range(4):
        _article(one, f"Unrelated note {n}", "Rotate the signing keys every quarter.")

    [hit] = related_lookup(events=["cache stampede"])
    assert other in hit.articles[:2] and hit.articles[0] in [*firsts, other]
    [narrowed] = related_lookup(events=["cache stampede"], system="alpha")
    assert other not in narrowed.articles


def test_log_level_words_are_not_lookup_tokens():
    assert "error" not in query_tokens("2026-03-01 ERROR [worker] queue stalled")
    assert "stall" in query_tokens("2026-03-01 ERROR [worker] queue stalled")


def test_quoted_fragments_are_found():
    assert quoted_fragments('relation "features" does not exist') == ["features"]


def test_an_error_not_written_in_any_guide_finds_its_article(corpus):
    hits = related_lookup(events=["2026-03-01 ERROR QueuePool limit of size 20 overflow 30 reached, "
                                  "connection timed out, timeout 30.00"])
    assert hits and hits[0].article == corpus["pool"]
    assert "QueuePool" in hits[0].why
    assert hits[0].symptom is not None and hits[0].symptom.title == "Pool exhausted"


def test_a_quoted_name_and_dotted_exception_rank_the_right_article_first(corpus):
    hits = related_lookup(events=['sqlalchemy.exc.ProgrammingError: relation "orders" does not exist'])
    assert hits[0].article == corpus["schema"]
    assert hits[0].articles[0] == hits[0].article and len(hits[0].articles) <= 3


def test_excluded_symptoms_are_dropped(corpus):
    symptom = corpus["jwt"].symptoms.get()
    assert related_lookup(events=["TokenExpiredError: jwt expired"])[0].article == corpus["jwt"]
    hits = related_lookup(events=["TokenExpiredError: jwt expired"], exclude_symptom_ids={symptom.pk})
    assert all(hit.article != corpus["jwt"] for hit in hits)


def test_drafts_are_found_for_staff_only(corpus, staff_user):
    event = ["kernel oops in zfs_write"]
    assert all(hit.article != corpus["draft"] for hit in related_lookup(events=event))
    assert related_lookup(events=event, user=staff_user)[0].article == corpus["draft"]


def test_a_system_boost_breaks_a_tie_between_systems(db):
    one, _ = system_upsert(slug="alpha", name="Alpha")
    two, _ = system_upsert(slug="beta", name="Beta")
    first = _article(one, "Cache stampede", "The cache stampede warms every key at once.")
    second = _article(two, "Cache stampede", "The cache stampede warms every key at once.")
    for n in range(3):
        _article(one, f"Unrelated note {n}", "Rotate the signing keys every quarter.")
    assert related_lookup(events=["cache stampede"], system="alpha")[0].article == first
    assert related_lookup(events=["cache stampede"], system="beta")[0].article == second


def test_a_chosen_system_puts_its_articles_first_while_a_detected_one_is_only_boosted(db):
    one, _ = system_upsert(slug="alpha", name="Alpha")
    two, _ = system_upsert(slug="beta", name="Beta")
    strong = _article(one, "Cache stampede after deploys", "The cache stampede warms every key at once: "
                      "stagger the cache expiry so no stampede follows a deploy.")
    weak = _article(two, "Slow pages", "Pages are slow for a minute while the cache warms.")
    for n in range(4):
        _article(one, f"Unrelated note {n}", "Rotate the signing keys every quarter.")
    event = "cache stampede warms every key after deploy"

    [boosted] = related_lookup(events=[event], system="beta")
    assert boosted.articles[0] == strong and weak in boosted.articles
    [hit] = related_lookup(events=[event], system="beta", chosen=True)
    assert hit.articles[:2] == [weak, strong]


def test_unrelated_text_finds_nothing(corpus):
    assert related_lookup(events=["the weather in lisbon is lovely today"]) == []


def test_hostile_input_never_raises_and_work_is_bounded(corpus):
    assert related_lookup(events=[]) == []
    assert related_lookup(events=["\x00\xff" * 1000, "", "   "]) == []
    huge = "ENOSPC " + "x" * 5_000_000
    assert related_lookup(events=[huge])[0].article == corpus["disk"]
    many = [f"unknown failure number {n} in zone{n}" for n in range(100_000)]
    assert len(related_lookup(events=many, limit=500)) <= 50
    assert MAX_EVENTS == 50


def test_system_detect_names_the_system_a_host_belongs_to(corpus):
    assert system_detect("2026-03-01 ledger-api-1 | QueuePool limit reached") == "ledger"
    assert system_detect("nothing here names a system") is None
    assert system_detect("ledger and storefront both failed") is None
    assert system_detect("") is None


@pytest.mark.django_db
def test_a_tiny_knowledge_base_still_finds_an_article_by_its_distinctive_words(user):
    # With two or three articles no token is rarer than the rest; retrieval must still score them.
    from tests.factories import ArticleFactory, SystemFactory

    system = SystemFactory(name="Orchestrator", slug="orchestrator")
    article = ArticleFactory(system=system, title="Connection pool exhausted under load",
                             body="## QueuePool limit reached\n\nThe QueuePool overflow is full: raise pool_size.\n")
    ArticleFactory(system=system, title="Scheduler skips ticks", body="The lease was lost; restart the scheduler.\n")
    hits = related_lookup(events=["sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached"],
                          user=user)
    assert [hit.article.pk for hit in hits] == [article.pk]
    assert "QueuePool" in hits[0].why


def test_a_service_named_only_by_its_port_reads_as_the_service_in_why(db):
    system, _ = system_upsert(slug="ledger", name="Ledger")
    article = _article(system, "Postgres refuses connections",
                       "Could not connect to server: connection refused. The postgres server is down.")
    hits = related_lookup(events=["could not connect to server at 10.0.4.17, port 5432: connection refused"])
    assert hits and hits[0].article == article
    assert "postgres (port 5432)" in hits[0].why
    assert stem("postgres") not in hits[0].why
