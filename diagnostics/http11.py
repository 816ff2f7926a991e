"""A small HTTP/1.1 client for the HTTP probe: asyncio streams for I/O, h11 for the protocol.

Why not httpx's client: at a hundred concurrent checks its connection pool does work proportional to
queued requests x open connections on every request, and the CPU it spends per request is several times
what a check can afford (see the benchmark). A probe needs far less than a general client: one request per
connection at a time, keep-alive between checks of the same origin, no cookies, no decompression (it asks
for ``identity``), no proxies. h11 still does all the parsing (chunked bodies, HEAD, 1xx, 204/304,
connection-close framing), so correctness is not traded for speed.

Connections go to an address the caller has already vetted; the host name is only used for ``Host`` and
for TLS (SNI and certificate verification).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from dataclasses import dataclass, field

import h11

READ_SIZE = 64 * 1024


def describe_os_error(exc: OSError) -> str:
    """"connection refused" rather than "[Errno 111] Connect call failed ('127.0.0.1', 8000)"."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if exc.errno:
        return os.strerror(exc.errno).lower()
    return str(exc) or type(exc).__name__


class HTTPTransportError(Exception):
    """Could not connect, or the connection broke or spoke nonsense."""


class HTTPCertificateError(Exception):
    """The server's certificate did not verify."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class HTTPResponse:
    status: int
    reason: str
    http_version: str
    headers: list[tuple[str, str]]
    content: bytes
    truncated: bool
    peer_certificate: bytes | None


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    protocol: h11.Connection
    peer_certificate: bytes | None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class _StaleConnection(Exception):
    """A kept-alive connection the server had already closed; the request was not processed."""


@dataclass
class ConnectionCache:
    """Idle keep-alive connections by origin, shared by every probe of one engine run."""

    max_idle_per_origin: int = 100
    _idle: dict[tuple, list[_Connection]] = field(default_factory=dict)

    async def request(
        self,
        *,
        scheme: str,
        address: str,
        port: int,
        server_name: str,
        ssl_context: ssl.SSLContext | None,
        method: str,
        target: bytes,
        headers: list[tuple[str, str]],
        body: bytes | None,
        body_limit: int,
    ) -> HTTPResponse:
        key = (scheme, address, port, server_name, id(ssl_context))
        idle = self._idle.get(key)
        connection = idle.pop() if idle else None
        if connection is not None:
            try:
                return await self._exchange(key, connection, method, target, headers, body, body_limit, reused=True)
            except _StaleConnection:
                pass  # the server closed it while idle; nothing was processed, so ask again on a new one
        connection = await self._open(scheme, address, port, server_name, ssl_context)
        try:
            return await self._exchange(key, connection, method, target, headers, body, body_limit, reused=False)
        except _StaleConnection as exc:
            raise HTTPTransportError("the server closed the connection without answering") from exc

    async def _open(self, scheme: str, address: str, port: int, server_name: str,
                    ssl_context: ssl.SSLContext | None) -> _Connection:
        try:
            if scheme == "https":
                reader, writer = await asyncio.open_connection(address, port, ssl=ssl_context,
                                                               server_hostname=server_name)
            else:
                reader, writer = await asyncio.open_connection(address, port)
        except ssl.SSLCertVerificationError as exc:
            raise HTTPCertificateError(exc.verify_message or str(exc)) from exc
        except ssl.SSLError as exc:
            raise HTTPTransportError(f"TLS handshake failed: {exc.reason or exc}") from exc
        except OSError as exc:
            raise HTTPTransportError(describe_os_error(exc)) from exc
        certificate = None
        ssl_object = writer.get_extra_info("ssl_object")
        if ssl_object is not None:
            certificate = ssl_object.getpeercert(binary_form=True)
        return _Connection(reader, writer, h11.Connection(h11.CLIENT), certificate)

    async def _exchange(self, key: tuple, connection: _Connection, method: str, target: bytes,
                        headers: list[tuple[str, str]], body: bytes | None, body_limit: int, *,
                        reused: bool) -> HTTPResponse:
        protocol = connection.protocol
        received_any = False
        try:
            request_headers = list(headers)
            if body is not None:
                request_headers.append(("Content-Length", str(len(body))))
            out = protocol.send(h11.Request(method=method, target=target, headers=request_headers))
            if body:
                out += protocol.send(h11.Data(data=body))
            out += protocol.send(h11.EndOfMessage())
            connection.writer.write(out)
            await connection.writer.drain()

            response: h11.Response | None = None
            chunks: list[bytes] = []
            size = 0
            truncated = False
            while True:
                event = protocol.next_event()
                if event is h11.NEED_DATA:
                    data = await connection.reader.read(READ_SIZE)
                    if not data and reused and not received_any:
                        raise _StaleConnection()
                    received_any = received_any or bool(data)
                    protocol.receive_data(data)
                elif isinstance(event, h11.InformationalResponse):
                    continue
                elif isinstance(event, h11.Response):
                    response = event
                elif isinstance(event, h11.Data):
                    chunks.append(bytes(event.data))
                    size += len(event.data)
                    if size >= body_limit:
                        truncated = True  # enough to judge; the rest is not worth waiting for
                        break
                elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                    break
        except _StaleConnection:
            connection.close()
            raise
        except (ConnectionError, OSError) as exc:
            connection.close()
            if reused and not received_any:
                raise _StaleConnection() from exc
            raise HTTPTransportError(f"the connection failed: {describe_os_error(exc)}") from exc
        except h11.RemoteProtocolError as exc:
            connection.close()
            raise HTTPTransportError(f"the server did not speak HTTP/1.1: {exc}") from exc
        except BaseException:
            connection.close()  # cancelled (timeout) or anything else: never reuse a half-used connection
            raise
        if response is None:
            connection.close()
            raise HTTPTransportError("the connection closed before a response arrived")

        if not truncated and protocol.our_state is h11.DONE and protocol.their_state is h11.DONE:
            protocol.start_next_cycle()
            idle = self._idle.setdefault(key, [])
            if len(idle) < self.max_idle_per_origin:
                idle.append(connection)
            else:
                connection.close()
        else:
            connection.close()
        return HTTPResponse(
            status=response.status_code,
            reason=response.reason.decode("latin-1"),
            http_version=response.http_version.decode("ascii"),
            headers=[(name.decode("latin-1"), value.decode("latin-1")) for name, value in response.headers],
            content=b"".join(chunks),
            truncated=truncated,
            peer_certificate=connection.peer_certificate,
        )

    async def aclose(self) -> None:
        connections = [c for idle in self._idle.values() for c in idle]
        self._idle.clear()
        for connection in connections:
            connection.close()
        for connection in connections:
            with contextlib.suppress(Exception):
                await connection.writer.wait_closed()
