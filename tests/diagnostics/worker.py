"""A real Celery worker (in a thread) consuming a private queue on the real Redis."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connection

from config.celery import app as celery_app


def _close_db_connection(**kwargs: object) -> None:
    # The worker thread opens its own connection; close it so the test database can be dropped later.
    connection.close()


@contextmanager
def celery_worker_on_private_queue() -> Iterator[str]:
    """Route every task of this process to a fresh queue and consume it with a real worker."""
    if not os.environ.get("REDIS_URL") or not str(celery_app.conf.broker_url).startswith("redis"):
        pytest.fail("this test needs a real Redis broker: set REDIS_URL (the SQLite run deselects it with "
                    "-m 'not integration')")
    queue = f"triage-test-{uuid.uuid4().hex[:10]}"
    saved = celery_app.conf.task_always_eager, celery_app.conf.task_default_queue
    celery_app.conf.task_always_eager = False
    # A private queue: other test processes' workers on the same Redis database cannot take our tasks.
    celery_app.conf.task_default_queue = queue
    task_postrun.connect(_close_db_connection, weak=False)
    try:
        with start_worker(celery_app, pool="solo", concurrency=1, perform_ping_check=False, queues=[queue],
                          loglevel="WARNING", shutdown_timeout=60):
            yield queue
    finally:
        task_postrun.disconnect(_close_db_connection)
        celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = saved


def wait_until(condition: Callable[[], bool], *, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)
