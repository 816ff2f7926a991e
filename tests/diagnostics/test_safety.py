"""A check cannot be turned into a request forger, and secrets never leave the worker."""

import asyncio
import json

import pytest
from django.core.exceptions import ValidationError

from diagnostics.models import Check
from diagnostics.services import check_create
from diagnostics.targets import Allowlist, Resolver, TargetNotAllowed, TargetUnresolvable

pytestmark = pytest.mark.django_db


def vet(entries: list[str], host: str) -> str:
    return str(asyncio.run(Resolver(Allowlist.from_entries(entries)).vet(host)))


def test_default_allowlist_is_loopback_only(settings):
    assert settings.TRIAGE_CHECK_ALLOWED_TARGETS == ["127.0.0.0/8", "::1", "localhost"]
    default = ["127.0.0.0/8", "::1", "localhost"]
    assert vet(default, "127.0.0.1") == "127.0.0.1"
    assert vet(default, "127.9.9.9") == "127.9.9.9"
    assert vet(default, "localhost").startswith("127.")
    for host in ("10.0.0.1", "169.254.169.254", "192.168.1.1", "::ffff:10.0.0.1", "0.0.0.0"):
        with pytest.raises(TargetNotAllowed, match="target not allowed"):
            vet(default, host)


def test_a_listed_host_name_allows_exactly_its_addresses():
    assert vet(["localhost"], "127.0.0.1") == "127.0.0.1"
    with pytest.raises(TargetNotAllowed):
        vet(["localhost"], "127.0.0.2")


def test_every_resolved_address_must_be_allowed(monkeypatch):
    async def two_answers(self, host: str) -> list:
        import ipaddress

        return [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("10.0.0.7")]

    monkeypatch.setattr(Resolver, "resolve", two_answers)
    with pytest.raises(TargetNotAllowed, match="10.0.0.7"):
        vet(["127.0.0.0/8"], "split-horizon.example")


def test_ipv4_mapped_loopback_counts_as_loopback():
    assert vet(["127.0.0.0/8"], "::ffff:127.0.0.1") == "::ffff:7f00:1"


def test_invalid_tld_never_resolves():
    with pytest.raises(TargetUnresolvable):
        vet(["127.0.0.0/8"], "anything.invalid")


def test_disallowed_target_gives_unknown_with_target_not_allowed(run_check, settings, http_stub):
    settings.TRIAGE_CHECK_ALLOWED_TARGETS = ["10.0.0.0/8"]
    result = run_check("http", f"{http_stub.url}/health")
    assert result.state == "unknown"
    assert result.message.startswith("target not allowed: 127.0.0.1")
    assert http_stub.requests == []  # nothing was sent


def test_cidr_in_allowlist_admits_its_range(run_check, settings, http_stub):
    settings.TRIAGE_CHECK_ALLOWED_TARGETS = ["127.0.0.1/32"]
    assert run_check("http", f"{http_stub.url}/health").state == "ok"


@pytest.mark.parametrize("target, parameters, field", [
    ("http://admin:hunter2@localhost:8080/health", {}, "target"),
    ("postgresql://postgres:hunter2@127.0.0.1:5432/postgres", {}, "target"),
    ("127.0.0.1:5432", {"password": "hunter2"}, "parameters"),
])
def test_literal_secrets_are_refused_at_save_time(target, parameters, field):
    check_type = "http" if target.startswith("http") else "postgres"
    with pytest.raises(ValidationError) as error:
        check_create(name="x", slug="x", type=check_type, target=target, parameters=parameters)
    assert field in error.value.message_dict
    assert "env" in " ".join(error.value.message_dict[field])


def test_secret_header_must_be_an_env_reference():
    with pytest.raises(ValidationError) as error:
        check_create(name="x", slug="x", type="http", target="http://localhost/",
                     parameters={"headers": {"Authorization": "Bearer abc"}})
    assert "headers.Authorization" in str(error.value)


def test_env_referenced_secret_is_used_but_never_shown(run_check, monkeypatch, client, staff_user, http_stub):
    monkeypatch.setenv("TRIAGE_SECRET_TEST_X", "very-secret-token-987")
    http_stub.routes["/echo"] = lambda method, target, headers, body: (
        200, {"Content-Type": "text/plain"}, f"you sent {headers.get('x-api-key')}".encode())
    check = check_create(name="Echo", slug="echo", type="http", target=f"{http_stub.url}/echo",
                         parameters={"headers": {"X-Api-Key": "env:TRIAGE_SECRET_TEST_X"}},
                         conditions=["[BODY] == pat(*very-secret*)"])
    from diagnostics.services import check_runs_execute, check_runs_queue

    _batch, runs = check_runs_queue(checks=[check])
    check_runs_execute(run_ids=[runs[0].pk])
    run = runs[0].__class__.objects.get(pk=runs[0].pk)
    assert run.state == "ok"  # the server did receive the secret...
    stored = json.dumps({"message": run.message, "evidence": run.evidence})
    assert "very-secret-token-987" not in stored  # ...but it is not in what we keep
    assert "[redacted]" in stored

    client.force_login(staff_user)
    for url in (f"/diagnostics/runs/{run.pk}/", f"/diagnostics/checks/{check.pk}/", f"/api/v1/check-runs/{run.pk}/",
                f"/api/v1/checks/{check.pk}/", "/diagnostics/checks/export.yml"):
        body = client.get(url).content.decode()
        assert "very-secret-token-987" not in body, url
    assert "env:TRIAGE_SECRET_TEST_X" in client.get(f"/api/v1/checks/{check.pk}/").content.decode()


def test_missing_env_secret_is_unknown(run_check, http_stub):
    result = run_check("http", f"{http_stub.url}/health", parameters={"headers": {"Authorization": "env:TRIAGE_SECRET_NOT_SET_X"}})
    assert result.state == "unknown"
    assert result.message == "environment variable TRIAGE_SECRET_NOT_SET_X is not set on the worker"


def test_there_is_no_command_check_type():
    with pytest.raises(ValidationError) as error:
        check_create(name="x", slug="x", type="shell", target="rm -rf /")
    assert "type" in error.value.message_dict
    assert not Check.objects.exists()


@pytest.mark.parametrize("name", ["DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "PGPASSWORD", "TRIAGE_SECRET_"])
def test_a_check_may_not_reference_settings_variables(name):
    for target, parameters in ((f"env:{name}", {}), ("postgresql://localhost/x", {"password": f"env:{name}"})):
        with pytest.raises(ValidationError) as error:
            check_create(name="x", slug="x", type="postgres", target=target, parameters=parameters)
        assert "TRIAGE_SECRET_*" in str(error.value)
    assert not Check.objects.exists()


def test_a_settings_variable_is_refused_at_run_time_too(monkeypatch, http_stub):
    from diagnostics.engine import EngineSettings, run_specs_sync
    from diagnostics.services import check_spec_build

    monkeypatch.setenv("DATABASE_URL", "postgres://app:hunter22@db/app")
    # Saved before the prefix rule existed (or written straight into the table): no validation on the way.
    check = Check(name="t", slug="t", type="http", target=f"{http_stub.url}/health", retries=0,
                  parameters={"headers": {"X-Api-Key": "env:DATABASE_URL"}}, conditions=[])
    result = run_specs_sync([check_spec_build(check)], EngineSettings.from_settings())[0]
    assert result.state == "unknown"
    assert "TRIAGE_SECRET_*" in result.message
    assert "hunter22" not in json.dumps(result.evidence)


def test_url_user_info_never_reaches_evidence(run_check, http_stub):
    host = http_stub.url.split("://", 1)[1]
    result = run_check("http", f"http://alice-token-42@{host}/health")
    stored = json.dumps({"message": result.message, "evidence": result.evidence})
    assert result.state == "ok", result.message
    assert "alice-token-42" not in stored
    assert "[redacted]@" in stored
