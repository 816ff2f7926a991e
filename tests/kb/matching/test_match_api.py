"""`POST /api/v1/match/`: JSON text or a multipart file in, ranked symptoms out; bad input is a clear 4xx."""

import gzip

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from kb import matching
from kb.models import Signature, Symptom, SymptomSolution
from tests.factories import ArticleFactory, SignatureFactory, SolutionFactory, SymptomFactory, SystemFactory

URL = "/api/v1/match/"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_matcher():
    matching.matcher_reset()
    yield
    matching.matcher_reset()


@pytest.fixture
def redis_symptom():
    system = SystemFactory(name="Agent Factory", slug="agent-factory")
    symptom = SymptomFactory(system=system, title="Agents can't reach Redis", severity="high")
    SignatureFactory(symptom=symptom, text="Error 111 connecting to localhost:6379")
    solution = SolutionFactory(system=system, title="Start Redis", steps="1. `docker compose up -d redis`\n",
                               resolved_count=3)
    SymptomSolution.objects.create(symptom=symptom, solution=solution)
    symptom.articles.add(ArticleFactory(system=system, title="Agents can't communicate"))
    return symptom


def test_json_text_returns_the_matched_symptom_with_lines_solutions_and_articles(api_client, redis_symptom):
    text = "worker started\nredis.exceptions.ConnectionError: Error 111 connecting to redis-0:6380. Connection refused.\n"
    response = api_client.post(URL, {"text": text}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["truncated"] is False and body["unknown"] == []
    [match] = body["matches"]
    assert match["symptom"] == {"id": redis_symptom.pk, "title": "Agents can't reach Redis", "severity": "high"}
    assert match["system"]["slug"] == "agent-factory"
    assert match["line_count"] == 1 and match["line_numbers"] == [2]
    line = match["lines"][0]
    assert line["number"] == 2 and line["before"] == ["worker started"]
    start, end = line["highlight"]
    # The host:port token is variable as a whole, with the full stop that ends it.
    assert line["text"][start:end] == "Error 111 connecting to redis-0:6380."
    assert [s["title"] for s in match["solutions"]] == ["Start Redis"]
    assert match["solutions"][0]["resolved_count"] == 3
    [article] = match["articles"]
    assert article["title"] == "Agents can't communicate" and article["url"].startswith("http://testserver/")


def test_a_published_decision_tree_for_the_symptom_is_offered(api_client, redis_symptom):
    from trees.models import DecisionTree

    draft = DecisionTree.objects.create(system=redis_symptom.system, slug="draft", title="Draft tree",
                                        status=DecisionTree.Status.DRAFT)
    tree = DecisionTree.objects.create(system=redis_symptom.system, slug="redis-down", title="Redis is down")
    draft.symptoms.add(redis_symptom)
    tree.symptoms.add(redis_symptom)

    [match] = api_client.post(URL, {"text": "Error 111 connecting to 10.0.0.3:6379"}, format="json").json()["matches"]

    offered = match["decision_tree"]
    assert (offered["id"], offered["title"]) == (tree.pk, "Redis is down")


def test_a_gzip_upload_is_matched_like_text(api_client, redis_symptom):
    upload = SimpleUploadedFile("worker.log.gz", gzip.compress(b"ok\nError 111 connecting to 10.0.0.3:6379\n"),
                                content_type="application/gzip")
    response = api_client.post(URL, {"file": upload}, format="multipart")

    assert response.status_code == 200
    assert response.json()["matches"][0]["line_numbers"] == [2]


def test_unknown_error_lines_are_reported_as_templates(api_client, redis_symptom):
    text = "\n".join(f"2025-06-01 10:00:0{n} ERROR [sync] ledger batch {n} rejected by upstream" for n in range(3))
    response = api_client.post(URL, {"text": text}, format="json")

    [group] = response.json()["unknown"]
    assert group["count"] == 3 and group["first_line"] == 1
    assert group["example"] == "ledger batch 0 rejected by upstream"


def test_anonymous_match_over_the_anonymous_limit_is_a_413(api_client, settings):
    settings.TRIAGE_ANONYMOUS_UPLOAD_MAX_BYTES = 1024
    text = "Error 111 connecting to 10.1.1.1:6379\n" * 60_000  # ~2.3 MB, over 1 kB + the envelope
    response = api_client.post(URL, {"text": text}, format="json")
    assert response.status_code == 413
    assert response.json()["error"] == "request_too_large"


@pytest.mark.parametrize("payload", [{"text": ""}, {"text": "  \n "}, {}, {"text": 42}])
def test_empty_or_missing_text_is_a_400(api_client, payload):
    response = api_client.post(URL, payload, format="json")

    assert response.status_code == 400
    assert response.json()["status"] == 400 and response.json()["detail"]


def test_a_binary_upload_is_a_400_saying_so(api_client):
    upload = SimpleUploadedFile("core.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16, content_type="image/png")
    response = api_client.post(URL, {"file": upload}, format="multipart")

    assert response.status_code == 400
    assert "binary" in response.json()["detail"]


def test_a_broken_json_body_is_a_400(api_client):
    response = api_client.post(URL, b'{"text": "unterminated', content_type="application/json")

    assert response.status_code == 400


def test_a_single_ten_megabyte_line_is_answered_with_a_notice(api_client, redis_symptom, user):
    api_client.force_login(user)  # anonymous callers may send only TRIAGE_ANONYMOUS_UPLOAD_MAX_BYTES
    text = "A" * (10 * 1024 * 1024) + "\nError 111 connecting to 10.1.1.1:6379\n"
    response = api_client.post(URL, {"text": text}, format="json")

    body = response.json()
    assert response.status_code == 200
    assert body["matches"][0]["line_numbers"] == [2]
    assert any("longer than 64 kB" in notice for notice in body["notices"])


def test_an_upload_with_nul_bytes_and_invalid_utf8_is_matched_with_notices(api_client, redis_symptom):
    data = b"boot ok\n" * 20 + b"caf\xe9 \x00Error 111 connecting to 10.1.1.1:6379\n"
    response = api_client.post(URL, {"file": SimpleUploadedFile("odd.log", data)}, format="multipart")

    body = response.json()
    assert response.status_code == 200
    assert body["matches"][0]["line_numbers"] == [21]
    assert "1 NUL byte was ignored." in body["notices"]
    assert any("not valid UTF-8" in notice for notice in body["notices"])


def test_text_over_the_limit_is_cut_with_a_notice(api_client, settings, redis_symptom):
    settings.TRIAGE_MATCH_MAX_BYTES = 2000
    text = "padding line\n" * 500 + "Error 111 connecting to localhost:6379\n"
    response = api_client.post(URL, {"text": text}, format="json")

    body = response.json()
    assert response.status_code == 200
    assert body["truncated"] is True and body["bytes_read"] == 2000 and body["matches"] == []
    assert any("only the first" in notice for notice in body["notices"])


def test_a_request_declared_larger_than_the_limit_is_refused_with_413(api_client, settings):
    settings.TRIAGE_MATCH_MAX_BYTES = 1000
    response = api_client.post(URL, {"text": "x" * (1024 * 1024 + 2000)}, format="json")

    assert response.status_code == 413
    assert response.json()["error"] == "request_too_large"


def test_matching_changes_nothing_stored(api_client, redis_symptom):
    counts = (Symptom.objects.count(), Signature.objects.count())

    api_client.post(URL, {"text": "Error 111 connecting to localhost:6379\nERROR brand new failure"}, format="json")

    assert (Symptom.objects.count(), Signature.objects.count()) == counts


def test_anyone_may_match_when_reading_is_public_and_a_read_key_is_enough(api_client, read_key, redis_symptom):
    assert api_client.post(URL, {"text": "x connecting"}, format="json").status_code == 200

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {read_key}")
    assert api_client.post(URL, {"text": "x connecting"}, format="json").status_code == 200


def test_anonymous_matching_is_refused_when_reading_needs_a_login(api_client, settings):
    settings.TRIAGE_PUBLIC_READ = False

    response = api_client.post(URL, {"text": "database is locked"}, format="json")

    assert response.status_code in (401, 403)


def test_the_endpoint_is_in_the_openapi_schema(api_client):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/json")

    schema = response.json() if response["Content-Type"].startswith("application/json") else None
    if schema is None:
        import yaml

        schema = yaml.safe_load(response.content)
    operation = schema["paths"]["/api/v1/match/"]["post"]
    assert set(operation["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert "200" in operation["responses"] and "413" in operation["responses"]
