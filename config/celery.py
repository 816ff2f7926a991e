import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from celery import Celery

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
