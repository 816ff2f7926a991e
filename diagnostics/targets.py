"""What a check may touch: the target allowlist, name resolution, and secrets referenced as ``env:NAME``.

Secrets come only from environment variables named ``TRIAGE_SECRET_*``: the worker's other variables hold
Triage's own settings (``DATABASE_URL``, ``REDIS_URL``, ``DJANGO_SECRET_KEY``), and a check must never be
able to borrow them. The prefix is enforced when a check is saved and again when it runs.

Checks are written by staff but run inside the network, so a check must not become a request forger.
Every network target is resolved at run time and *every* resolved address must be allowed by
``TRIAGE_CHECK_ALLOWED_TARGETS`` (CIDRs, addresses or host names; a listed host name allows exactly the
addresses it resolves to). Probes then connect to the address that was checked, never re-resolving, so a
name cannot change its answer between the check and the connection.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ENV_PREFIX = "env:"
SECRET_ENV_PREFIX = "TRIAGE_SECRET_"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Parameter keys whose values are secrets: they must be env: references, never literal values.
SECRET_KEYS = frozenset({"password", "token", "secret", "api_key", "apikey", "authorization", "dsn"})
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key", "x-auth-token"})
REDACTED = "[redacted]"


class TargetNotAllowed(Exception):
    """The target (or one of its addresses) is outside the allowlist."""


class TargetUnresolvable(Exception):
    """The target's name does not resolve."""


class SecretMissing(Exception):
    """A check refers to an environment variable that is not set on the worker, or that it may not read."""


# --- allowlist ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Allowlist:
    networks: tuple[IPNetwork, ...]
    hostnames: tuple[str, ...]

    @classmethod
    def from_entries(cls, entries: Iterable[str]) -> Allowlist:
        networks, hostnames = [], []
        for entry in entries:
            entry = entry.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                hostnames.append(entry.lower().rstrip("."))
        return cls(networks=tuple(networks), hostnames=tuple(hostnames))

    @classmethod
    def from_settings(cls) -> Allowlist:
        from django.conf import settings

        return cls.from_entries(getattr(settings, "TRIAGE_CHECK_ALLOWED_TARGETS", ["127.0.0.0/8", "::1", "localhost"]))


def allowlist_entries_valid(entries: Iterable[str]) -> list[str]:
    """Entries that are neither a CIDR/address nor a plausible host name."""
    bad = []
    for entry in entries:
        try:
            ipaddress.ip_network(entry.strip().strip("[]"), strict=False)
        except ValueError:
            if not re.fullmatch(r"[A-Za-z0-9.-]+", entry.strip()):
                bad.append(entry)
    return bad


def is_reserved_invalid(host: str) -> bool:
    """RFC 6761: names under .invalid never resolve, and resolvers should say so without asking anyone."""
    host = host.lower().rstrip(".")
    return host == "invalid" or host.endswith(".invalid")


def ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None


def addresses_of(host: str, infos: list) -> list[IPAddress]:
    """The distinct IP addresses in a getaddrinfo answer, in its order (none: the host is unresolvable)."""
    addresses: list[IPAddress] = []
    for info in infos:
        address = ip_literal(str(info[4][0]))
        if address is not None and address not in addresses:
            addresses.append(address)
    if not addresses:
        raise TargetUnresolvable(f"{host} has no addresses")
    return addresses


@dataclass
class Resolver:
    """Resolves host names once per engine run and vets every answer against the allowlist."""

    allowlist: Allowlist
    _cache: dict[str, list[IPAddress]] = field(default_factory=dict)
    _allowed_by_name: set[IPAddress] | None = None
    _vetted: dict[str, IPAddress] = field(default_factory=dict)

    async def resolve(self, host: str) -> list[IPAddress]:
        host = host.strip("[]").lower().rstrip(".")
        literal = ip_literal(host)
        if literal is not None:
            return [literal]
        if host in self._cache:
            return self._cache[host]
        if is_reserved_invalid(host):
            raise TargetUnresolvable(f"{host} does not resolve (.invalid is reserved)")
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise TargetUnresolvable(f"{host} does not resolve: {exc}") from exc
        addresses = addresses_of(host, infos)
        self._cache[host] = addresses
        return addresses

    async def _addresses_of_allowed_names(self) -> set[IPAddress]:
        if self._allowed_by_name is None:
            allowed: set[IPAddress] = set()
            for name in self.allowlist.hostnames:
                try:
                    allowed.update(await self.resolve(name))
                except TargetUnresolvable:
                    continue
            self._allowed_by_name = allowed
        return self._allowed_by_name

    async def allowed_address(self, address: IPAddress) -> bool:
        if any(address.version == net.version and address in net for net in self.allowlist.networks):
            return True
        # An IPv4-mapped IPv6 address is judged as the IPv4 address it carries.
        mapped = getattr(address, "ipv4_mapped", None)
        if mapped is not None and any(mapped in net for net in self.allowlist.networks if net.version == 4):
            return True
        return address in await self._addresses_of_allowed_names()

    async def vet(self, host: str) -> IPAddress:
        """Resolve ``host``; refuse unless every address is allowed; return the address to connect to.

        The verdict is kept for the rest of the run: a batch of a thousand checks against one host asks
        once, and every check in it connects to the same vetted address.
        """
        vetted = self._vetted.get(host)
        if vetted is not None:
            return vetted
        addresses = await self.resolve(host)
        for address in addresses:
            if not await self.allowed_address(address):
                raise TargetNotAllowed(f"target not allowed: {host} resolves to {address}, outside "
                                       "TRIAGE_CHECK_ALLOWED_TARGETS")
        # Prefer IPv4 answers: it is what the tools in the guides would use.
        chosen = sorted(addresses, key=lambda a: a.version)[0]
        self._vetted[host] = chosen
        return chosen


# --- outbound notifications (webhooks, escalation hooks) ---------------------------------------------


def is_internal_address(address: IPAddress) -> bool:
    """Loopback, private, link-local (cloud metadata), shared, reserved or multicast: not the public internet."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return not address.is_global or address.is_multicast


def resolve_blocking(host: str) -> list[IPAddress]:
    """The addresses of ``host`` (an IP literal is its own answer); TargetUnresolvable when there are none."""
    host = host.strip("[]").lower().rstrip(".")
    literal = ip_literal(host)
    if literal is not None:
        return [literal]
    if is_reserved_invalid(host):
        raise TargetUnresolvable(f"{host} does not resolve (.invalid is reserved)")
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetUnresolvable(f"{host} does not resolve: {exc}") from exc
    return addresses_of(host, infos)


def outbound_address_vet(host: str, allowed: Allowlist, *, setting: str) -> IPAddress:
    """The address an outgoing notification to ``host`` may connect to.

    Public addresses are fine; an internal one (see ``is_internal_address``) only when ``allowed`` lists
    it. Every address the name resolves to must pass, and the caller connects to the one returned.
    """
    addresses = resolve_blocking(host)
    allowed_by_name: set[IPAddress] | None = None
    for address in addresses:
        if not is_internal_address(address):
            continue
        mapped = getattr(address, "ipv4_mapped", None) or address
        if any(mapped.version == net.version and mapped in net for net in allowed.networks):
            continue
        if allowed_by_name is None:
            allowed_by_name = set()
            for name in allowed.hostnames:
                try:
                    allowed_by_name.update(resolve_blocking(name))
                except TargetUnresolvable:
                    continue
        if address not in allowed_by_name:
            raise TargetNotAllowed(f"{host} resolves to {address}, an internal address (loopback, private, "
                                   f"link-local or metadata); list it in {setting} to allow it")
    return sorted(addresses, key=lambda a: a.version)[0]


def split_host_port(target: str, default_port: int | None = None) -> tuple[str, int]:
    """``host:port``, ``[::1]:port`` or a URL -> (host, port); ValueError with a readable message."""
    target = target.strip()
    if "://" in target:
        parts = urlsplit(target)
        host, port = parts.hostname or "", parts.port or default_port
    elif target.startswith("["):
        host, _, rest = target[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else default_port
    elif target.count(":") == 1:
        host, _, raw = target.partition(":")
        if not raw.isdigit():
            raise ValueError(f"{target!r}: the port must be a number")
        port = int(raw)
    else:
        host, port = target, default_port
    if not host:
        raise ValueError(f"{target!r} has no host")
    if port is None:
        raise ValueError(f"{target!r} needs a port, e.g. localhost:5432")
    if not 0 < port < 65536:
        raise ValueError(f"{target!r}: port {port} is out of range")
    return host, port


# --- secrets ------------------------------------------------------------------------------------------


def is_env_reference(value: object) -> bool:
    return isinstance(value, str) and value.startswith(ENV_PREFIX) and bool(_ENV_NAME.match(value[len(ENV_PREFIX):]))


def env_reference_problem(value: str) -> str:
    """Why ``value`` (an ``env:...`` string) may not be used as a secret reference; "" when it may."""
    if not is_env_reference(value):
        return f"{value!r} is not a valid env:NAME reference"
    name = value[len(ENV_PREFIX):]
    if not name.startswith(SECRET_ENV_PREFIX) or name == SECRET_ENV_PREFIX:
        return (f"{value!r} is refused: checks may only read environment variables named "
                f"{SECRET_ENV_PREFIX}*, e.g. env:{SECRET_ENV_PREFIX}PG_DSN (the worker's other variables are "
                "Triage's own settings)")
    return ""


_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#@\s]+@")


def scrub_userinfo(text: str) -> str:
    """``scheme://user:pass@host`` -> ``scheme://[redacted]@host``: credentials in a URL never reach evidence."""
    return _URL_USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", text) if "@" in text else text


def secret_problems(*, target: str, parameters: dict) -> list[tuple[str, str]]:
    """Literal secrets written into a check, as (field, message); they belong in env:NAME references."""
    problems = []
    if "://" in target and not is_env_reference(target):
        try:
            password = urlsplit(target).password
        except ValueError:
            password = None
        if password:
            problems.append(("target", "the target contains a password; put it in an environment variable and "
                                       "reference it with the parameter password: env:NAME"))
    for key, value in _walk(parameters):
        leaf = key.rsplit(".", 1)[-1].lower()
        if (leaf in SECRET_KEYS or leaf in SECRET_HEADERS) and isinstance(value, str) and not is_env_reference(value):
            problems.append(("parameters", f"parameter {key} looks like a secret; reference it as env:NAME "
                                           "instead of writing it"))
        if isinstance(value, str) and value.startswith(ENV_PREFIX):
            problem = env_reference_problem(value)
            if problem:
                problems.append(("parameters", f"parameter {key}: {problem}"))
    return problems


def _walk(value: object, prefix: str = "") -> Iterable[tuple[str, object]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{prefix}[{index}]")
    else:
        yield prefix, value


@dataclass
class Secrets:
    """Resolves env: references for one run and remembers the values so they can be scrubbed from output."""

    environ: dict[str, str] = field(default_factory=lambda: {
        name: value for name, value in os.environ.items() if name.startswith(SECRET_ENV_PREFIX)})
    revealed: set[str] = field(default_factory=set)

    def resolve(self, value: object) -> object:
        if isinstance(value, dict):
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not is_env_reference(value):
            return value
        name = value[len(ENV_PREFIX):]
        problem = env_reference_problem(value)
        if problem:  # saved before the prefix rule, or written straight into the database
            raise SecretMissing(problem)
        if name not in self.environ:
            raise SecretMissing(f"environment variable {name} is not set on the worker")
        secret = self.environ[name]
        if len(secret) >= 4:  # scrubbing one- or two-character values would mangle every message
            self.revealed.add(secret)
        return secret

    def scrub(self, value: object) -> object:
        """The same structure with every revealed secret and URL user info replaced; used on messages and evidence."""
        if isinstance(value, str):
            for secret in self.revealed:
                value = value.replace(secret, REDACTED)
            return scrub_userinfo(value)
        if isinstance(value, dict):
            return {key: self.scrub(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.scrub(item) for item in value]
        return value
