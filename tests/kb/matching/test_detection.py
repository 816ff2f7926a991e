"""System detection: a paste names a system by its name or by components only that system's articles name
(containers, hosts, files, environment variables); ambiguous evidence detects nothing."""

from collections import Counter

import pytest

from kb.matching.detection import (
    component_mentions,
    components_learn,
    pieces,
    system_decide,
    system_evidence,
    system_names,
)
from kb.matching.retrieval import retrieval_reset, system_detect
from kb.services import article_create, system_upsert

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_index():
    retrieval_reset()
    yield
    retrieval_reset()


@pytest.fixture
def systems(db):
    ledger, _ = system_upsert(slug="ledger", name="Ledger")
    shop, _ = system_upsert(slug="storefront", name="Storefront")
    article_create(system=ledger, title="Workers fail to start", summary="", tags=[], status="published",
                   body="Check the worker:\n\n```\ndocker compose logs billing-worker\n"
                        "curl http://vault-primary:8200/v1/sys/health\n```\n\nThen restart `billing-worker`.")
    article_create(system=ledger, title="Settlement job stuck", summary="", tags=[], status="published",
                   body="Look at `/srv/ledger/settle_batch.py` and the `LEDGER_DB_URL` setting; "
                        "`settle_batch.py` retries forever when vault-primary:8200 is sealed. Check `LEDGER_DB_URL`.")
    article_create(system=shop, title="Checkout is slow", summary="", tags=[], status="published",
                   body="```\ncurl http://cart-cache:6379\nkubectl logs deploy/checkout-web\n```\n"
                        "Scale `checkout-web` and look at cart-cache:6379. Also restart the worker.")
    return ledger, shop


def test_a_container_host_or_file_only_one_system_names_detects_it(systems):
    assert system_detect("billing-worker-1 exited with code 1") == "ledger"
    assert system_detect("dial tcp: lookup vault-primary on 10.0.0.2:53: no such host") == "ledger"
    assert system_detect('File "/opt/app/settle_batch.py", line 3\nKeyError: x') == "ledger"
    assert system_detect("checkout-web-7d9f8b6c5-2xkq9 0/1 CrashLoopBackOff") == "storefront"


def test_evidence_for_two_systems_without_a_clear_margin_detects_none(systems):
    assert system_detect("billing-worker-1 could not reach cart-cache:6379") is None
    assert system_detect("the worker failed to start") is None  # "worker" is in both systems' articles


def test_a_component_needs_two_mentions_and_must_be_absent_from_other_systems():
    learnt = components_learn([
        (1, component_mentions("docker compose logs api-gateway\nkubectl logs api-gateway"), set()),
        (1, component_mentions("see once-only.conf"), set()),
        (2, component_mentions("curl http://search-node:9200 ; curl http://search-node:9200"),
         pieces("the api-gateway of system two")),
    ])
    assert "once-only.conf" not in learnt
    assert "api-gateway" not in learnt  # system 2's prose names it too
    assert learnt["search-node"] == 2


def test_exception_names_are_not_components():
    named = component_mentions("psycopg2.OperationalError twice psycopg2.OperationalError and my_service.conf")
    assert "psycopg2.operationalerror" not in named
    assert named["my_service.conf"] == 1


def test_a_name_counts_more_than_one_component():
    evidence = system_names([(1, "ledger", "Ledger", []), (2, "storefront", "Storefront", [])])
    evidence.components = {"cart-cache": 2, "checkout-web": 2}
    assert system_decide(evidence, system_evidence(evidence, "ledger: cart-cache timed out")) == "ledger"
    assert system_decide(evidence, system_evidence(evidence, "ledger: cart-cache, checkout-web down")) is None
    assert system_decide(evidence, system_evidence(evidence, "cart-cache, checkout-web down")) == "storefront"
    assert system_decide(evidence, Counter()) is None


def test_a_split_identifier_shares_its_weight_unless_a_part_is_said_alone():
    from kb.matching.tokens import error_tokens, identifier_shares

    shares = identifier_shares("sqlalchemy.exc.OperationalError: connection refused at api_server.py")
    assert shares["exc"] < 1.0 and shares["sqlalchemy.exc.operationalerror"] < 1.0
    assert shares.get("refus", 1.0) == 1.0
    assert identifier_shares("api_server.py failed; the server is down")["server"] == 1.0
    assert "ares-app" in error_tokens("ares-app-1 exited with code 1")


def test_an_alias_staff_gave_a_system_detects_it_and_an_edit_takes_effect_at_once(db):
    from kb.matching.retrieval import system_detect
    from tests.factories import SystemFactory

    payments = SystemFactory(name="Payments", slug="payments")
    SystemFactory(name="Search", slug="search")
    line = "2026-03-01T10:22:06Z ERROR upstream pay-gw-7.internal timed out after 30000ms"
    assert system_detect(line) is None
    payments.aliases = "  pay-gw-7.internal \n\nledger-db\n"
    payments.save()
    assert payments.alias_list == ["pay-gw-7.internal", "ledger-db"]
    assert system_detect(line) == "payments"
