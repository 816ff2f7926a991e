"""The knowledge-base version (a fingerprint of every signature plus a cache token) and this process's
matcher, rebuilt when the version moves on: web and worker processes each keep one compiled copy."""

from __future__ import annotations

import logging
import threading
import time
import uuid

from django.core.cache import cache
from django.db import connection

from ..models import Signature, Symptom
from .engine import Matcher
from .rules import SignatureSpec

logger = logging.getLogger(__name__)

_VERSION_KEY = "kb:matcher:version"
_matcher_lock = threading.Lock()
_matcher: Matcher | None = None


def knowledge_version_bump() -> None:
    """Tell every process that signatures changed (the database fingerprint usually tells it too)."""
    try:
        cache.set(_VERSION_KEY, uuid.uuid4().hex, None)
    except Exception:  # a cache outage must not fail a write; the DB fingerprint still changes
        logger.warning("matcher: could not bump the version key in the cache", exc_info=True)


def knowledge_version() -> str:
    """A short key that changes whenever any signature is added, removed or changed."""
    try:
        token = cache.get(_VERSION_KEY) or "-"
    except Exception:
        token = "?"
    # Adding or deleting a signature (the importer bulk-creates and deletes) moves count, max id or
    # newest timestamp; changing one in place goes through signature_save, which touches its symptom's
    # updated_at (inside the same transaction, so a rollback undoes that too) and moves the cache token.
    # One statement for both tables: this runs on every match request.
    signatures, symptoms = Signature._meta.db_table, Symptom._meta.db_table
    pattern = Signature.Kind.PATTERN.value
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*), MAX(id), MAX(created_at), SUM(CASE WHEN kind = %s THEN 1 ELSE 0 END), "
            f"(SELECT MAX(updated_at) FROM {symptoms}) FROM {signatures}", [pattern])
        count, top, newest, patterns, touched = cursor.fetchone()
    stamps = "/".join(stamp_text(value) for value in (newest, touched))
    return f"{token}:{count}:{top}:{patterns or 0}:{stamps}"


def stamp_text(value: object) -> str:
    """A timestamp as the fingerprint shows it (PostgreSQL gives datetimes, SQLite strings)."""
    if not value:
        return "-"
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def matcher_build(*, version: str = "") -> Matcher:
    rows = Signature.objects.values_list("id", "symptom_id", "kind", "text").order_by("id")
    return Matcher((SignatureSpec(*row) for row in rows.iterator(chunk_size=2000)), version=version)


def matcher_current(*, version: str | None = None) -> Matcher:
    """This process's matcher, rebuilt when the knowledge-base version (read now unless the caller just
    read it) moved on."""
    global _matcher
    version = knowledge_version() if version is None else version
    current = _matcher
    if current is not None and current.version == version:
        return current
    with _matcher_lock:
        if _matcher is None or _matcher.version != version:
            started = time.perf_counter()
            _matcher = matcher_build(version=version)
            logger.info("matcher: built %d signatures in %.0f ms", _matcher.size,
                        (time.perf_counter() - started) * 1000)
        return _matcher


def matcher_reset() -> None:
    global _matcher
    with _matcher_lock:
        _matcher = None


