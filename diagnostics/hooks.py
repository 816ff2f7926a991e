"""Hooks that higher layers fill in, so diagnostics can use their knowledge without importing them.

The knowledge base registers a symptom provider: given a symptom id, the signatures that recognise it
(``("literal", text)`` or ``("pattern", re2_source)``). Log file checks with ``symptom: <id>`` use it.
A higher app registers in its ``AppConfig.ready()`` (the knowledge base's is in ``kb/apps.py``).
"""

from __future__ import annotations

from collections.abc import Callable

Signatures = list[tuple[str, str]]
SymptomProvider = Callable[[int], "Signatures | None"]

_symptom_provider: SymptomProvider | None = None


def register_symptom_provider(provider: SymptomProvider | None) -> None:
    global _symptom_provider
    _symptom_provider = provider


def symptom_signatures(symptom_id: int) -> Signatures | None:
    """Signatures of a symptom, or None when there is no provider or no such symptom."""
    if _symptom_provider is None:
        return None
    return _symptom_provider(symptom_id)


def has_symptom_provider() -> bool:
    return _symptom_provider is not None
