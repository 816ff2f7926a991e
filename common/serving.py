"""Start Triage under gunicorn on a free loopback port against a scratch database, for the benchmarks that
drive it over HTTP and for the fault tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
from django.conf import settings
from django.db import connections

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, *, timeout: float = 30.0, process: subprocess.Popen | None = None) -> None:
    """Poll `url` until anything answers (any status); fail early if `process` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before answering {url}")
        try:
            httpx.get(url, timeout=2.0)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing answered {url} within {timeout:.0f} s")


@dataclass
class Gunicorn:
    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_gunicorn(*, env: Mapping[str, str], log_path: Path, workers: int = 2, threads: int = 1,
                   timeout: float = 60.0, keep_alive: int = 30) -> Gunicorn:
    """Run `gunicorn config.wsgi` with `env` added to this process's environment; wait until it answers."""
    port = free_port()
    full_env = {**os.environ, **env}
    full_env.setdefault("DJANGO_SECRET_KEY", settings.SECRET_KEY)
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    log = log_path.open("ab")
    process = subprocess.Popen(
        [gunicorn, "config.wsgi", "--bind", f"{LOOPBACK}:{port}", "--workers", str(workers),
         "--threads", str(threads), "--timeout", "60", "--graceful-timeout", "5",
         # Longer than a client's pause between requests, so a reused connection is never closed under it.
         "--keep-alive", str(keep_alive)],
        cwd=settings.BASE_DIR, env=full_env, stdout=log, stderr=subprocess.STDOUT,
    )
    server = Gunicorn(process=process, port=port, log_path=log_path)
    try:
        wait_for_http(f"{server.url}/health/", timeout=timeout, process=process)
    except Exception:
        server.stop()
        raise
    return server


@contextmanager
def scratch_database(*, prefix: str, scratch_dir: Path) -> Iterator[str]:
    """Point the default connection at a new, empty database and yield its URL (for a server process);
    the database is dropped and the connection restored afterwards. PostgreSQL: ``<prefix>_<pid>`` on the
    same server; SQLite: a file in ``scratch_dir``."""
    connection = connections["default"]
    original = dict(connection.settings_dict)
    vendor = connection.vendor
    connection.close()
    params: dict[str, str] = {}
    if vendor == "postgresql":
        import psycopg

        name = f"{prefix}_{os.getpid()}"
        params = {key: str(value) for key, value in {
            "host": original.get("HOST"), "port": original.get("PORT"),
            "user": original.get("USER"), "password": original.get("PASSWORD")}.items() if value}
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')
        auth = quote(str(original.get("USER") or ""), safe="")
        if original.get("PASSWORD"):
            auth += ":" + quote(str(original["PASSWORD"]), safe="")
        url = f"postgres://{auth}@{original.get('HOST') or LOOPBACK}:{original.get('PORT') or 5432}/{name}"
    else:
        name = str(Path(scratch_dir) / "bench.sqlite3")
        url = f"sqlite:///{name}"
    connection.settings_dict["NAME"] = name
    try:
        yield url
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)
        if vendor == "postgresql":
            import psycopg

            with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
