"""Search engines, one per database vendor; ``engine_for`` picks the one for a connection."""

from __future__ import annotations

from django.db import connections

from .base import LOOSE, STRICT, Candidate, Engine, Filters
from .postgres import PostgresEngine
from .sqlite import SqliteEngine

__all__ = ["LOOSE", "STRICT", "Candidate", "Engine", "Filters", "PostgresEngine", "SqliteEngine", "engine_for"]


def engine_for(using: str = "default") -> Engine:
    vendor = connections[using].vendor
    if vendor == "postgresql":
        return PostgresEngine(using)
    if vendor == "sqlite":
        return SqliteEngine(using)
    raise NotImplementedError(f"Search supports PostgreSQL and SQLite, not {vendor}")


