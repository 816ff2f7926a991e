"""An engineer opens a system page, clicks "Run checks" and watches the states arrive without a reload."""

import pytest
from playwright.sync_api import expect

from diagnostics.services import check_create
from diagnostics.stub_server import StubHTTPServer
from tests.diagnostics.stubs import closed_port
from tests.diagnostics.worker import celery_worker_on_private_queue
from tests.factories import SystemFactory


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_run_checks_from_a_system_page_and_watch_results_arrive(page, login, user, password):
    database = SystemFactory(name="Agent DB", slug="agent-db")
    system = SystemFactory(name="Agent Factory", slug="agent-factory")
    system.depends_on.add(database)
    # The health endpoint answers slowly, so the pending state is visible before the result replaces it.
    with StubHTTPServer(latency=1.5) as stub, celery_worker_on_private_queue():
        health = check_create(name="Agent Factory health", slug="af-health", type="http",
                              target=f"{stub.url}/health",
                              conditions=["[STATUS] == 200", "[BODY].json.components.database == healthy"])
        port = check_create(name="Agent DB port", slug="agent-db-port", type="tcp",
                            target=f"127.0.0.1:{closed_port()}")
        system.checks.add(health)
        database.checks.add(port)

        login(user.username, password)
        page.goto("/systems/agent-factory/")
        checks = page.locator(".system-checks")
        expect(checks).to_contain_text("Agent Factory health")
        expect(checks).to_contain_text("not run")
        page.evaluate("window.__stillSamePage = true")

        checks.get_by_role("button", name="Run checks").click()
        results = page.locator("#system-check-results")
        expect(results).to_contain_text("Running")  # queued/running first...
        expect(results.locator('[data-check="agent-db-port"][data-state="critical"]')).to_be_visible()
        expect(results.locator('[data-check="af-health"][data-state="ok"]')).to_be_visible(timeout=15_000)
        expect(results).to_contain_text("Done: 2 checks")  # ...then polling stops
        expect(checks.locator(f"#check-badge-{health.pk}")).to_have_text("OK")  # the list's badge too

        # The dependency's check is listed first; the page never reloaded.
        slugs = results.locator("[data-check]").evaluate_all("items => items.map(i => i.dataset.check)")
        assert slugs == ["agent-db-port", "af-health"]
        assert page.evaluate("window.__stillSamePage") is True
        expect(results.get_by_text("condition failed: [CONNECTED] == true (got false)")).to_be_visible()
