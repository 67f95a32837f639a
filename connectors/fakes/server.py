"""The base of every fake channel: real HTTP on loopback, a clock the test controls, faults.

    with FakeShopify(clock=Clock(start)) as shop:        # a subclass of FakeApi
        shop.fail_next(3, status=503)                     # a burst of 5xx
        shop.stall_next(1, seconds=2.0)                   # do the work, answer late (a timeout)
        shop.drop_next(1)                                 # do the work, close without answering
        shop.on_request.append(lambda req: ...)           # change orders between pages
        client = httpx.Client(base_url=shop.url)

A subclass lists its routes (`routes()`: method, path regex, handler) and keeps its data
under `self.lock`. Every answer carries a `Date` header from the fake clock, so a client
that reads the channel's clock (connectors.api) sees the controlled time. `calls` records
every request, for tests that count what reached the channel.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["Clock", "FakeApi", "Request", "Response", "Route", "ServerBucket", "json_response"]


class Clock:
    """Fake time: starts at `start` and runs with real time (unless `ticking=False`); tests move
    it with `advance` or `set`."""

    def __init__(self, start: dt.datetime | None = None, *, ticking: bool = True) -> None:
        self._start = start or dt.datetime.now(dt.timezone.utc)
        self._t0 = time.monotonic()
        self._offset = dt.timedelta(0)
        self.ticking = ticking
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            run = dt.timedelta(seconds=time.monotonic() - self._t0) if self.ticking else dt.timedelta(0)
            return self._start + run + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += dt.timedelta(seconds=seconds)

    def set(self, when: dt.datetime) -> None:
        self.advance((when - self.now()).total_seconds())


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    match: re.Match[str] | None = None

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass(slots=True)
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    return Response(status, json.dumps(data).encode(), h)


Route = tuple[str, str, Callable[[Request], Response]]


@dataclass(slots=True)
class _Fault:
    kind: str  # fail | stall | drop
    status: int = 503
    seconds: float = 0.0
    path: str | None = None  # only requests whose path matches this regex


class FakeApi:
    def __init__(self, *, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.lock = threading.RLock()
        self.calls: list[Request] = []
        self.on_request: list[Callable[[Request], None]] = []
        self._faults: deque[_Fault] = deque()
        self._routes = [(m, re.compile(p), h) for m, p, h in self.routes()]
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- what subclasses provide -------------------------------------------------------

    def routes(self) -> Sequence[Route]:
        return ()

    # -- faults ---------------------------------------------------------------------------

    def fail_next(self, n: int = 1, *, status: int = 503, path: str | None = None) -> None:
        """The next `n` requests (to `path`, a regex) get `status` and are not carried out."""
        with self.lock:
            self._faults.extend(_Fault("fail", status=status, path=path) for _ in range(n))

    def stall_next(self, n: int = 1, *, seconds: float, path: str | None = None) -> None:
        """The next `n` requests are carried out, then answered `seconds` late."""
        with self.lock:
            self._faults.extend(_Fault("stall", seconds=seconds, path=path) for _ in range(n))

    def drop_next(self, n: int = 1, *, path: str | None = None) -> None:
        """The next `n` requests are carried out, then the connection closes unanswered."""
        with self.lock:
            self._faults.extend(_Fault("drop", path=path) for _ in range(n))

    def _fault_for(self, path: str) -> _Fault | None:
        with self.lock:
            for i, f in enumerate(self._faults):
                if f.path is None or re.search(f.path, path):
                    del self._faults[i]
                    return f
        return None

    # -- serving --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self, port: int = 0) -> FakeApi:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _serve(self) -> None:
                fake._handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeApi:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in h.headers.items()}
        req = Request(h.command, parts.path, parse_qs(parts.query, keep_blank_values=True), headers, body)
        fault = self._fault_for(parts.path)
        if fault is not None and fault.kind == "fail":
            self._send(h, json_response({"errors": [{"message": "Service unavailable (injected)"}]}, fault.status))
            return
        for hook in list(self.on_request):
            hook(req)
        with self.lock:
            self.calls.append(req)
        resp = self.dispatch(req)
        if fault is not None and fault.kind == "stall":
            time.sleep(fault.seconds)
        if fault is not None and fault.kind == "drop":
            h.close_connection = True
            try:
                h.connection.shutdown(2)
            except OSError:
                pass
            return
        self._send(h, resp)

    def dispatch(self, req: Request) -> Response:
        for method, pattern, handler in self._routes:
            if method != req.method:
                continue
            m = pattern.fullmatch(req.path)
            if m is not None:
                return handler(Request(req.method, req.path, req.query, req.headers, req.body, m))
        return json_response({"errors": [{"message": f"no route {req.method} {req.path}"}]}, 404)

    def _send(self, h: BaseHTTPRequestHandler, resp: Response) -> None:
        try:
            h.send_response_only(resp.status)  # send_response adds a second Date (the real clock)
            headers = {"Date": email.utils.format_datetime(self.clock.now().astimezone(dt.timezone.utc), usegmt=True)}
            headers.update(resp.headers)
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(resp.body)))
            h.end_headers()
            if resp.body:
                h.wfile.write(resp.body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout)
            h.close_connection = True


class ServerBucket:
    """The channel's side of a rate limit, on the fake clock: `try_take` says whether the call
    may run and what is left, so each fake answers with its platform's throttle shape."""

    def __init__(self, clock: Clock, *, rate: float, burst: float) -> None:
        self.clock, self.rate, self.burst = clock, rate, burst
        self.available = float(burst)
        self._at = clock.now()
        self._lock = threading.Lock()

    def _fill(self) -> None:
        now = self.clock.now()
        gained = (now - self._at).total_seconds() * self.rate
        if gained > 0:
            self.available = min(self.burst, self.available + gained)
            self._at = now

    def try_take(self, cost: float = 1.0) -> bool:
        with self._lock:
            self._fill()
            if self.available + 1e-9 < cost:
                return False
            self.available -= cost
            return True

    def refund(self, tokens: float) -> None:
        with self._lock:
            self.available = min(self.burst, self.available + tokens)

    def seconds_until(self, cost: float = 1.0) -> float:
        with self._lock:
            self._fill()
            return max(0.0, (cost - self.available) / self.rate)
