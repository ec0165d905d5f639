"""A loopback OpenAI-compatible server (real sockets) that plays every debate role via `FakeDebater`.

Used by tests that run `hypodebate` in a subprocess, and by the benchmarks:

    python -m tests.loopback --port 8765 --latency 0.1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes import FakeDebater, Reply, completion_json


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512

    def __init__(
        self, port: int = 0, *, latency: float = 0.0, responder: Callable[[dict[str, Any]], Any] | None = None
    ):
        super().__init__(("127.0.0.1", port), _Handler)
        self.latency = latency
        self.responder = responder or FakeDebater()
        self.calls = 0
        self.authorizations: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/v1"

    def start(self) -> LoopbackServer:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that dies mid-request (a killed batch) is expected here, not an error."""

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LoopbackServer

    def do_GET(self) -> None:
        self._send(200, {"object": "list", "data": [{"id": "loopback-model", "object": "model"}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        with self.server._lock:
            self.server.calls += 1
            if auth := self.headers.get("authorization"):
                self.server.authorizations.add(auth)
        if self.server.latency:
            time.sleep(self.server.latency)
        step = self.server.responder(body)
        if isinstance(step, tuple):  # (status, payload, headers) for scripted faults
            status, payload, headers = step
            self._send(status, payload, headers)
            return
        assert isinstance(step, Reply)
        self._send(200, completion_json(step, body["model"]))

    def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


async def serve_async(port: int, latency: float, responder: Callable[[dict[str, Any]], Any]) -> None:
    """The same fake on one asyncio loop (no thread per connection): cheap enough that a benchmark
    measures the engine, not the fake. HTTP/1.1 keep-alive, fixed latency per request."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines if h)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if request_line.startswith("GET"):
                    payload: dict[str, Any] = {"object": "list", "data": [{"id": "loopback-model", "object": "model"}]}
                else:
                    request = json.loads(body)
                    if latency:
                        await asyncio.sleep(latency)
                    payload = completion_json(responder(request), request["model"])
                data = json.dumps(payload).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                    + str(len(data)).encode()
                    + b"\r\n\r\n"
                    + data
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    print(f"http://127.0.0.1:{port}/v1", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    asyncio.run(serve_async(args.port, args.latency, FakeDebater()))


if __name__ == "__main__":
    main()
