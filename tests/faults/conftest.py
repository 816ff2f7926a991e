"""Real processes for the fault tests: a private Redis, a private PostgreSQL cluster, gunicorn, a worker.

Nothing here touches the shared PostgreSQL or Redis the rest of the suite uses: each session gets its own
cluster (initdb + pg_ctl on a free loopback port, in a temporary directory, as the `postgres` user when
run as root) and each test its own redis-server, so a test can stop them without hurting anyone.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from common.serving import Gunicorn, free_port, start_gunicorn

LOOPBACK = "127.0.0.1"
MANAGE = [sys.executable, "manage.py"]


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root; drop to the postgres user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@dataclass
class RedisServer:
    port: int
    workdir: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", LOOPBACK, "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            probe = subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True)
            if probe.stdout.strip() == "PONG":
                return
            time.sleep(0.05)
        raise TimeoutError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=5)


@dataclass
class PostgresCluster:
    bin_dir: Path
    data_dir: Path
    socket_dir: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgres://postgres@{LOOPBACK}:{self.port}/triage"

    def pg_ctl(self, *args: str) -> None:
        subprocess.run(_as_postgres([str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), *args]),
                       check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.socket_dir} -c listen_addresses={LOOPBACK} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        self.pg_ctl("start", "-w", "-o", options, "-l", str(self.data_dir.parent / "postgres.log"))

    def stop(self) -> None:
        self.pg_ctl("stop", "-m", "immediate", "-w")

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(host=LOOPBACK, port=self.port, user="postgres", dbname="triage", autocommit=True)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    bin_dir = _postgres_bin()
    if bin_dir is None or shutil.which("redis-server") is None:
        pytest.skip("fault tests need PostgreSQL server binaries and redis-server")
    # Not under pytest's temp dir: that is private to this user, and the cluster runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="triage-faults-pg-"))
    root.chmod(0o755)
    data_dir, socket_dir = root / "data", root / "socket"
    socket_dir.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(socket_dir, "postgres")
    subprocess.run(_as_postgres([str(bin_dir / "initdb"), "-D", str(data_dir), "-U", "postgres", "-A", "trust",
                                 "--no-sync", "-E", "UTF8"]), check=True, capture_output=True, timeout=120)
    cluster = PostgresCluster(bin_dir=bin_dir, data_dir=data_dir, socket_dir=socket_dir, port=free_port())
    cluster.start()
    with psycopg.connect(host=LOOPBACK, port=cluster.port, user="postgres", dbname="postgres",
                         autocommit=True) as conn:
        conn.execute("CREATE DATABASE triage")
    subprocess.run([*MANAGE, "migrate", "--noinput", "-v0"], cwd=settings.BASE_DIR, check=True, timeout=180,
                   env={**os.environ, "DATABASE_URL": cluster.url, "REDIS_URL": ""})
    yield cluster
    with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
        cluster.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def redis_server(tmp_path) -> Iterator[RedisServer]:
    server = RedisServer(port=free_port(), workdir=tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def stack_env(postgres_cluster, redis_server, tmp_path) -> dict[str, str]:
    """What gunicorn and the worker need: the private services, a private var/ and mail into files."""
    (tmp_path / "var").mkdir()
    return {
        "DATABASE_URL": postgres_cluster.url,
        "REDIS_URL": redis_server.url,
        "TRIAGE_VAR_DIR": str(tmp_path / "var"),
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
        "TRIAGE_INCIDENT_NOTIFY_EMAILS": "oncall@example.com",
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_CONN_MAX_AGE": "60",
    }


@pytest.fixture
def web(stack_env, tmp_path) -> Iterator[Gunicorn]:
    server = start_gunicorn(env=stack_env, log_path=tmp_path / "gunicorn.log", workers=1, threads=4)
    yield server
    server.stop()


def manage_shell(env: dict[str, str], code: str) -> str:
    """Run Python inside Django against the private stack; returns what it printed."""
    done = subprocess.run([*MANAGE, "shell", "-c", code], cwd=settings.BASE_DIR, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()
