"""Side effects that run once per transaction, however many writes ask for them.

An import writes hundreds of articles and a batch of alerts many outbox messages, each in a savepoint of
its own; each write asks for a task after commit, and one task should go. ``on_commit_join`` finds the
request of the same kind that this transaction already holds and lets the caller add to it, or queues a
new one.

Joining is safe whichever savepoint queued the request: Django drops a commit callback only when a
savepoint that was open when it was queued rolls back. If that savepoint is still open it encloses the
current write too, so both go; a savepoint already released can no longer roll back on its own. So a
request still listed runs at commit whenever the current write commits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db import transaction

__all__ = ["CommitRequest", "on_commit_join"]


class CommitRequest:
    """A callable queued with ``on_commit``; subclasses implement ``run`` and may carry data to add to."""

    sent = False

    def __call__(self) -> None:
        self.sent = True
        self.run()

    def run(self) -> None:
        raise NotImplementedError


R = TypeVar("R", bound=CommitRequest)


def on_commit_join(kind: type[R], *, add: Callable[[R], None] | None = None, using: str | None = None) -> R:
    """The ``kind`` request this transaction already queued (``add`` applied to it), or a new one queued.

    Outside a transaction the new request runs at once, after ``add``, as ``on_commit`` does.
    """
    connection = transaction.get_connection(using)
    if connection.in_atomic_block:
        for _sids, func, _robust in connection.run_on_commit:
            if type(func) is kind and not func.sent:
                if add is not None:
                    add(func)
                return func
    request = kind()
    if add is not None:
        add(request)
    transaction.on_commit(request, using=using)
    return request
