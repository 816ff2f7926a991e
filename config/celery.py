import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from celery import Celery
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("triage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _make_filesystem_broker_folders(sender: Celery, **kwargs) -> None:
    # The embedded broker keeps messages as files; kombu expects its folders to exist.
    if str(sender.conf.broker_url).startswith("filesystem://"):
        options = sender.conf.broker_transport_options or {}
        for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
            if options.get(key):
                Path(options[key]).mkdir(parents=True, exist_ok=True)


@contextmanager
def broker_connection() -> Iterator[Any]:
    """A broker connection that fails fast (one quick retry), or None when tasks run eagerly.

    Kombu's defaults retry a dead broker for seconds; a web request filing an incident must not hang on that.
    """
    if app.conf.task_always_eager:
        yield None
        return
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, interval_max=0.2,
                                     timeout=2)
        yield connection


def task_publish(task: Any, *, args: list | tuple = (), connection: Any = None) -> None:
    """Queue a task without kombu's long publish retries; raises if the broker refuses."""
    if connection is None:
        with broker_connection() as fresh:
            task.apply_async(args=args, connection=fresh, retry=False)
        return
    task.apply_async(args=args, connection=connection, retry=False)


def reap_margin_seconds() -> int:
    """Slack added to a task's hard time limit before its claimed work counts as abandoned.

    A claimed row (a running check run, a webhook attempt "sending", an outbox message being handled) older
    than the time limit of the task that claimed it plus this margin belongs to a worker that died: the task
    cannot still be running. The reapers close or retry such rows (docs/checks.md, docs/incidents.md).
    """
    return int(getattr(settings, "TRIAGE_REAP_MARGIN_SECONDS", 60))


def visibility_timeout_seconds() -> int | None:
    """How long Redis keeps a delivered, unacknowledged message before giving it to another worker.

    None for the filesystem broker, which has no such timeout: a message read by a worker that then dies is
    gone, and only the database reapers bring the work back.
    """
    options = app.conf.broker_transport_options or {}
    value = options.get("visibility_timeout")
    return int(value) if value is not None else None
