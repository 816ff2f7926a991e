"""YAML import/export: exact round trips, idempotent re-imports, all-or-nothing errors, commands."""

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from diagnostics.models import Check
from diagnostics.yaml_io import ChecksImportError, checks_export_yaml, checks_import_yaml

pytestmark = pytest.mark.django_db

DOCUMENT = """\
checks:
- slug: agent-factory-health
  name: Agent Factory health
  description: The API's own health report
  type: http
  target: http://localhost:8080/health
  parameters:
    method: GET
    headers:
      Authorization: env:TRIAGE_SECRET_AGENT_FACTORY_TOKEN
  conditions:
  - '[STATUS] == 200'
  - '[BODY].json.components.database == healthy'
  timeout: 2.5
  warning: 500
  critical: 2000
  interval: 60
  failure_threshold: 3
- slug: root-disk
  name: Root disk
  type: disk
  target: /
  warning: 80
  critical: 90
"""


def test_export_import_export_is_byte_identical():
    checks_import_yaml(DOCUMENT)
    first = checks_export_yaml()
    Check.objects.all().delete()
    report = checks_import_yaml(first)
    assert sorted(report.created) == ["agent-factory-health", "root-disk"]
    assert checks_export_yaml() == first


def test_import_keeps_every_field():
    checks_import_yaml(DOCUMENT)
    check = Check.objects.get(slug="agent-factory-health")
    assert check.parameters == {"method": "GET", "headers": {"Authorization": "env:TRIAGE_SECRET_AGENT_FACTORY_TOKEN"}}
    assert check.conditions == ["[STATUS] == 200", "[BODY].json.components.database == healthy"]
    assert (check.timeout_seconds, check.warning_threshold, check.critical_threshold) == (2.5, 500, 2000)
    assert (check.interval_seconds, check.failure_threshold, check.success_threshold) == (60, 3, 1)
    disk = Check.objects.get(slug="root-disk")
    assert disk.timeout_seconds == 5.0 and disk.enabled is True and disk.interval_seconds is None


def test_reimporting_unchanged_file_changes_nothing():
    checks_import_yaml(DOCUMENT)
    stamps = dict(Check.objects.values_list("slug", "updated_at"))
    report = checks_import_yaml(DOCUMENT)
    assert report.created == [] and report.updated == []
    assert sorted(report.unchanged) == ["agent-factory-health", "root-disk"]
    assert dict(Check.objects.values_list("slug", "updated_at")) == stamps


def test_changed_check_is_updated_in_place():
    checks_import_yaml(DOCUMENT)
    pk = Check.objects.get(slug="root-disk").pk
    report = checks_import_yaml(DOCUMENT.replace("warning: 80", "warning: 85"))
    assert report.updated == ["root-disk"]
    assert Check.objects.get(pk=pk).warning_threshold == 85


@pytest.mark.parametrize("text, message", [
    ("checks: [", "not valid YAML at line"),
    ("checks: nope", "expected a list"),
    ("stuff: []", "unexpected top-level keys"),
    ("checks:\n- slug: a\n  name: A\n", "missing type"),
    ("checks:\n- slug: a\n  name: A\n  type: disk\n  target: /\n  colour: red\n", "unknown keys colour"),
    ("checks:\n- {slug: a, name: A, type: disk, target: /}\n- {slug: a, name: B, type: disk, target: /}\n", "appears twice"),
    ("checks:\n- {slug: a, name: A, type: http, target: 'http://x/', conditions: ['[STATUS] >> 1']}\n", "conditions: condition 1"),
])
def test_bad_documents_are_refused_with_a_reason(text, message):
    with pytest.raises(ChecksImportError) as error:
        checks_import_yaml(text)
    assert any(message in e for e in error.value.errors), error.value.errors


def test_one_bad_check_means_nothing_is_saved():
    text = DOCUMENT + "- slug: broken\n  name: Broken\n  type: tcp\n  target: no-port-here\n"
    with pytest.raises(ChecksImportError, match="broken"):
        checks_import_yaml(text)
    assert not Check.objects.exists()


def test_management_commands_round_trip(tmp_path: Path):
    source = tmp_path / "checks.yml"
    source.write_text(DOCUMENT)
    out = io.StringIO()
    call_command("import_checks", str(source), stdout=out)
    assert "created 2, updated 0, unchanged 0" in out.getvalue()
    exported = tmp_path / "exported.yml"
    call_command("export_checks", "--output", str(exported))
    Check.objects.all().delete()
    call_command("import_checks", str(exported), stdout=io.StringIO())
    again = io.StringIO()
    call_command("export_checks", stdout=again)
    assert again.getvalue() == exported.read_text()
    only = io.StringIO()
    call_command("export_checks", "--slug", "root-disk", stdout=only)
    assert "agent-factory" not in only.getvalue()


def test_import_command_reports_errors_without_a_traceback(tmp_path: Path):
    bad = tmp_path / "bad.yml"
    bad.write_text("checks:\n- slug: x\n  name: X\n  type: http\n  target: ftp://x\n")
    with pytest.raises(CommandError, match="nothing imported"):
        call_command("import_checks", str(bad))
    with pytest.raises(CommandError, match="cannot read"):
        call_command("import_checks", str(tmp_path / "missing.yml"))
