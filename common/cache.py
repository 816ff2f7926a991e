"""A Redis cache that fails open: when Redis is unreachable, reads miss and writes are dropped.

Everything Triage keeps in the cache can be recomputed or forgotten (API throttle histories, rate-limit
counters, the matcher's version token), so an outage must cost those features, never a request. After a
failure the cache stays "open" for `RETRY_AFTER_SECONDS` without touching Redis, so requests do not each
pay a connection timeout; one warning is logged when Redis goes away and one line when it is back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

T = TypeVar("T")

RETRY_AFTER_SECONDS = 5.0


class FailOpenRedisCache(RedisCache):
    """Django's RedisCache whose operations fall back to a miss (or a no-op) when Redis is down."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._down_since: float | None = None

    # --- outage bookkeeping ------------------------------------------------------------------------

    @property
    def is_down(self) -> bool:
        """True while the cache answers from its fallback (Redis failed within the retry window)."""
        return self._down_since is not None

    def _guard(self, operation: str, call: Callable[[], T], fallback: T) -> T:
        if self._down_until > time.monotonic():
            return fallback
        try:
            result = call()
        except (RedisError, OSError) as exc:
            self._mark_down(operation, exc)
            return fallback
        if self._down_since is not None:
            self._mark_up()
        return result

    def _mark_down(self, operation: str, exc: BaseException) -> None:
        with self._lock:
            self._down_until = time.monotonic() + RETRY_AFTER_SECONDS
            if self._down_since is None:
                self._down_since = time.monotonic()
                logger.warning("cache unavailable (%s during %s); failing open: throttles and rate limits "
                               "are off until it returns", type(exc).__name__, operation)

    def _mark_up(self) -> None:
        with self._lock:
            if self._down_since is None:
                return
            outage = time.monotonic() - self._down_since
            self._down_since = None
            self._down_until = 0.0
        logger.warning("cache available again after %.0f s", outage)

    def ping(self) -> None:
        """Round-trip to Redis, raising on failure (for /health/); updates the outage state."""
        try:
            self._cache.get_client(write=True).ping()
        except (RedisError, OSError) as exc:
            self._mark_down("ping", exc)
            raise
        if self._down_since is not None:
            self._mark_up()

    # --- the cache API -----------------------------------------------------------------------------

    def add(self, key, value, timeout=None, version=None):  # Django's signatures
        return self._guard("add", lambda: super(FailOpenRedisCache, self).add(key, value, timeout, version), False)

    def get(self, key, default=None, version=None):
        return self._guard("get", lambda: super(FailOpenRedisCache, self).get(key, default, version), default)

    def set(self, key, value, timeout=None, version=None):
        return self._guard("set", lambda: super(FailOpenRedisCache, self).set(key, value, timeout, version), None)

    def touch(self, key, timeout=None, version=None):
        return self._guard("touch", lambda: super(FailOpenRedisCache, self).touch(key, timeout, version), False)

    def delete(self, key, version=None):
        return self._guard("delete", lambda: super(FailOpenRedisCache, self).delete(key, version), False)

    def get_many(self, keys, version=None):
        return self._guard("get_many", lambda: super(FailOpenRedisCache, self).get_many(keys, version), {})

    def has_key(self, key, version=None):
        return self._guard("has_key", lambda: super(FailOpenRedisCache, self).has_key(key, version), False)

    def incr(self, key, delta=1, version=None):
        # A missing key raises ValueError in Django's API; an outage looks the same to callers
        # (django-ratelimit then fails open, see RATELIMIT_FAIL_OPEN).
        sentinel = object()
        result = self._guard("incr", lambda: super(FailOpenRedisCache, self).incr(key, delta, version), sentinel)
        if result is sentinel:
            raise ValueError(f"Key '{key}' not found (cache unavailable)")
        return result

    def set_many(self, data, timeout=None, version=None):
        return self._guard("set_many", lambda: super(FailOpenRedisCache, self).set_many(data, timeout, version),
                           list(data))

    def delete_many(self, keys, version=None):
        return self._guard("delete_many", lambda: super(FailOpenRedisCache, self).delete_many(keys, version), None)

    def clear(self):
        return self._guard("clear", lambda: super(FailOpenRedisCache, self).clear(), False)
