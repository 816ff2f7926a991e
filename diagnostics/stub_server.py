"""A tiny loopback HTTP(S)/1.1 server for the benchmark and the tests; no Django inside.

Routes map a path to ``(status, headers, body)``; every answer can be delayed by a fixed latency, and
paths not in the table get a JSON health document, so ``/health`` works out of the box. Keep-alive is
supported because the engine and the bare client both pool connections.

    python -m diagnostics.stub_server --latency-ms 50      # prints the port, serves until killed
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

Response = tuple[int, dict[str, str], bytes]
Handler = Callable[[str, str, dict[str, str], bytes], Response]

HEALTHY = json.dumps({"status": "healthy", "components": {"database": "healthy", "redis": "healthy"}}).encode()
REASONS = {200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently", 302: "Found",
           303: "See Other", 307: "Temporary Redirect", 400: "Bad Request", 404: "Not Found",
           500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


@dataclass
class StubHTTPServer:
    routes: dict[str, Response | Handler] = field(default_factory=dict)
    latency: float = 0.0
    ssl_context: ssl.SSLContext | None = None
    host: str = "127.0.0.1"
    port: int = 0
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    record: bool = True
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _server: asyncio.AbstractServer | None = None

    def _respond(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Response:
        path = target.split("?", 1)[0]
        route = self.routes.get(path)
        if route is None:
            return 200, {"Content-Type": "application/json"}, HEALTHY
        if callable(route):
            return route(method, target, headers, body)
        return route

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    break
                request_line, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
                method, target, _version = (request_line.split(" ", 2) + ["", ""])[:3]
                headers = {}
                for line in lines:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                body = await reader.readexactly(length) if length else b""
                if self.record:
                    self.requests.append((method, target, headers))
                if self.latency:
                    await asyncio.sleep(self.latency)
                status, response_headers, content = self._respond(method, target, headers, body)
                close = headers.get("connection", "").lower() == "close"
                out = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}"]
                response_headers = {"Content-Length": str(len(content)), **response_headers}
                if close:
                    response_headers["Connection"] = "close"
                out.extend(f"{name}: {value}" for name, value in response_headers.items())
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + (b"" if method == "HEAD" else content))
                await writer.drain()
                if close:
                    break
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, self.host, self.port, ssl=self.ssl_context,
                                                  backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    def start_in_thread(self) -> StubHTTPServer:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self.start())
            ready.set()
            self._loop.run_forever()
            self._server.close()
            # Finish open connections' handlers before closing the loop, so none is left half-done.
            pending = [task for task in asyncio.all_tasks(self._loop) if not task.done()]
            for task in pending:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._loop.close()

        self._thread = threading.Thread(target=run, name="stub-http", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("stub server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def __enter__(self) -> StubHTTPServer:
        return self.start_in_thread()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = StubHTTPServer(latency=args.latency_ms / 1000, port=args.port, record=False)

    async def serve() -> None:
        port = await server.start()
        print(port, flush=True)
        await asyncio.Event().wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
