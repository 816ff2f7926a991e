"""Every operation in the OpenAPI schema, driven with generated requests (schemathesis), anonymously, with a
read key and with an admin key: no 5xx anywhere, and every documented response matches its schema.

Examples per operation are bounded so the whole run stays around a minute; the database rolls back after
each example's test, so generated writes do not pile up.
"""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from accounts.services import api_key_create
from tests.factories import ArticleFactory, SystemFactory, UserFactory

EXAMPLES_PER_OPERATION = 3


@pytest.fixture
def api_schema(db):
    # Requests go through the real WSGI handler, which closes "old" database connections when a request
    # ends; inside the test's transaction that would close the test's own connection (as Django's test
    # client knows, so it does the same as here).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def auth_headers(who: str) -> dict:
    if who == "anonymous":
        return {}
    if who == "read":
        key = api_key_create(user=UserFactory(), scopes=["read"])[1]
    else:
        key = api_key_create(user=UserFactory(is_staff=True), scopes=["admin"])[1]
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize("who", ["anonymous", "read", "admin"])
def test_every_api_operation_answers_without_5xx_and_matches_its_schema(api_schema, who, settings):
    settings.RATELIMIT_ENABLE = False  # rate limits answer 429 by design; here every request must reach the view
    SystemFactory(slug="gateway")
    ArticleFactory()
    headers = auth_headers(who)
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                             suppress_health_check=list(HealthCheck), phases=[Phase.generate])
        def drive(case) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error, response_schema_conformance])

        try:
            drive()
        except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure, then report them together
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc).strip()[:600]}")
    assert operations > 40
    assert not failures, f"{len(failures)} operations failed as {who}:\n" + "\n\n".join(failures)
