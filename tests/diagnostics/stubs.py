"""Loopback stand-ins for the things checks talk to: a DNS server, TLS certificates, a closed port."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from datetime import UTC, datetime, timedelta

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import trustme

from diagnostics.stub_server import StubHTTPServer


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class StubDNSServer:
    """UDP DNS on 127.0.0.1: *.ok.test -> 127.0.0.1, servfail.test -> SERVFAIL, anything else NXDOMAIN."""

    def __init__(self) -> None:
        self.port = 0
        self.queries: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def _answer(self, data: bytes) -> bytes:
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text().lower()
        self.queries.append(name)
        if name.endswith("ok.test.") and question.rdtype == dns.rdatatype.A:
            response.answer.append(dns.rrset.from_text(question.name, 60, "IN", "A", "127.0.0.1"))
        elif name == "servfail.test.":
            response.set_rcode(dns.rcode.SERVFAIL)
        elif not name.endswith("ok.test."):
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response.to_wire()

    def __enter__(self) -> StubDNSServer:
        ready = threading.Event()
        server = self

        class Protocol(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.DatagramTransport) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: tuple) -> None:
                self.transport.sendto(server._answer(data), addr)

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            transport, _ = self._loop.run_until_complete(
                self._loop.create_datagram_endpoint(Protocol, local_addr=("127.0.0.1", 0)))
            self.port = transport.get_extra_info("sockname")[1]
            ready.set()
            self._loop.run_forever()
            transport.close()
            self._loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


def tls_server(*, days_valid: float, routes: dict | None = None) -> StubHTTPServer:
    """An HTTPS stub whose certificate (from a throwaway trustme CA) expires ``days_valid`` from now."""
    ca = trustme.CA()
    now = datetime.now(UTC)
    not_before = now - timedelta(days=30) if days_valid > 0 else now + timedelta(days=days_valid) - timedelta(days=30)
    cert = ca.issue_cert("localhost", "127.0.0.1", not_before=not_before, not_after=now + timedelta(days=days_valid))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    return StubHTTPServer(routes=routes or {}, ssl_context=context)
