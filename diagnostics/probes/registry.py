"""Which probe runs which check type."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from .base import CheckSpec, ProbeOutcome
from .context import ProbeContext
from .dns import probe_dns
from .http import probe_http
from .logs import probe_logfile
from .postgres import probe_postgres
from .redis import probe_redis
from .system import probe_disk, probe_memory
from .tcp import probe_tcp
from .tls import probe_tls

PROBES: dict[str, Callable[[CheckSpec, ProbeContext], Awaitable[ProbeOutcome]]] = {
    "http": probe_http,
    "tcp": probe_tcp,
    "dns": probe_dns,
    "tls": probe_tls,
    "postgres": probe_postgres,
    "redis": probe_redis,
    "disk": probe_disk,
    "memory": probe_memory,
    "logfile": probe_logfile,
}
