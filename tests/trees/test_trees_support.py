"""Shared builders for the decision-tree tests: a small system with articles, checks on loopback, a tree.

(Named test_* so it sits with the files it serves; it holds fixtures and no tests.)
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from diagnostics.services import check_create
from kb.markdown import render_markdown
from kb.models import Solution, Symptom, System
from tests.factories import ArticleFactory, SystemFactory
from trees import services

TREE_YAML = """\
slug: api-down
title: The shop API is down
system: shop
status: published
description: |
  For when the shop API stops answering.
  Start here before paging anyone.
symptoms:
- Connection refused on the API port
entry: running
nodes:
- key: running
  kind: question
  title: Is the API process running?
  prompt: Run `systemctl status shop-api` and look at the Active line.
  answers:
  - label: Yes
    next: port
  - label: No
    next: start
- key: start
  kind: instruction
  title: Start the service
  prompt: |
    Start it and watch the log:

    ```bash
    systemctl start shop-api
    ```
  next: port
- key: port
  kind: check
  title: Does the API port accept connections?
  check: shop-api-port
  branches:
    OK: fixed-config
    WARNING: slow
    CRITICAL: firewall
    UNKNOWN: escalate
- key: firewall
  kind: solution
  title: Open the port in the firewall
  article: firewall-rules
  next: escalate
- key: fixed-config
  kind: solution
  title: Reload the configuration
  solution: Reload the API configuration
  next: escalate
- key: slow
  kind: solution
  title: Restart the slow worker pool
  article: firewall-rules
  next: escalate
- key: escalate
  kind: escalate
  title: Call the shop on-call engineer
  severity: sev2
"""


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A loopback port that accepts connections (the kernel completes the handshake from the backlog)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]


@pytest.fixture
def shop(db) -> System:
    """The system the sample tree belongs to, with what the tree refers to (check on a closed port)."""
    system = SystemFactory(name="Shop", slug="shop")
    ArticleFactory(system=system, title="Firewall rules", slug="firewall-rules")
    Symptom.objects.create(system=system, title="Connection refused on the API port")
    Solution.objects.create(system=system, title="Reload the API configuration", steps="1. Reload it.\n",
                            steps_html=render_markdown("1. Reload it.\n").html)
    check_create(name="Shop API port", slug="shop-api-port", type="tcp", target=f"127.0.0.1:{closed_port()}",
                 retries=0, timeout_seconds=2)
    return system


@pytest.fixture
def tree(shop):
    return services.tree_import_yaml(text=TREE_YAML, note="test").tree


def aim_check(target: str, **fields) -> None:
    """Point the sample tree's check somewhere else (OK: a listening port, UNKNOWN: outside the allowlist)."""
    from diagnostics.models import Check
    from diagnostics.services import check_update

    check_update(check=Check.objects.get(slug="shop-api-port"), target=target, **fields)
