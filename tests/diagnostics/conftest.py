import os

import pytest

from diagnostics.engine import CheckResult, EngineSettings, run_specs_sync
from diagnostics.models import Check
from diagnostics.services import check_spec_build
from diagnostics.stub_server import StubHTTPServer
from diagnostics.validation import check_validation_errors

from .stubs import StubDNSServer, closed_port

# The real servers on this machine (CI runs them on loopback too).
POSTGRES_URL = os.environ.get("TRIAGE_TEST_PG_CHECK_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_CHECK_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def http_stub():
    routes = {
        "/health": (200, {"Content-Type": "application/json", "X-Service": "agent-factory"},
                    b'{"status": "healthy", "components": {"database": "healthy", "redis": "unhealthy"}, '
                    b'"agents": [{"name": "coder"}, {"name": "tester"}]}'),
        "/broken": (500, {"Content-Type": "text/plain"}, b"internal error"),
        "/moved": (302, {"Location": "/health"}, b""),
        "/away": (302, {"Location": "http://10.1.2.3/health"}, b""),
        "/cookie": (200, {"Set-Cookie": "session=abc123", "Content-Type": "text/plain"}, b"ok"),
    }
    with StubHTTPServer(routes=routes) as server:
        yield server


@pytest.fixture
def slow_http_stub():
    with StubHTTPServer(latency=0.3) as server:
        yield server


@pytest.fixture
def dns_stub():
    with StubDNSServer() as server:
        yield server


@pytest.fixture
def free_port() -> int:
    return closed_port()


@pytest.fixture
def run_check():
    """Validate a check as saving would, then run it on the engine (no database needed)."""

    def _run(type: str, target: str = "", *, parameters: dict | None = None, conditions: list | None = None,
             warning: float | None = None, critical: float | None = None, timeout: float = 3.0,
             retries: int = 0) -> CheckResult:
        check = Check(name="t", slug="t", type=type, target=target, parameters=parameters or {},
                      conditions=conditions or [], warning_threshold=warning, critical_threshold=critical,
                      timeout_seconds=timeout, retries=retries)
        errors = check_validation_errors(check)
        assert not errors, errors
        return run_specs_sync([check_spec_build(check)], EngineSettings.from_settings())[0]

    return _run
