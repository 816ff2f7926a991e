"""The starter checks shipped in kb/content/<system>/_checks.yml."""

from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from django.conf import settings

from diagnostics.models import Check
from diagnostics.targets import split_host_port
from kb.check_links import starter_checks_import
from tests.factories import SystemFactory

pytestmark = pytest.mark.django_db

CONTENT = Path(settings.BASE_DIR) / "kb" / "content"
SYSTEMS = ["agent-factory", "ares", "claude-flow", "coordinaitor", "orchestrator", "triage"]


def test_every_seed_system_and_triage_ships_checks_on_localhost_only():
    for slug in SYSTEMS:
        document = yaml.safe_load((CONTENT / slug / "_checks.yml").read_text())
        assert document["checks"], slug
        for item in document["checks"]:
            target = item.get("target", "")
            if target.startswith("env:"):
                continue  # the address comes from the workers' environment, not from us
            if item["type"] in ("http",):
                host = urlsplit(target).hostname
            elif item["type"] in ("tcp", "tls"):
                host = split_host_port(target)[0]
            else:
                continue
            assert host in ("localhost", "127.0.0.1"), (slug, item["slug"])


def test_no_starter_http_check_asks_triage_own_port_for_another_system():
    """Triage listens on 8000 by default; another system's check there would always get Triage's answer."""
    for slug in SYSTEMS:
        if slug == "triage":
            continue
        for item in yaml.safe_load((CONTENT / slug / "_checks.yml").read_text())["checks"]:
            if item["type"] == "http" and not item["target"].startswith("env:"):
                assert urlsplit(item["target"]).port != 8000, (slug, item["slug"])


def test_starter_checks_import_links_checks_and_is_idempotent():
    systems = {slug: SystemFactory(slug=slug, name=slug.title()) for slug in SYSTEMS}
    lines = starter_checks_import(directory=CONTENT)
    assert len(lines) == len(SYSTEMS) and all("linked to" in line for line in lines)
    health = Check.objects.get(slug="agent-factory-health")
    assert "[BODY].json.components.database == healthy" in health.conditions
    assert list(systems["agent-factory"].checks.order_by("slug").values_list("slug", flat=True))[:2] == [
        "agent-factory-api-port", "agent-factory-chroma"]
    triage = set(systems["triage"].checks.values_list("slug", flat=True))
    assert triage == {"triage-database", "triage-broker", "triage-workers", "triage-disk"}
    assert Check.objects.get(slug="triage-workers").interval_seconds == 60
    count = Check.objects.count()
    again = starter_checks_import(directory=CONTENT)
    assert all(" 0 created, 0 updated" in line for line in again)
    assert Check.objects.count() == count


def test_dry_run_and_missing_systems_save_nothing():
    SystemFactory(slug="ares", name="ARES")
    lines = starter_checks_import(directory=CONTENT, dry_run=True)
    assert any("would import and link to ARES" in line for line in lines)
    assert any("not loaded; skipped" in line for line in lines)
    assert not Check.objects.exists()


def test_ares_health_without_its_url_says_unknown_instead_of_critical(run_check, monkeypatch):
    monkeypatch.delenv("TRIAGE_SECRET_ARES_HEALTH_URL", raising=False)
    item = next(c for c in yaml.safe_load((CONTENT / "ares" / "_checks.yml").read_text())["checks"]
                if c["slug"] == "ares-health")
    result = run_check(type=item["type"], target=item["target"], conditions=item["conditions"])
    assert result.state == "unknown" and "TRIAGE_SECRET_ARES_HEALTH_URL" in result.message
