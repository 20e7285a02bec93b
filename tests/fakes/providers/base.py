"""A small HTTP server on the loopback interface that plays a payment provider's API.

Each provider fake (``stripe``, ``adyen``, ``paypal``) subclasses ``FakeProvider`` and
implements ``dispatch``. The base class gives every fake the same test controls:

- idempotency: a request carrying a key is answered once and the stored answer replayed for
  the same key; the same key with a different request is refused (``idempotency_conflict``);
- ``fail_next(Fault.…)``: the next money-moving request is declined, answered 503 or 429
  without doing anything, or **stalls**: the provider commits the charge and stores the
  answer under the key, then sleeps past the client's timeout before answering (the
  unknown-outcome case);
- ``charges``/``refunds``/``payouts``: what the provider actually did, each key once;
- ``notify_url``: when set (``python -m tests.fakes.providers --gigcore URL``), the fake
  sends its own signed webhooks there after it charges, approves or captures, in the
  background and retried a few times, as the real provider would. Tests leave it unset
  and deliver webhooks themselves.

Bound to 127.0.0.1 on port 0 (a free port per fake), so tests run in parallel.
"""

from __future__ import annotations

import enum
import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs


class Fault(enum.Enum):
    DECLINE = "decline"  # the provider answers and refuses (stored under the key: final)
    UNAVAILABLE = "unavailable"  # 503 before doing anything (not stored: a retry proceeds)
    RATE_LIMITED = "rate_limited"  # 429 before doing anything
    STALL = "stall"  # commit, store the answer, then sleep past the client's timeout
    SERVER_ERROR = "server_error"  # commit, store the answer, but reply 500 this time


@attrs.frozen
class Request:
    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@attrs.frozen
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: Mapping[str, str] = attrs.field(factory=dict)

    @classmethod
    def of_json(cls, status: int, payload: object, headers: Mapping[str, str] | None = None) -> Response:
        return cls(status, json.dumps(payload).encode(), headers=dict(headers or {}))


@attrs.define
class Movement:
    """One thing the provider did: a charge, a refund or a payout."""

    kind: str
    provider_id: str
    amount_minor: int
    currency: str
    reference: str
    idempotency_key: str | None
    status: str = "succeeded"


class FakeProvider:
    """Subclasses set ``name``, ``idempotency_header`` and implement ``dispatch``."""

    name = "fake"
    idempotency_header = "Idempotency-Key"

    def __init__(self, *, stall_seconds: float = 3.0) -> None:
        self.stall_seconds = stall_seconds
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._faults: list[Fault] = []
        self._answers: dict[str, tuple[str, Response]] = {}
        self.movements: list[Movement] = []
        self.requests: list[Request] = []
        self._counter = 0
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        self.notify_url: str | None = None

    # -- lifecycle ------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeProvider:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"fake-{self.name}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @classmethod
    @contextmanager
    def running(cls, **kwargs: Any) -> Iterator[Any]:
        fake = cls(**kwargs).start()
        try:
            yield fake
        finally:
            fake.stop()

    # -- controls -------------------------------------------------------------------

    def fail_next(self, fault: Fault, times: int = 1) -> None:
        with self._lock:
            self._faults.extend([fault] * times)

    def kinds(self, kind: str) -> list[Movement]:
        with self._lock:
            return [m for m in self.movements if m.kind == kind]

    @property
    def charges(self) -> list[Movement]:
        return [m for m in self.kinds("charge") if m.status == "succeeded"]

    @property
    def refunds(self) -> list[Movement]:
        return self.kinds("refund")

    @property
    def payouts(self) -> list[Movement]:
        return self.kinds("payout")

    def next_id(self, prefix: str) -> str:
        with self._lock:
            self._counter += 1
            return f"{prefix}{self._counter:010d}"

    # -- request handling -----------------------------------------------------------

    def handle(self, request: Request) -> tuple[Response, float]:
        """Idempotency and faults around ``dispatch``; returns the answer and how long to
        sleep before sending it."""
        with self._lock:
            self.requests.append(request)
            key = request.header(self.idempotency_header) if request.method == "POST" else None
            fingerprint = self.fingerprint(request)
            if key is not None and key in self._answers:
                stored_fingerprint, stored = self._answers[key]
                if stored_fingerprint != fingerprint:
                    return self.idempotency_conflict(key), 0.0
                return stored, 0.0
            fault = self._faults.pop(0) if self._faults and self.moves_money(request) else None
            if fault is Fault.UNAVAILABLE:
                return self.unavailable(), 0.0
            if fault is Fault.RATE_LIMITED:
                return self.rate_limited(), 0.0
            response = self.dispatch(request, decline=fault is Fault.DECLINE)
            if key is not None and response.status < 500:
                self._answers[key] = (fingerprint, response)
            if fault is Fault.SERVER_ERROR:
                return self.server_error(), 0.0
            return response, self.stall_seconds if fault is Fault.STALL else 0.0

    def fingerprint(self, request: Request) -> str:
        try:
            body = json.dumps(request.json(), sort_keys=True)
        except ValueError:
            body = request.body.decode("latin-1")
        return f"{request.method} {request.path}?{request.query} {body}"

    def moves_money(self, request: Request) -> bool:
        return request.method == "POST"

    def dispatch(self, request: Request, *, decline: bool) -> Response:
        raise NotImplementedError

    def idempotency_conflict(self, key: str) -> Response:
        return Response.of_json(422, {"error": "idempotency_conflict", "key": key})

    def unavailable(self) -> Response:
        return Response.of_json(503, {"error": "unavailable"})

    def rate_limited(self) -> Response:
        return Response.of_json(429, {"error": "rate_limited"})

    def server_error(self) -> Response:
        return Response.of_json(500, {"error": "internal"})

    def notify(self, send: Callable[[str], int], *, attempts: int = 5) -> None:
        """Send a webhook to ``notify_url`` (if set) from a background thread, shortly after
        the answer that caused it, retrying a non-2xx answer with a growing pause."""
        url = self.notify_url
        if url is None:
            return

        def run() -> None:
            pause = 0.2
            for _ in range(attempts):
                if self._stopping.wait(pause):
                    return
                try:
                    if 200 <= send(url) < 300:
                        return
                except OSError:
                    pass  # gigcore not reachable yet: try again
                pause *= 2

        threading.Thread(target=run, name=f"fake-{self.name}-webhook", daemon=True).start()

    def record(self, movement: Movement) -> Movement:
        with self._lock:
            self.movements.append(movement)
        return movement

    def sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # concurrent clients must not wait for a SYN retransmit
    daemon_threads = True


def _handler_for(fake: FakeProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        wbufsize = 1 << 16  # headers and body leave in one write (no 40 ms delayed-ACK stall)

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path, _, query = self.path.partition("?")
            request = Request(self.command, path, query, dict(self.headers.items()), body)
            try:
                response, delay = fake.handle(request)
            except Exception as error:  # a bug in the fake shows as a 599 the test will notice
                response, delay = Response.of_json(599, {"error": f"fake crashed: {error!r}"}), 0.0
            if delay:
                fake.sleep(delay)
            try:
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(response.body)))
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(response.body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up waiting (the stall fault)

        do_GET = do_POST = do_DELETE = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: pytest shows failures, not access logs

    return Handler


def post(url: str, body: bytes, headers: Mapping[str, str]) -> int:
    """POST a webhook delivery; returns the HTTP status (4xx/5xx included, not raised)."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def a_free_port() -> int:
    """A loopback port nobody listens on (bound, then released): a provider that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
