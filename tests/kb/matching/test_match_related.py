"""Related hits behind the signatures, kinds and reasons, the system filter, grouping across systems and
"File an incident with this" (service, API and page). Retrieval itself is replaced by a fake here."""

from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse

from kb import hooks, matching
from kb.matching import retrieval
from tests.factories import ArticleFactory, SignatureFactory, SymptomFactory, SystemFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/match/"
HTMX = {"HTTP_HX_REQUEST": "true"}
LOCKED = "sqlite3.OperationalError: database is locked"
POOL = "sqlalchemy.exc.TimeoutError: QueuePool limit of size 20 overflow 30 reached, connection timed out"


@pytest.fixture(autouse=True)
def _fresh_matcher():
    matching.matcher_reset()
    yield
    matching.matcher_reset()


@pytest.fixture
def related(monkeypatch):
    """A fake retrieval: records each call and answers with ``hits`` (minus excluded symptoms)."""
    fake = SimpleNamespace(calls=[], hits=[], detected=None)

    def lookup(*, events, system=None, exclude_symptom_ids=frozenset(), user=None, limit=5, leading=None,
               chosen=False, index=None, knowledge=None):
        fake.calls.append({"events": list(events), "system": system, "exclude": set(exclude_symptom_ids),
                           "leading": leading, "chosen": chosen})
        return [hit for hit in fake.hits if hit.symptom is None or hit.symptom.pk not in exclude_symptom_ids][:limit]

    monkeypatch.setattr(retrieval, "related_lookup", lookup)
    monkeypatch.setattr(retrieval, "system_detect", lambda text, index=None: fake.detected)
    return fake


@pytest.fixture
def orchestrator():
    system = SystemFactory(name="Orchestrator", slug="orchestrator")
    symptom = SymptomFactory(system=system, title="SQLite is locked")
    SignatureFactory(symptom=symptom, text=LOCKED)
    return symptom


def pool_hit(*, symptom=None) -> retrieval.RelatedHit:
    article = ArticleFactory(title="Connection pool exhausted", system=SystemFactory(name="Billing", slug="billing"))
    second = ArticleFactory(title="Tuning the pool", system=article.system)
    return retrieval.RelatedHit(article=article, articles=[article, second], symptom=symptom, score=7.5,
                                why=["QueuePool", "overflow", "limit"], query=POOL)


def test_only_unknown_error_events_are_looked_up_never_info_or_debug_lines(related, orchestrator):
    text = (f"2025-06-01 INFO [api] request failed over to replica: QueuePool warmed\n"
            f"2025-06-01 DEBUG [db] retrying after error 3\n"
            f"2025-06-01 ERROR [db] {LOCKED}\n"
            f"2025-06-01 ERROR [db] {POOL}\n")

    matching.symptom_match_text(text=text)

    [call] = related.calls
    pool, whole = call["events"]
    assert pool == POOL
    # The paste as a whole: both error lines, the one a signature matched too, never the INFO/DEBUG lines.
    assert whole == f"{LOCKED}\n{POOL}" and call["leading"] == whole
    assert call["exclude"] == {orchestrator.pk}


def test_a_line_a_signature_matched_is_still_looked_up_as_part_of_the_whole_paste(related, orchestrator):
    text = f"2025-06-01 ERROR [db] {LOCKED}\n\tIs the file on a network share?\n"

    result = matching.symptom_match_text(text=text)

    assert [item.symptom for item in result.matches] == [orchestrator]
    assert related.calls[0]["events"] == [f"{LOCKED}\nIs the file on a network share?"]


def test_a_long_log_is_looked_up_by_its_error_lines_only(related, orchestrator):
    noise = "".join(f"2025-06-01 WARN [api] slow request {n} took 3s\n" for n in range(40))
    text = f"{noise}2025-06-01 ERROR [db] {LOCKED}\n{noise}2025-06-01 ERROR [db] {POOL}\n"

    matching.symptom_match_text(text=text)

    [call] = related.calls
    assert call["events"] == [POOL, f"{LOCKED}\n{POOL}"] and call["leading"] is None


def test_a_clean_info_log_asks_retrieval_nothing(related):
    text = "2025-06-01 INFO [api] started\n2025-06-01 INFO [api] GET /resources 404 not found handled\n" * 20

    result = matching.symptom_match_text(text=text)

    assert related.calls == [] and result.related == []


def test_a_short_paste_without_error_words_is_looked_up_line_by_line(related):
    matching.symptom_match_text(text="Incompatible CPU detected\n")

    assert related.calls[0]["events"] == ["Incompatible CPU detected"]


def test_a_traceback_is_looked_up_once_by_its_exception_line(related):
    text = ('Traceback (most recent call last):\n  File "/app/db_errors.py", line 4, in connect\n'
            '    raise_error()\n' + POOL + "\n")

    matching.symptom_match_text(text=text)

    # Its frames are context: the paste as a whole is the exception line, the same event.
    assert related.calls[0]["events"] == [POOL]


def test_a_node_trace_names_the_library_its_frames_run_through(related):
    text = ("Error: timeout exceeded when trying to connect\n"
            "    at Timeout._onTimeout (/app/node_modules/pg-pool/index.js:188:27)\n"
            "    at listOnTimeout (node:internal/timers:569:17)\n")

    matching.symptom_match_text(text=text)

    assert related.calls[0]["events"][-1] == "Error: timeout exceeded when trying to connect\npg-pool"


def test_a_short_paste_without_error_words_is_also_looked_up_as_a_whole(related):
    matching.symptom_match_text(text="No solution found when resolving dependencies:\nBecause a depends on b\n")

    *lines, whole = related.calls[0]["events"]
    assert whole == "\n".join(lines) and related.calls[0]["leading"] == whole


def test_the_api_lists_exact_matches_then_related_hits_each_with_kind_score_and_why(api_client, related,
                                                                                      orchestrator):
    related.hits.append(pool_hit())

    response = api_client.post(URL, {"text": f"{LOCKED}\n{POOL}\n"}, format="json")

    assert response.status_code == 200
    body = response.json()
    exact, hit = body["matches"]
    assert exact["kind"] == "signature" and exact["why"] == [LOCKED] and exact["score"] > 0
    assert exact["symptom"]["title"] == "SQLite is locked" and exact["query"] is None
    assert hit["kind"] == "related" and hit["score"] == 7.5
    assert hit["why"] == ["QueuePool", "overflow", "limit"] and hit["query"] == POOL
    assert hit["symptom"] is None and hit["system"]["slug"] == "billing"
    assert [article["title"] for article in hit["articles"]] == ["Connection pool exhausted", "Tuning the pool"]
    assert body["summary"] == {"known": 1, "related": 1, "unknown_templates": 1}


def test_a_related_hit_carries_its_symptom_when_it_maps_to_one(api_client, related):
    symptom = SymptomFactory(title="Pool exhausted")
    related.hits.append(pool_hit(symptom=symptom))

    body = api_client.post(URL, {"text": POOL}, format="json").json()

    assert body["matches"][0]["symptom"]["id"] == symptom.pk


def test_the_same_lines_known_in_two_systems_are_one_item_listing_both(api_client, related, orchestrator):
    other = SymptomFactory(system=SystemFactory(name="Scheduler", slug="scheduler"), title="Scheduler DB locked")
    SignatureFactory(symptom=other, text="database is locked")

    body = api_client.post(URL, {"text": LOCKED}, format="json").json()

    [item] = body["matches"]
    assert item["systems"][0]["slug"] == item["system"]["slug"]
    assert {(system["slug"], system["symptom_id"]) for system in item["systems"]} == {
        ("orchestrator", orchestrator.pk), ("scheduler", other.pk)}


def test_a_chosen_system_narrows_exact_matches_and_is_passed_to_retrieval(api_client, related, orchestrator):
    other = SymptomFactory(system=SystemFactory(name="Scheduler", slug="scheduler"), title="Scheduler DB locked")
    SignatureFactory(symptom=other, text="database is locked")

    body = api_client.post(URL, {"text": f"{LOCKED}\n{POOL}", "system": "scheduler"}, format="json").json()

    assert [item["symptom"]["title"] for item in body["matches"]] == ["Scheduler DB locked"]
    assert body["system"] == {"slug": "scheduler", "detected": False, "other_systems": 1}
    assert related.calls[0]["system"] == "scheduler" and related.calls[0]["chosen"] is True


def test_an_unknown_system_is_a_clear_400(api_client, related):
    response = api_client.post(URL, {"text": LOCKED, "system": "nope"}, format="json")

    assert response.status_code == 400 and "no system" in response.json()["detail"].lower()


def test_a_detected_system_ranks_its_matches_first_without_hiding_others(api_client, related, orchestrator):
    other = SymptomFactory(system=SystemFactory(name="Scheduler", slug="scheduler"), title="Scheduler DB locked")
    SignatureFactory(symptom=other, text="database is locked")
    SignatureFactory(symptom=other, text="scheduler tick 4 failed")  # different lines: its own card
    related.detected = "orchestrator"

    # Undetected, Scheduler's symptom (three lines) would come first.
    text = f"scheduler tick 4 failed\nscheduler tick 5 failed\n{LOCKED}\n{POOL}"
    body = api_client.post(URL, {"text": text}, format="json").json()

    assert [item["system"]["slug"] for item in body["matches"]] == ["orchestrator", "scheduler"]
    assert body["system"]["detected"] is True
    # Detection can be wrong: retrieval only boosts a detected system, it does not put it before the others.
    assert related.calls[0]["system"] == "orchestrator" and related.calls[0]["chosen"] is False


def test_a_retrieval_failure_keeps_the_exact_matches_and_says_so(api_client, monkeypatch, orchestrator):
    def broken(**kwargs):
        raise RuntimeError("index missing")

    monkeypatch.setattr(retrieval, "related_lookup", broken)

    response = api_client.post(URL, {"text": f"{LOCKED}\n{POOL}"}, format="json")

    assert response.status_code == 200
    assert [item["kind"] for item in response.json()["matches"]] == ["signature"]
    assert "could not be looked up" in " ".join(response.json()["notices"])


# --- the page --------------------------------------------------------------------------------------


def test_the_page_opens_with_a_summary_and_related_cards_say_why(client, related, orchestrator):
    related.hits.append(pool_hit())

    response = client.post(reverse("kb:match"), {"text": f"{LOCKED}\n{POOL}\nERROR ledger 4 rejected\n"}, **HTMX)

    content = response.content.decode()
    assert "kb/partials/match_results.html" in [t.name for t in response.templates]
    assert "1 known symptom,\n      1 likely related,\n      2 unknown error templates" in content
    assert 'data-kind="related"' in content and "Connection pool exhausted" in content
    assert "<mark>QueuePool</mark>, <mark>overflow</mark>, <mark>limit</mark>" in content


def test_the_system_filter_works_without_javascript(client, related, orchestrator):
    SymptomFactory(system=SystemFactory(name="Scheduler", slug="scheduler"), title="Other")

    page = client.get(reverse("kb:match")).content.decode()
    response = client.post(reverse("kb:match"), {"text": LOCKED, "system": "scheduler"})

    assert '<select name="system"' in page and '<option value="scheduler">Scheduler</option>' in page
    assert response.status_code == 200 and "kb/match.html" in [t.name for t in response.templates]
    assert "SQLite is locked" not in response.content.decode()
    assert "1 known symptom of other systems is hidden by the system filter" in response.content.decode()


def test_file_an_incident_links_to_the_prefilled_incident_form(client, user, related, orchestrator):
    text = f"2025-06-01 ERROR [db] {LOCKED}\n2025-06-01 ERROR [db] ledger 4 rejected\n"
    response = client.post(reverse("kb:match"), {"text": text})
    url = response.context["incident_url"]

    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    assert parsed.path == reverse("incidents:new")
    assert query["title"] == [LOCKED] and query["system"] == ["orchestrator"]
    assert "Known symptom: SQLite is locked (Orchestrator)" in query["body"][0]
    assert "Unknown error: ledger <*> rejected" in query["body"][0] and text.strip() in query["body"][0]
    assert 'class="match-file-incident"' in response.content.decode()

    client.force_login(user)
    form = client.get(url).context["form"]
    assert form.initial["title"] == LOCKED and form.initial["system"] == orchestrator.system.pk
    assert text.strip() in form.initial["what_happened"]


def test_the_incident_prefill_url_stays_bounded_for_a_huge_paste():
    from incidents.prefill import MAX_URL_CHARS

    url = hooks.incident_prefill_url(hooks.IncidentPrefill(title="é" * 500, description="ü%&" * 50_000))

    assert url is not None and len(url) <= MAX_URL_CHARS
    assert parse_qs(urlparse(url).query)["body"][0].endswith("…(cut)")
