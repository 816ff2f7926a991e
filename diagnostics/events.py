"""State-change events: other apps subscribe without diagnostics knowing they exist.

    from diagnostics import events

    def open_incident(change: CheckStateChange) -> None: ...
    events.subscribe(open_incident)

Subscribers run after the transaction that recorded the change commits, once per change, in the
process that recorded it (usually a Celery worker). A failing subscriber is logged and does not stop the
others or undo the change: the CheckStateChange row is the durable record; callbacks are notifications.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from django.db import transaction

if TYPE_CHECKING:
    from .models import CheckStateChange

logger = logging.getLogger(__name__)

StateChangeCallback = Callable[["CheckStateChange"], None]
_subscribers: list[StateChangeCallback] = []


def subscribe(callback: StateChangeCallback) -> StateChangeCallback:
    """Register a callback (usable as a decorator); registering the same callable twice is a no-op."""
    if callback not in _subscribers:
        _subscribers.append(callback)
    return callback


def unsubscribe(callback: StateChangeCallback) -> None:
    if callback in _subscribers:
        _subscribers.remove(callback)


def subscribers() -> list[StateChangeCallback]:
    return list(_subscribers)


def state_changes_publish(changes: Iterable[CheckStateChange]) -> None:
    """Deliver changes to every subscriber once the current transaction commits."""
    changes = list(changes)
    if changes and _subscribers:
        transaction.on_commit(lambda: _deliver(changes))


def _deliver(changes: list[CheckStateChange]) -> None:
    for change in changes:
        for callback in list(_subscribers):
            try:
                callback(change)
            except Exception:  # one broken subscriber must not silence the rest
                logger.exception("state-change subscriber %r failed for %s", callback, change)
