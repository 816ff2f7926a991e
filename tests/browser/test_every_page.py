"""Every page a signed-in staff member reaches from the home page within two clicks, on a phone and a desktop:
no sideways scroll, no console error, no 5xx, no request to another host and no serious or critical
accessibility violation (axe-core, from npm, injected into each page). Screenshots go to var/screenshots/
so a person can look at them."""

import shutil
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import Resolver404, resolve
from django.utils import timezone
from playwright.sync_api import expect

from diagnostics.engine import CheckResult
from diagnostics.models import CheckRun
from diagnostics.services import check_create, check_runs_record
from incidents.models import ActionItem, PostIncidentReview, Severity
from incidents.services.lifecycle import incident_open
from incidents.services.severities import severities_ensure_defaults
from kb.models import System

pytestmark = pytest.mark.django_db(transaction=True)

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
# Same-origin links that are not pages: downloads, machine-readable answers, Django's own admin.
NOT_PAGES = ("/admin/", "/api/schema/", "/api/v1/", "/static/", "/media/", "/health/", "/accounts/logout/")
NOT_PAGE_SUFFIXES = (".yml", ".yaml", "/yaml/", "/export/")
# Swagger UI and Redoc are packaged third-party apps: every other check applies to them, axe does not.
AXE_SKIPS = ("/api/docs/", "/api/redoc/")
PAGES_PER_ROUTE = 2  # fifty article links test nothing fifty separate pages would not


def starter_subset(tmp_path: Path) -> Path:
    """Two starter systems (articles, checks, decision trees): every kind of page, loaded in seconds."""
    content = Path(settings.BASE_DIR) / "kb" / "content"
    target = tmp_path / "content"
    for slug in ("ares", "triage"):
        shutil.copytree(content / slug, target / slug)
    return target


def record_runs(check, states: list[str]) -> None:
    for number, state in enumerate(states):
        run = CheckRun.objects.create(check_def=check, trigger=CheckRun.Trigger.MONITOR)
        check_runs_record(outcomes=[(run, CheckResult(state=state, message=f"run {number}: {state}",
                                                      duration_ms=10.0 + number))])


@pytest.fixture
def on_call_site(tmp_path, staff_user):
    """Starter content plus what an on-call day leaves behind: an open incident, a failing monitor, an action item."""
    call_command("load_starter_content", "--dir", str(starter_subset(tmp_path)), verbosity=0)
    severities_ensure_defaults()
    system = System.objects.get(slug="ares")
    incident = incident_open(
        title="ARES API answers 503 after the deploy", system=system,
        severity=Severity.objects.get(slug="critical"), reporter=staff_user,
        what_happened="curl localhost:8000/health returns 503; the log says connection refused to PostgreSQL.",
    )
    review = PostIncidentReview.objects.create(incident=incident)
    ActionItem.objects.create(review=review, title="Alert on the connection pool", owner=staff_user,
                              due_date=timezone.now().date())
    monitor = check_create(name="ARES database port", slug="ares-db-monitor", type="tcp", target="127.0.0.1:9",
                           interval_seconds=60, created_by=staff_user)
    record_runs(monitor, ["ok"] * 6 + ["critical"] * 4)
    return {"incident": incident, "monitor": monitor}


def page_links(page, base: str) -> list[str]:
    hrefs = page.locator("a[href]").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    found = []
    for href in hrefs:
        url = urljoin(page.url, href)
        parts = urlsplit(url)
        if not url.startswith(base) or parts.path.startswith(NOT_PAGES) or parts.path.endswith(NOT_PAGE_SUFFIXES):
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def route_of(path: str) -> str:
    try:
        return resolve(urlsplit(path).path).route
    except Resolver404:
        return path


class PageProblems:
    """Listens to one page and collects what must never happen on it."""

    def __init__(self, page, base: str) -> None:
        self.errors: list[str] = []
        host = urlsplit(base).hostname
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(f"console: {msg.text}"))
        page.on("pageerror", lambda exc: self.errors.append(f"script error: {exc}"))
        page.on("response", lambda r: r.status >= 500 and self.errors.append(f"{r.status} from {r.url}"))
        page.on("request", lambda r: urlsplit(r.url).scheme in ("http", "https")
                and urlsplit(r.url).hostname != host and self.errors.append(f"third-party request {r.url}"))

    def take(self) -> list[str]:
        found, self.errors = self.errors, []
        return found


def audit(page, path: str, problems: PageProblems, shot: Path) -> list[str]:
    response = page.goto(path)
    page.wait_for_load_state("networkidle")
    found = problems.take()
    if response is None or response.status >= 500:
        found.append(f"status {response.status if response else 'none'}")
    sideways = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    if sideways > 0:
        wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .slice(0, 3).map(e => e.tagName + '.' + e.className)""")
        found.append(f"scrolls sideways by {sideways}px: {wide}")
    if path.startswith(AXE_SKIPS):
        page.screenshot(path=str(shot), full_page=True)
        return found
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations']});
        return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '));
    }""")
    found += [f"axe {v}" for v in violations]
    page.screenshot(path=str(shot), full_page=True)
    return found


def test_every_page_within_two_clicks_of_home_fits_works_and_is_accessible(
        browser, live_server, on_call_site, staff_user, password):
    assert AXE.exists(), "axe-core comes from npm (make setup)"
    failures: list[str] = []
    for name, viewport in VIEWPORTS.items():
        # bypass_csp: the test injects axe-core into each page, which the Content-Security-Policy forbids.
        context = browser.new_context(base_url=live_server.url, viewport=viewport, bypass_csp=True)
        page = context.new_page()
        page.set_default_timeout(15_000)
        problems = PageProblems(page, live_server.url)
        page.goto("/accounts/login/")
        page.fill("input[name=username]", staff_user.username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        problems.take()

        shots = SCREENSHOTS / name
        shots.mkdir(parents=True, exist_ok=True)
        seen: set[str] = set()
        per_route: dict[str, int] = {}
        queue = [("/", 0)]
        while queue:
            path, depth = queue.pop(0)
            route = route_of(path)
            if path in seen or per_route.get(route, 0) >= PAGES_PER_ROUTE:
                continue
            seen.add(path)
            per_route[route] = per_route.get(route, 0) + 1
            slug = path.strip("/").replace("/", "_").replace("?", "_").replace("&", "_").replace("=", "-") or "home"
            for problem in audit(page, path, problems, shots / f"{slug[:120]}.png"):
                failures.append(f"{name} {path}: {problem}")
            if depth < 2:
                queue += [(link, depth + 1) for link in page_links(page, live_server.url) if link not in seen]
        context.close()
        assert len(seen) > 20, f"only {len(seen)} pages reached on {name}"
    assert not failures, "\n".join(failures)


def test_cockpit_shows_a_live_sla_countdown_and_a_failing_monitors_heartbeat(page, login, on_call_site,
                                                                          staff_user, password):
    login(staff_user.username, password)
    page.goto("/")
    incidents = page.locator(".cockpit-incidents")
    expect(incidents).to_contain_text("ARES API answers 503 after the deploy")
    countdown = incidents.locator("time[data-countdown]").first
    expect(countdown).to_be_visible()
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first, timeout=3_000)  # it ticks without a reload

    monitors = page.locator(".cockpit-monitors")
    expect(monitors).to_contain_text("ARES database port")
    bar = monitors.locator(".heartbeat").first
    expect(bar).to_be_visible()
    expect(bar.locator(".beat-critical")).to_have_count(4)
    assert "run 9: critical" in bar.locator(".beat-critical").last.get_attribute("title")
