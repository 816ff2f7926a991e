"""Every check type against real loopback targets, in every state it can reach."""

import dataclasses
import ipaddress
import os

import psutil
import psycopg
import pytest

from diagnostics.engine import run_sync
from diagnostics.probes.context import AddressRefused, VettedResolver
from diagnostics.probes.http import BODY_LIMIT
from diagnostics.stub_server import StubHTTPServer
from diagnostics.targets import Allowlist, Resolver

from .conftest import POSTGRES_URL, REDIS_CHECK_URL
from .stubs import tls_server

# --- HTTP ---------------------------------------------------------------------------------------------


def test_http_ok_when_status_and_json_body_conditions_hold(run_check, http_stub):
    result = run_check("http", f"{http_stub.url}/health",
                       conditions=["[STATUS] == 200", "[BODY].json.components.database == healthy",
                                   "[HEADER].x-service == agent-factory", "len([BODY].json.agents) == 2"])
    assert result.state == "ok", result.message
    assert result.message.startswith("HTTP 200 in")
    assert result.evidence["status_line"] == "HTTP/1.1 200 OK"
    assert '"status": "healthy"' in result.evidence["body_excerpt"]
    assert all(c["passed"] for c in result.evidence["conditions"])
    assert result.metrics[0]["name"] == "response_time" and result.metrics[0]["unit"] == "ms"


def test_http_critical_when_a_condition_fails_names_the_condition(run_check, http_stub):
    result = run_check("http", f"{http_stub.url}/health", conditions=["[BODY].json.components.redis == healthy"])
    assert result.state == "critical"
    assert result.message == "condition failed: [BODY].json.components.redis == healthy (got unhealthy)"


def test_http_critical_on_server_error_with_default_conditions(run_check, http_stub):
    result = run_check("http", f"{http_stub.url}/broken")
    assert result.state == "critical"
    assert "(got 500)" in result.message


def test_http_warning_when_response_time_crosses_the_warning_threshold(run_check, slow_http_stub):
    result = run_check("http", f"{slow_http_stub.url}/health", warning=100, critical=5000)
    assert result.state == "warning"
    assert "response time" in result.message and "warning threshold 100 ms" in result.message
    assert result.metrics[0]["warn"] == 100 and result.metrics[0]["crit"] == 5000


def test_http_critical_when_response_time_crosses_the_critical_threshold(run_check, slow_http_stub):
    assert run_check("http", f"{slow_http_stub.url}/health", warning=50, critical=100).state == "critical"


def test_http_unknown_not_critical_when_nothing_listens(run_check, free_port):
    result = run_check("http", f"http://127.0.0.1:{free_port}/health", retries=2)
    assert result.state == "unknown"
    assert result.attempts == 3
    assert "(3 attempts)" in result.message
    assert len(result.evidence["failed_attempts"]) == 3


def test_http_unknown_after_timeout(run_check, slow_http_stub):
    result = run_check("http", f"{slow_http_stub.url}/health", timeout=0.1)
    assert result.state == "unknown"
    assert "timeout" in result.message


def test_http_follows_redirects_only_when_asked(run_check, http_stub):
    assert run_check("http", f"{http_stub.url}/moved").state == "ok"  # 302 < 400
    followed = run_check("http", f"{http_stub.url}/moved", parameters={"follow_redirects": True},
                         conditions=["[STATUS] == 200", "[BODY].json.status == healthy"])
    assert followed.state == "ok"
    assert len(followed.evidence["redirects"]) == 2


def test_http_redirect_to_a_host_outside_the_allowlist_is_refused(run_check, http_stub):
    result = run_check("http", f"{http_stub.url}/away", parameters={"follow_redirects": True})
    assert result.state == "unknown"
    assert result.message.startswith("target not allowed: 10.1.2.3")


def test_http_sends_method_headers_and_body(run_check, http_stub, monkeypatch):
    monkeypatch.setenv("TRIAGE_SECRET_TEST_TOKEN", "s3cret-token-value")
    result = run_check("http", f"{http_stub.url}/health",
                       parameters={"method": "POST", "body": '{"ping": 1}',
                                   "headers": {"Authorization": "env:TRIAGE_SECRET_TEST_TOKEN", "X-Trace": "t1"}})
    assert result.state == "ok"
    method, target, headers = http_stub.requests[-1]
    assert (method, target) == ("POST", "/health")
    assert headers["authorization"] == "s3cret-token-value"
    assert headers["x-trace"] == "t1"
    assert headers["host"] == f"127.0.0.1:{http_stub.port}"


def test_http_uses_the_name_for_the_host_header_but_connects_to_the_vetted_address(run_check, http_stub):
    assert run_check("http", f"http://localhost:{http_stub.port}/health").state == "ok"
    assert http_stub.requests[-1][2]["host"] == f"localhost:{http_stub.port}"


def test_http_evidence_hides_cookies(run_check, http_stub):
    result = run_check("http", f"{http_stub.url}/cookie")
    assert result.evidence["headers"]["set-cookie"] == "[redacted]"


def test_http_reads_at_most_the_body_limit_and_says_it_cut_the_rest(run_check, http_stub):
    http_stub.routes["/huge"] = (200, {"Content-Type": "text/plain"}, b"x" * (BODY_LIMIT + 300_000))
    result = run_check("http", f"{http_stub.url}/huge", conditions=["[STATUS] == 200"])
    assert result.state == "ok", result.message
    assert result.evidence["body_truncated_at_bytes"] == BODY_LIMIT
    assert next(m for m in result.metrics if m["name"] == "body_size")["value"] == BODY_LIMIT
    assert result.evidence["body_excerpt"].endswith(f"... [{BODY_LIMIT - 2000} more characters]")
    # The half-read connection is not reused: the next check on the same stub still gets a clean answer.
    assert run_check("http", f"{http_stub.url}/health").evidence["status_line"] == "HTTP/1.1 200 OK"


def test_http_client_can_only_reach_the_vetted_address_of_a_name():
    resolver = Resolver(Allowlist.from_entries(["127.0.0.0/8"]))
    answers = {"svc.internal": [ipaddress.ip_address("127.0.0.1")],
               "evil.internal": [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("10.0.0.5")]}

    async def fake_resolve(host: str) -> list:
        return answers[host]

    resolver.resolve = fake_resolve
    vetted = VettedResolver(resolver)

    async def scenario() -> tuple[list, str]:
        allowed = await vetted.resolve("svc.internal", 8080)
        try:
            await vetted.resolve("evil.internal", 8080)
        except AddressRefused as exc:
            return allowed, str(exc)
        return allowed, ""

    allowed, refusal = run_sync(scenario)  # not asyncio.run: a browser test may leave a loop running
    assert [(a["hostname"], a["host"], a["port"]) for a in allowed] == [("svc.internal", "127.0.0.1", 8080)]
    assert refusal.startswith("target not allowed: evil.internal resolves to 10.0.0.5")


# --- HTTPS and TLS ------------------------------------------------------------------------------------


def test_https_with_untrusted_certificate_is_critical_when_verifying(run_check):
    with tls_server(days_valid=90) as server:
        result = run_check("http", f"https://localhost:{server.port}/health")
    assert result.state == "critical"
    assert result.message.startswith("TLS verification failed")
    # The reason is OpenSSL's own words about the certificate, not a generic connection error.
    assert result.evidence["tls_error"] and result.message == f"TLS verification failed: {result.evidence['tls_error']}"
    assert "certificate" in result.evidence["tls_error"] or "issuer" in result.evidence["tls_error"]


def test_https_without_verification_reads_body_and_certificate_expiry(run_check):
    with tls_server(days_valid=90) as server:
        result = run_check("http", f"https://localhost:{server.port}/health", parameters={"verify_tls": False},
                           conditions=["[STATUS] == 200", "[CERTIFICATE_EXPIRATION] > 60d"])
    assert result.state == "ok", result.message
    assert "localhost" in result.evidence["certificate"]["subject"] or result.evidence["certificate"]["subject"]


def test_tls_ok_when_certificate_has_long_to_live(run_check):
    with tls_server(days_valid=365) as server:
        result = run_check("tls", f"localhost:{server.port}", warning=30, critical=7)
    assert result.state == "ok", result.message
    assert "certificate valid for" in result.message
    assert result.metrics[0]["name"] == "days_until_expiry"


def test_tls_warning_when_expiry_is_inside_the_warning_window(run_check):
    with tls_server(days_valid=10) as server:
        result = run_check("tls", f"127.0.0.1:{server.port}", warning=30, critical=7)
    assert result.state == "warning"
    assert "below the warning threshold 30 days" in result.message


def test_tls_critical_when_certificate_has_expired(run_check):
    with tls_server(days_valid=-1) as server:
        result = run_check("tls", f"localhost:{server.port}")
    assert result.state == "critical"
    assert "[CERTIFICATE_EXPIRATION] > 0" in result.message


def test_tls_unknown_when_nothing_listens(run_check, free_port):
    assert run_check("tls", f"127.0.0.1:{free_port}").state == "unknown"


# --- TCP ----------------------------------------------------------------------------------------------


def test_tcp_ok_when_port_accepts(run_check, http_stub):
    result = run_check("tcp", f"localhost:{http_stub.port}")
    assert result.state == "ok"
    assert result.evidence["result"] == "connected"


def test_tcp_warning_when_connect_time_crosses_threshold(run_check, http_stub):
    result = run_check("tcp", f"127.0.0.1:{http_stub.port}", warning=0)
    assert result.state == "warning"


def test_tcp_critical_when_port_is_closed(run_check, free_port):
    result = run_check("tcp", f"127.0.0.1:{free_port}")
    assert result.state == "critical"
    assert result.message == "condition failed: [CONNECTED] == true (got false)"


def test_tcp_unknown_when_name_does_not_resolve(run_check):
    result = run_check("tcp", "db.invalid:5432")
    assert result.state == "unknown"
    assert "does not resolve" in result.message


# --- DNS ----------------------------------------------------------------------------------------------


def test_dns_ok_when_name_resolves(run_check, dns_stub):
    result = run_check("dns", "api.ok.test", parameters={"nameserver": "127.0.0.1", "port": dns_stub.port},
                       conditions=["[DNS_RCODE] == NOERROR", "[BODY] == 127.0.0.1"])
    assert result.state == "ok", result.message
    assert result.evidence["answers"] == ["127.0.0.1"]


def test_dns_warning_when_resolution_is_slow_by_threshold(run_check, dns_stub):
    result = run_check("dns", "api.ok.test", parameters={"nameserver": "127.0.0.1", "port": dns_stub.port},
                       warning=0)
    assert result.state == "warning"


def test_dns_critical_for_a_name_that_does_not_exist(run_check, dns_stub):
    result = run_check("dns", "missing.test", parameters={"nameserver": "127.0.0.1", "port": dns_stub.port})
    assert result.state == "critical"
    assert "NXDOMAIN" in result.message


def test_dns_invalid_tld_is_nxdomain_without_asking_a_server(run_check):
    result = run_check("dns", "nothing.invalid")
    assert result.state == "critical"
    assert result.evidence["rcode"] == "NXDOMAIN"


def test_dns_unknown_when_the_server_does_not_answer(run_check, free_port):
    result = run_check("dns", "api.ok.test", parameters={"nameserver": "127.0.0.1", "port": free_port},
                       timeout=0.3)
    assert result.state == "unknown"


def test_dns_server_outside_the_allowlist_is_refused(run_check):
    result = run_check("dns", "example.test", parameters={"nameserver": "192.0.2.53"})
    assert result.state == "unknown"
    assert result.message.startswith("target not allowed")


# --- PostgreSQL ---------------------------------------------------------------------------------------


def test_postgres_ok_with_read_only_query(run_check):
    result = run_check("postgres", POSTGRES_URL, parameters={"query": "SELECT 1 AS one"},
                       conditions=["[VALUE] == 1", "[BODY].json[0].one == 1"])
    assert result.state == "ok", result.message
    assert result.evidence["rows"] == [{"one": 1}]
    assert result.evidence["server_version"] > 0


def test_postgres_warning_when_query_value_crosses_threshold(run_check):
    result = run_check("postgres", POSTGRES_URL, parameters={"query": "SELECT 5"}, warning=3, critical=10)
    assert result.state == "warning"
    assert "query result 5 is above the warning threshold 3" in result.message


def test_postgres_critical_when_query_exceeds_statement_timeout(run_check):
    result = run_check("postgres", POSTGRES_URL,
                       parameters={"query": "SELECT pg_sleep(2)", "statement_timeout_ms": 100})
    assert result.state == "critical"
    assert "statement timeout" in result.message


def test_postgres_session_is_read_only(run_check):
    result = run_check("postgres", POSTGRES_URL, parameters={"query": "CREATE TABLE triage_should_not_exist (a int)"})
    assert result.state == "unknown"
    assert "read-only transaction" in result.message


def test_postgres_query_cannot_leave_its_read_only_transaction():
    from diagnostics.engine import EngineSettings, run_specs_sync
    from diagnostics.models import Check
    from diagnostics.services import check_spec_build

    escape = "COMMIT; SET default_transaction_read_only = off; COMMIT; CREATE TABLE triage_should_not_exist_2 (a int)"
    # Validation refuses several statements; the probe must hold even for a row written around it.
    check = Check(name="t", slug="t", type="postgres", target=POSTGRES_URL, parameters={"query": escape},
                  conditions=[], retries=0)
    spec = dataclasses.replace(check_spec_build(check), invalid="")
    result = run_specs_sync([spec], EngineSettings.from_settings())[0]
    assert result.state == "unknown"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        exists = connection.execute("SELECT to_regclass('triage_should_not_exist_2')").fetchone()[0]
        connection.execute("DROP TABLE IF EXISTS triage_should_not_exist_2")
    assert exists is None


def test_postgres_unknown_when_nothing_listens(run_check, free_port):
    result = run_check("postgres", f"127.0.0.1:{free_port}", retries=1)
    assert result.state == "unknown"
    assert "cannot connect to PostgreSQL" in result.message


# --- Redis --------------------------------------------------------------------------------------------


def test_redis_ok_on_ping(run_check):
    result = run_check("redis", REDIS_CHECK_URL, conditions=["[BODY] == PONG"])
    assert result.state == "ok", result.message
    assert result.evidence["ping"] == "PONG"


def test_redis_warning_on_info_field_threshold(run_check):
    result = run_check("redis", REDIS_CHECK_URL, parameters={"info_field": "connected_clients"}, warning=0)
    assert result.state == "warning"
    assert result.evidence["info"]["connected_clients"] >= 1


def test_redis_critical_when_info_condition_fails(run_check):
    result = run_check("redis", REDIS_CHECK_URL, parameters={"info_field": "redis_mode"},
                       conditions=["[VALUE] == cluster"])
    assert result.state == "critical"
    assert "(got standalone)" in result.message


def test_redis_unknown_when_nothing_listens(run_check, free_port):
    assert run_check("redis", f"127.0.0.1:{free_port}").state == "unknown"


# --- disk and memory ----------------------------------------------------------------------------------


def test_disk_states_follow_thresholds(run_check, tmp_path):
    used = psutil.disk_usage(str(tmp_path)).percent
    assert run_check("disk", str(tmp_path), warning=100, critical=100).state == "ok"
    assert run_check("disk", str(tmp_path), warning=used / 2, critical=100).state == "warning"
    result = run_check("disk", str(tmp_path), warning=0, critical=used / 2)
    assert result.state == "critical"
    assert "disk used" in result.message


def test_disk_unknown_for_missing_path(run_check, tmp_path):
    result = run_check("disk", str(tmp_path / "nope"))
    assert result.state == "unknown"


def test_memory_states_follow_thresholds(run_check):
    assert run_check("memory", warning=100, critical=100).state == "ok"
    assert run_check("memory", warning=0, critical=100).state == "warning"
    assert run_check("memory", warning=0, critical=0).state == "critical"


def test_memory_unknown_when_it_cannot_be_read(run_check, monkeypatch):
    def broken() -> None:
        raise OSError("no /proc")

    monkeypatch.setattr(psutil, "virtual_memory", broken)
    assert run_check("memory").state == "unknown"


# --- log file -----------------------------------------------------------------------------------------


@pytest.fixture
def log_file(tmp_path, settings):
    settings.TRIAGE_CHECK_ALLOWED_PATHS = [str(tmp_path)]
    path = tmp_path / "app.log"
    lines = [f"2025-06-01 10:00:{i:02d} INFO request ok" for i in range(50)]
    lines += ["2025-06-01 10:01:00 ERROR connect ECONNREFUSED 127.0.0.1:6379"] * 3
    path.write_text("\n".join(lines) + "\n")
    return path


def test_logfile_counts_matches_in_the_last_lines(run_check, log_file):
    result = run_check("logfile", str(log_file), parameters={"pattern": r"ERROR .*ECONNREFUSED", "lines": 20},
                       warning=1, critical=5)
    assert result.state == "warning"
    assert result.message.startswith("matching lines 3 is above the warning threshold 1")
    assert len(result.evidence["last_matches"]) == 3


def test_logfile_ok_and_critical(run_check, log_file):
    assert run_check("logfile", str(log_file), parameters={"pattern": "FATAL"}, warning=0).state == "ok"
    assert run_check("logfile", str(log_file), parameters={"pattern": "ERROR"}, critical=2).state == "critical"


def test_logfile_only_sees_the_last_n_lines(run_check, log_file):
    result = run_check("logfile", str(log_file), parameters={"pattern": "INFO", "lines": 10})
    assert result.evidence["matching_lines"] == 7
    assert result.evidence["lines_scanned"] == 10


def test_logfile_unknown_for_missing_file_and_outside_allowed_paths(run_check, log_file):
    assert run_check("logfile", str(log_file.parent / "missing.log"), parameters={"pattern": "x"}).state == "unknown"
    result = run_check("logfile", "/etc/passwd", parameters={"pattern": "root"})
    assert result.state == "unknown"
    assert "outside TRIAGE_CHECK_ALLOWED_PATHS" in result.message


def test_logfile_follows_symlinks_before_checking_the_allowed_paths(run_check, log_file):
    link = log_file.parent / "sneaky.log"
    os.symlink("/etc/hostname", link)
    assert run_check("logfile", str(link), parameters={"pattern": "."}).state == "unknown"


# --- engine -------------------------------------------------------------------------------------------


def test_engine_runs_checks_concurrently(run_check):
    from diagnostics.engine import EngineSettings, conditions_for, run_specs_sync
    from diagnostics.probes.base import CheckSpec
    from diagnostics.targets import Allowlist

    with StubHTTPServer(latency=0.2) as server:
        specs = [CheckSpec(id=i, name=str(i), type="http", target=f"{server.url}/health", parameters={},
                           conditions=conditions_for("http", [])) for i in range(20)]
        import time

        started = time.perf_counter()
        results = run_specs_sync(specs, EngineSettings(allowlist=Allowlist.from_entries(["127.0.0.1/32"]),
                                                       concurrency=20))
        elapsed = time.perf_counter() - started
    assert [r.state for r in results] == ["ok"] * 20
    assert elapsed < 20 * 0.2 / 2  # far below the serial time
