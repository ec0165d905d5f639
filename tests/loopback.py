"""A loopback OpenAI-compatible server (real sockets) that plays every debate role via `FakeDebater`.

Used by tests that run `hypodebate` in a subprocess, and by the benchmarks:

    python -m tests.loopback --port 8765 --latency 0.1
    python -m tests.loopback --port 8765 --latency 0.02 --seed 1 \\
        --faults rate_limit=0.05,server_error=0.05,hang=0.01,drop=0.02,truncated=0.03,bad_verdict=0.03

With `--faults` (a `FaultPlan`) the asyncio server injects, per request and at the given rates: 429s
with a `retry-after` header, 500/503s, hung requests (held past the client's timeout, then answered),
dropped connections (closed without a response), truncated tool-call JSON, and verdicts that break the
schema (an out-of-range score or a missing field). `GET /v1/_faults` returns what it injected so far.

With `--cache` (a `PrefixCache`) it reports `usage.prompt_tokens_details.cached_tokens` as OpenAI does: the longest
prefix a prompt shares with an earlier prompt to the same model, in whole blocks of 128 tokens, 0 below 1,024, and
counts prompt tokens as characters / 4 (as `--fill` does). `--tools-first` puts the function schema before the
messages, where OpenAI renders it:

    python -m tests.loopback --port 8765 --fill --cache
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from tests.fakes import FakeDebater, Reply, completion_json, prompt_text

FaultKind = Literal["rate_limit", "server_error", "hang", "drop", "truncated", "bad_verdict"]
FAULT_KINDS: tuple[FaultKind, ...] = ("rate_limit", "server_error", "hang", "drop", "truncated", "bad_verdict")


class PrefixCache:
    """A provider's prompt cache, as OpenAI reports it: a prompt's cached tokens are the longest prefix it shares
    with any earlier prompt to the same model, rounded down to a multiple of `BLOCK` tokens, and 0 below `MINIMUM`.
    Tokens are characters / 4 (the fakes' count); a prefix is kept as the chained hashes of its blocks, as vLLM's
    and llama.cpp's caches keep theirs. `tools_first`: the schema is read before the messages (`prompt_text`)."""

    BLOCK = 128
    MINIMUM = 1024
    CHARS = 4  # characters per token

    def __init__(self, *, tools_first: bool = False) -> None:
        self.tools_first = tools_first
        self._blocks: set[bytes] = set()
        self._lock = threading.Lock()

    def answering(self, responder: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
        """`responder` with each reply's prompt tokens counted and its cached tokens reported (a scripted fault,
        `(status, payload, headers)`, passes as it is)."""

        def answer(body: dict[str, Any]) -> Any:
            step = responder(body)
            if not isinstance(step, Reply):
                return step
            prompt, cached = self.measure(body)
            return replace(step, prompt_tokens=prompt, cached_tokens=cached)

        return answer

    def measure(self, body: dict[str, Any]) -> tuple[int, int]:
        """(prompt tokens, cached tokens) of a request; its blocks are cached for the requests after it."""
        text = prompt_text(body, tools_first=self.tools_first)
        size = self.BLOCK * self.CHARS
        chain = hashlib.sha256(str(body.get("model")).encode())
        blocks = []
        for start in range(0, len(text) - size + 1, size):
            chain.update(text[start : start + size].encode())
            blocks.append(chain.copy().digest())
        with self._lock:
            shared = next((i for i, block in enumerate(blocks) if block not in self._blocks), len(blocks))
            self._blocks.update(blocks)
        cached = shared * self.BLOCK
        return len(text) // self.CHARS, cached if cached >= self.MINIMUM else 0


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512

    def __init__(
        self,
        port: int = 0,
        *,
        latency: float = 0.0,
        responder: Callable[[dict[str, Any]], Any] | None = None,
        cache: PrefixCache | None = None,
    ):
        super().__init__(("127.0.0.1", port), _Handler)
        self.latency = latency
        self.responder = responder or FakeDebater()
        if cache is not None:  # prompt tokens counted, cached tokens reported (OpenAI's prompt caching)
            self.responder = cache.answering(self.responder)
        self.calls = 0
        self.authorizations: set[str] = set()
        self.calls_by_key: Counter[str] = Counter()
        # `wait_for_keys(n)`: hold every request until n different API keys have called (so n client processes
        # are all working before any of them gets an answer)
        self._keys_seen = threading.Condition()
        self._hold_until = 0
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

    def wait_for_keys(self, count: int) -> LoopbackServer:
        self._hold_until = count
        return self

    def _arrived(self, key: str) -> None:
        with self._keys_seen:
            self.calls_by_key[key] += 1
            self._keys_seen.notify_all()
            self._keys_seen.wait_for(lambda: len(self.calls_by_key) >= self._hold_until, timeout=60)


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
        self.server._arrived(self.headers.get("authorization", ""))
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


# -- fault injection --------------------------------------------------------------------------------


@dataclass
class FaultPlan:
    """Per-request fault rates (each a probability; together at most 1) drawn from one seeded RNG.

    `bad_verdict` applies to verdict requests only (its rate is per verdict call). `injected` counts what
    was injected, by kind; `requests` counts every chat request seen.
    """

    rate_limit: float = 0.0
    server_error: float = 0.0
    hang: float = 0.0
    drop: float = 0.0
    truncated: float = 0.0
    bad_verdict: float = 0.0
    seed: int = 0
    hang_s: float = 2.0  # how long a hung request is held: longer than the client's timeout
    retry_after_s: float = 0.05
    requests: int = field(default=0, init=False)
    injected: Counter[str] = field(default_factory=Counter, init=False)
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        rates = [getattr(self, kind) for kind in FAULT_KINDS]
        if any(not 0 <= rate <= 1 for rate in rates) or sum(rates) > 1:
            raise ValueError(f"fault rates must each be in 0..1 and sum to at most 1, got {rates}")
        self._rng = random.Random(self.seed)

    @classmethod
    def parse(cls, spec: str, **options: Any) -> FaultPlan:
        """`rate_limit=0.05,server_error=0.05,...` (kinds from FAULT_KINDS) plus keyword options (seed, hang_s)."""
        rates: dict[str, float] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            kind, _, value = item.partition("=")
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault {kind!r}; expected one of {', '.join(FAULT_KINDS)}")
            rates[kind] = float(value)
        return cls(**rates, **options)

    def draw(self, request: dict[str, Any]) -> FaultKind | None:
        """The fault to inject into this request, if any (and count it)."""
        self.requests += 1
        roll, edge = self._rng.random(), 0.0
        for kind in FAULT_KINDS:
            edge += getattr(self, kind)
            if roll < edge:
                if kind == "bad_verdict" and not is_verdict_request(request):
                    return None
                self.injected[kind] += 1
                return kind
        return None

    def counts(self) -> dict[str, Any]:
        return {"requests": self.requests, "injected": {kind: self.injected[kind] for kind in FAULT_KINDS}}

    def error_response(self, kind: FaultKind) -> tuple[int, dict[str, Any], dict[str, str]]:
        """(status, body, headers) of an HTTP-level fault."""
        if kind == "rate_limit":
            body = {"error": {"message": "rate limited (injected)", "type": "rate_limit_error"}}
            return 429, body, {"retry-after": f"{self.retry_after_s:g}"}
        status = 503 if self.injected["server_error"] % 2 == 0 else 500  # alternately
        return status, {"error": {"message": f"injected {status}", "type": "server_error"}}, {}

    def spoil(self, kind: FaultKind, reply: Reply) -> Reply:
        """A 200 answer that the client must reject: JSON cut in half, or a verdict that breaks the schema."""
        args = reply.tool_args
        if kind == "truncated":
            if args is None:
                return replace(reply, content=(reply.content or "")[: len(reply.content or "") // 2])
            text = args if isinstance(args, str) else json.dumps(args)
            return replace(reply, tool_args=text[: len(text) // 2])
        verdict = dict(json.loads(args) if isinstance(args, str) else args or {})
        if self.injected["bad_verdict"] % 2:
            scores = dict(verdict.get("scores") or {"score": 0})
            scores[next(iter(scores))] = 11  # out of range on a 1..10 scale
            verdict["scores"] = scores
        else:
            verdict.pop("summary", None)  # a required field missing
        return replace(reply, tool_args=verdict)


def is_verdict_request(request: dict[str, Any]) -> bool:
    tools = request.get("tools") or []
    return any("scores" in t.get("function", {}).get("parameters", {}).get("properties", {}) for t in tools)


# -- the asyncio server -------------------------------------------------------------------------------


def _response(status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> bytes:
    data = json.dumps(payload).encode()
    head = f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\ncontent-type: application/json\r\n"
    head += "".join(f"{key}: {value}\r\n" for key, value in (headers or {}).items())
    return (head + f"content-length: {len(data)}\r\n\r\n").encode("latin-1") + data


class Load:
    """Requests in flight at the fake over time (`GET /_load`): how busy the engine keeps its call slots."""

    def __init__(self) -> None:
        self.in_flight = self.peak = self.requests = 0
        self.busy_s = 0.0  # the integral of requests in flight over time
        self._since = time.monotonic()

    def _advance(self) -> None:
        now = time.monotonic()
        self.busy_s += self.in_flight * (now - self._since)
        self._since = now

    def arrive(self) -> None:
        self._advance()
        self.in_flight += 1
        self.requests += 1
        self.peak = max(self.peak, self.in_flight)

    def leave(self) -> None:
        self._advance()
        self.in_flight -= 1

    def reading(self) -> dict[str, float]:
        self._advance()
        return {"requests": self.requests, "busy_s": self.busy_s, "peak": self.peak, "clock": time.monotonic()}


async def serve_async(
    port: int,
    latency: float,
    responder: Callable[[dict[str, Any]], Any],
    faults: FaultPlan | None = None,
    *,
    started: Callable[[str], None] | None = None,
) -> None:
    """The same fake on one asyncio loop (no thread per connection): cheap enough that a benchmark
    measures the engine, not the fake. HTTP/1.1 keep-alive, fixed latency per request; with `faults`,
    injected failures. `started(url)` is called once listening (default: print the URL)."""

    load = Load()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines if h)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status, extra = 200, {}
                if request_line.startswith("GET"):
                    path = request_line.split(" ")[1] if " " in request_line else ""
                    if path.endswith("/_faults"):
                        payload = faults.counts() if faults else {"requests": None, "injected": {}}
                    elif path.endswith("/_load"):
                        payload = load.reading()
                    else:
                        payload = {"object": "list", "data": [{"id": "loopback-model", "object": "model"}]}
                else:
                    load.arrive()
                    request = json.loads(body)
                    fault = faults.draw(request) if faults else None
                    if fault == "drop":
                        load.leave()
                        return  # close the connection without a response
                    if fault == "hang":
                        assert faults is not None
                        await asyncio.sleep(faults.hang_s)  # past the client's timeout; then answer anyway
                    elif latency and fault != "rate_limit":
                        await asyncio.sleep(latency)
                    if fault in ("rate_limit", "server_error"):
                        assert faults is not None
                        status, payload, extra = faults.error_response(fault)
                    else:
                        reply = responder(request)
                        if fault in ("truncated", "bad_verdict"):
                            assert faults is not None
                            reply = faults.spoil(fault, reply)
                        payload = completion_json(reply, request["model"])
                if request_line.startswith("POST"):
                    load.leave()
                if status == 200 and not extra:
                    data = json.dumps(payload).encode()
                    writer.write(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                        + str(len(data)).encode()
                        + b"\r\n\r\n"
                        + data
                    )
                else:
                    writer.write(_response(status, payload, extra))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except asyncio.CancelledError:  # the server is stopping (AsyncLoopback.stop): end this connection quietly
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"
    if started is None:
        print(url, flush=True)
    else:
        started(url)
    async with server:
        await server.serve_forever()


class AsyncLoopback:
    """`serve_async` on its own event loop in a thread, for in-process tests: `start()`, `url`, `stop()`."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        responder: Callable[[dict[str, Any]], Any] | None = None,
        faults: FaultPlan | None = None,
        cache: PrefixCache | None = None,
    ) -> None:
        self.latency = latency
        self.responder = responder or FakeDebater()
        if cache is not None:
            self.responder = cache.answering(self.responder)
        self.faults = faults
        self.url = ""
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> AsyncLoopback:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the loopback server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop, self._task = asyncio.get_running_loop(), asyncio.current_task()

        def started(url: str) -> None:
            self.url = url
            self._ready.set()

        with contextlib.suppress(asyncio.CancelledError):
            await serve_async(0, self.latency, self.responder, self.faults, started=started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--faults", help="kind=rate,... with kinds " + ", ".join(FAULT_KINDS) + " ('' counts only)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault RNG")
    parser.add_argument("--hang-s", type=float, default=2.0, help="how long a hung request is held")
    parser.add_argument("--retry-after", type=float, default=0.05, help="retry-after seconds sent with 429s")
    parser.add_argument("--fill", action="store_true", help="answers written to every cap; tokens = characters / 4")
    parser.add_argument("--cache", action="store_true", help="report cached prompt tokens as OpenAI does")
    parser.add_argument("--tools-first", action="store_true", help="with --cache: the schema precedes the messages")
    args = parser.parse_args()
    plan = (
        FaultPlan.parse(args.faults, seed=args.seed, hang_s=args.hang_s, retry_after_s=args.retry_after)
        if args.faults is not None
        else None
    )
    responder: Callable[[dict[str, Any]], Any] = FakeDebater(fill=args.fill)
    if args.cache:
        responder = PrefixCache(tools_first=args.tools_first).answering(responder)
    asyncio.run(serve_async(args.port, args.latency, responder, plan))


if __name__ == "__main__":
    main()
