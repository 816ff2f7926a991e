"""The knowledge base side: checks on system, article and symptom pages, dependencies, the symptom hook."""

import pytest

from diagnostics.models import Check, CheckRun
from diagnostics.services import check_create, check_runs_queue
from kb.check_links import runs_explained, system_checks_ordered
from tests.factories import ArticleFactory, SignatureFactory, SymptomFactory, SystemFactory

from .stubs import closed_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def systems(http_stub):
    """ARES depends on Postgres-ish "Database"; the database's port is closed, ARES's API answers 500."""
    database = SystemFactory(name="Database", slug="database")
    ares = SystemFactory(name="ARES", slug="ares")
    ares.depends_on.add(database)
    db_port = check_create(name="Database port", slug="db-port", type="tcp", target=f"127.0.0.1:{closed_port()}")
    api = check_create(name="ARES API", slug="ares-api", type="http", target=f"{http_stub.url}/broken")
    database.checks.add(db_port)
    ares.checks.add(api)
    return ares, database


def test_system_checks_are_ordered_dependency_first(systems):
    ares, database = systems
    ordered = system_checks_ordered(ares)
    assert [(system.slug, [c.slug for c in checks]) for system, checks in ordered] == [
        ("database", ["db-port"]), ("ares", ["ares-api"])]


def test_dependency_cycles_do_not_loop(systems):
    ares, database = systems
    database.depends_on.add(ares)
    assert {s.slug for s, _ in system_checks_ordered(ares)} == {"ares", "database"}


def test_system_page_shows_checks_and_run_button(client, user, systems):
    ares, _ = systems
    anonymous = client.get(ares.get_absolute_url()).content.decode()
    assert "ARES API" in anonymous and "Log in</a> to run these checks" in anonymous
    client.force_login(user)
    body = client.get(ares.get_absolute_url()).content.decode()
    assert "Run checks" in body and f"/systems/{ares.slug}/checks/run/" in body


def test_running_a_systems_checks_explains_failures_by_critical_dependency(client, user, systems,
                                                                             django_capture_on_commit_callbacks):
    ares, _ = systems
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/systems/{ares.slug}/checks/run/")
    assert response.status_code == 302
    page = client.get(response["Location"])
    body = page.content.decode()
    assert [t.name for t in page.templates][0] == "kb/check_results.html"
    assert body.index("Database port") < body.index("ARES API")  # dependency first
    assert "probably caused by" in body and '>Database</a> (CRITICAL)' in body
    runs = list(CheckRun.objects.select_related("check_def"))
    explained = {e.run.check_def.slug: e for e in runs_explained(runs)}
    assert explained["ares-api"].probable_cause.slug == "database"
    assert explained["db-port"].probable_cause is None


def test_htmx_run_returns_result_fragment_that_polls_until_done(client, user, systems):
    ares, _ = systems
    client.force_login(user)
    response = client.post(f"/systems/{ares.slug}/checks/run/", HTTP_HX_REQUEST="true")  # not executed yet
    assert [t.name for t in response.templates][0] == "diagnostics/partials/run_batch.html"
    body = response.content.decode()
    assert 'hx-trigger="every 1s"' in body and "Running 2 of 2 checks" in body
    batch = CheckRun.objects.first().batch
    assert f"/check-results/{batch}/" in body
    from diagnostics.services import check_runs_execute

    check_runs_execute(run_ids=list(CheckRun.objects.values_list("pk", flat=True)))
    assert f"/check-results/{batch}/?system=ares" in body
    done = client.get(f"/check-results/{batch}/?system=ares", HTTP_HX_REQUEST="true")
    assert "every 1s" not in done.content.decode()  # polling stops
    assert "HX-Request" in done["Vary"]
    api = Check.objects.get(slug="ares-api")
    # The system page's own badge for its check is refreshed out of band; the dependency's is not on it.
    assert f'id="check-badge-{api.pk}" hx-swap-oob="true"' in done.content.decode()
    assert done.content.decode().count("hx-swap-oob") == 1


def test_dependency_currently_critical_explains_failures_even_if_not_in_the_batch(user, systems):
    ares, database = systems
    Check.objects.filter(slug="db-port").update(current_state="critical")
    api = Check.objects.get(slug="ares-api")
    from diagnostics.services import check_runs_execute

    _batch, runs = check_runs_queue(checks=[api])
    check_runs_execute(run_ids=[runs[0].pk])
    explained = runs_explained(list(CheckRun.objects.select_related("check_def")))
    assert explained[0].probable_cause == database


def test_running_needs_login_and_a_system_without_checks_says_so(client, user):
    empty = SystemFactory(slug="empty")
    assert client.post(f"/systems/{empty.slug}/checks/run/").status_code == 302
    client.force_login(user)
    response = client.post(f"/systems/{empty.slug}/checks/run/", HTTP_HX_REQUEST="true")
    assert "No checks are linked here yet" in response.content.decode()
    assert client.post("/systems/nope/checks/run/").status_code == 404
    assert client.get("/systems/empty/checks/run/").status_code == 405
    assert not CheckRun.objects.exists()


def test_article_and_symptom_runs_include_their_checks(client, user, http_stub, django_capture_on_commit_callbacks):
    article = ArticleFactory()
    symptom = SymptomFactory(system=article.system)
    symptom.articles.add(article)
    own = check_create(name="Article check", slug="article-check", type="http", target=f"{http_stub.url}/health")
    via_symptom = check_create(name="Symptom check", slug="symptom-check", type="memory")
    article.checks.add(own)
    symptom.checks.add(via_symptom)
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/systems/{article.system.slug}/{article.slug}/checks/run/")
    assert response.status_code == 302
    assert set(CheckRun.objects.values_list("check_def__slug", flat=True)) == {"article-check", "symptom-check"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/symptoms/{symptom.pk}/checks/run/")
    assert CheckRun.objects.filter(check_def=via_symptom).count() == 2


def test_logfile_check_matches_a_knowledge_base_symptom(run_check, tmp_path, settings):
    settings.TRIAGE_CHECK_ALLOWED_PATHS = [str(tmp_path)]
    symptom = SymptomFactory(title="Redis refused")
    SignatureFactory(symptom=symptom, kind="literal", text="ECONNREFUSED 127.0.0.1:6379")
    SignatureFactory(symptom=symptom, kind="pattern", text=r"redis.*connection (refused|reset)")
    log = tmp_path / "api.log"
    log.write_text("ok\nError: connect ECONNREFUSED 127.0.0.1:6379\nredis: connection reset by peer\nfine\n")
    result = run_check("logfile", str(log), parameters={"symptom": symptom.pk}, warning=1)
    assert result.state == "warning"
    assert result.evidence["matching_lines"] == 2
    assert result.evidence["matched_by"] == f"symptom {symptom.pk}"
    missing = run_check("logfile", str(log), parameters={"symptom": 999999})
    assert missing.state == "unknown" and "not known to the knowledge base" in missing.message
