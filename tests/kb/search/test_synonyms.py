"""The operations vocabulary: how on-call engineers say things finds the articles written in other words,
on both backends, and staff can extend it."""

import pytest

from kb.models import SearchSynonym
from kb.search import parse_query, search
from kb.search.synonyms import default_groups, parse_terms, synonym_expand, synonyms_apply, synonyms_changed
from kb.services import article_create, system_upsert

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _reload_groups():
    synonyms_changed()
    yield
    synonyms_changed()


@pytest.fixture
def corpus(db):
    system, _ = system_upsert(slug="ops", name="Ops")
    made = {}
    for key, title, body in [
        ("segv", "Worker dies with a segmentation fault", "The native extension crashes the worker process."),
        ("hung", "Bash is hung", "The console stops taking input; capture a memory dump."),
        ("oom", "Pods evicted when out of memory", "Raise the memory limit of the deployment."),
        ("k8s", "Kubernetes nodes not ready", "The kubelet lost its certificate."),
        ("clip", "Clipboard does not work in the terminal", "Enable the shared clipboard option."),
        ("disk", "Disk quota warnings", "Clean old artefacts from the build cache."),
    ]:
        made[key] = article_create(system=system, title=title, body=body, summary="", tags=[])
    return made


def _top(query: str) -> list[int]:
    return [hit.article.pk for hit in search(query, highlight=False).hits[:3]]


def test_the_defaults_are_seeded_by_the_migration():
    stored = set(SearchSynonym.objects.values_list("terms", flat=True))
    assert set(default_groups()) <= stored
    assert any("segfault" in terms and "segmentation fault" in terms for terms in stored)


@pytest.mark.parametrize(("query", "key"), [
    ("segfault in worker", "segv"),
    ("bash window frozen", "hung"),
    ("OOM pods", "oom"),
    ("k8s nodes", "k8s"),
    ("copy paste terminal", "clip"),
])
def test_how_on_call_engineers_say_it_finds_the_article(corpus, query, key):
    assert corpus[key].pk in _top(query)


def test_exact_words_still_rank_their_article_first(corpus):
    assert _top("segmentation fault")[0] == corpus["segv"].pk
    assert _top("Bash is hung")[0] == corpus["hung"].pk
    assert _top("disk quota")[0] == corpus["disk"].pk


def test_quoted_phrases_are_not_expanded():
    query = synonyms_apply(parse_query('"segfault" crash'))
    assert all(("segfault",) not in group for group in query.groups)


def test_a_group_matches_through_any_one_alternative_not_all():
    query = synonyms_apply(parse_query("pod OOM"))
    assert "oom" not in query.terms and "pod" in query.terms
    assert query.groups and ("out", "of", "memory") in query.groups[0]


def test_a_phrase_said_in_words_is_found_longest_first():
    found = synonym_expand(["worker", "ran", "out", "of", "memory"])
    assert [(f.start, f.end) for f in found] == [(2, 5)]
    assert ("oom",) in found[0].alternatives


def test_staff_can_add_a_group(corpus):
    assert corpus["disk"].pk not in _top("sonatype")
    SearchSynonym.objects.create(terms="sonatype, build cache")
    synonyms_changed()
    assert corpus["disk"].pk in _top("sonatype")


def test_terms_are_parsed_as_words_and_phrases():
    assert parse_terms("OOM,  Out of memory ,, oom") == [("oom",), ("out", "of", "memory")]


def test_admin_lists_and_adds_synonyms(client, staff_user, password):
    staff_user.is_superuser = True
    staff_user.save()
    client.login(username=staff_user.username, password=password)
    assert client.get("/admin/kb/searchsynonym/").status_code == 200
    response = client.post("/admin/kb/searchsynonym/add/", {"terms": "pager, on call", "note": ""})
    assert response.status_code == 302
    assert SearchSynonym.objects.filter(terms="pager, on call").exists()
