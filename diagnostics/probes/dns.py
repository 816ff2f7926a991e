"""DNS probe: one query to the configured (or the host's own) name servers."""

from __future__ import annotations

import time

import dns.asyncquery
import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype
import dns.resolver

from ..targets import is_reserved_invalid
from .base import CheckSpec, Metric, ProbeOutcome, TransportError, ms
from .context import ProbeContext


async def probe_dns(spec: CheckSpec, ctx: ProbeContext) -> ProbeOutcome:
    name = spec.target.strip()
    record_type = spec.parameters.get("record_type", "A").upper()
    started = time.perf_counter()
    if is_reserved_invalid(name):
        # RFC 6761: .invalid names never exist; answer without asking any server.
        return _dns_outcome(name, record_type, "NXDOMAIN", [], time.perf_counter() - started, "(reserved name)")

    if "nameserver" in spec.parameters:
        nameserver = spec.parameters["nameserver"]
        await ctx.vet(nameserver)
        nameservers = [nameserver]
    else:
        # The host's own resolvers: configured by whoever runs Triage, so not subject to the allowlist.
        nameservers = list(dns.resolver.Resolver(configure=True).nameservers)
    port = spec.parameters.get("port", 53)
    query = dns.message.make_query(name, dns.rdatatype.from_text(record_type))
    errors = []
    for nameserver in nameservers:
        try:
            response = await dns.asyncquery.udp(query, nameserver, timeout=spec.timeout, port=port)
        except (dns.exception.Timeout, OSError, dns.exception.DNSException) as exc:
            errors.append(f"{nameserver}: {type(exc).__name__} {exc}".strip())
            continue
        answers = [rdata.to_text() for rrset in response.answer for rdata in rrset]
        rcode = dns.rcode.to_text(response.rcode())
        return _dns_outcome(name, record_type, rcode, answers, time.perf_counter() - started, nameserver)
    raise TransportError("no DNS server answered: " + "; ".join(errors))


def _dns_outcome(name: str, record_type: str, rcode: str, answers: list[str], elapsed: float,
                 server: str) -> ProbeOutcome:
    summary = (f"{name} {record_type} -> {', '.join(answers[:3])}" if answers
               else f"{name} {record_type}: {rcode}, no answers")
    return ProbeOutcome(
        summary=summary,
        observations={"DNS_RCODE": rcode, "BODY": "\n".join(answers), "RESPONSE_TIME": ms(elapsed),
                      "VALUE": len(answers)},
        value=ms(elapsed), value_label="resolve time", value_unit="ms",
        metrics=[Metric("resolve_time", ms(elapsed), "ms"), Metric("answers", len(answers))],
        evidence={"query": f"{name} {record_type}", "server": server, "rcode": rcode, "answers": answers[:20]},
    )

