"""The two errors decision trees raise for people to read: a bad document, and a move that does not fit."""

from __future__ import annotations


class TreeInvalid(ValueError):
    """The tree document has problems; ``errors`` lists every one of them and nothing was saved."""

    def __init__(self, errors: list[str]) -> None:
        shown = "; ".join(errors[:5]) + (f" (and {len(errors) - 5} more)" if len(errors) > 5 else "")
        super().__init__(shown)
        self.errors = errors


class WalkthroughError(ValueError):
    """An answer or move that does not fit the walkthrough's current state (shown to the walker)."""
