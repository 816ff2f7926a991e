"""Real processes for the worker fault tests: a private redis-server, a Celery worker, a silent listener."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.1,
               log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{tail}")
        time.sleep(interval)


@contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    """A private redis-server on a free loopback port (killing it or its clients hurts no one else)."""
    if shutil.which("redis-server") is None:
        pytest.fail("worker fault tests need redis-server on PATH")
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", LOOPBACK, "--save", "", "--appendonly", "no",
         "--dir", str(workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def answers() -> bool:
            with closing(socket.socket()) as sock:
                sock.settimeout(0.5)
                try:
                    sock.connect((LOOPBACK, port))
                    sock.sendall(b"PING\r\n")
                    return sock.recv(16).startswith(b"+PONG")
                except OSError:
                    return False

        wait_until(answers, timeout=10, what="redis-server")
        yield f"redis://{LOOPBACK}:{port}/0"
    finally:
        process.kill()
        process.wait(timeout=10)


@contextmanager
def silent_listener() -> Iterator[int]:
    """A loopback port that completes TCP handshakes and never answers: a probe against it blocks."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind((LOOPBACK, 0))
        sock.listen(64)  # never accept(): the kernel queues the connections, nobody reads or writes
        yield sock.getsockname()[1]


def database_url_for_workers() -> str:
    """The URL of the database this test process uses (the test database), for a worker process."""
    db = connection.settings_dict
    assert db["ENGINE"].endswith("postgresql"), "worker fault tests run on PostgreSQL"
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or LOOPBACK}:{db['PORT'] or 5432}/{db['NAME']}"


class WorkerProcess:
    """`celery worker` as a real child process (solo pool: the task runs in this very process)."""

    def __init__(self, *, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "INFO",
             "--hostname", f"reaper-fault-{os.getpid()}@%h", "--without-heartbeat", "--without-mingle",
             "--without-gossip"],
            cwd=settings.BASE_DIR, env={**os.environ, **env}, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        """SIGKILL: no cleanup, no ack, no time-limit handler; exactly an OOM kill or a lost machine."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None
