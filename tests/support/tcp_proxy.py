"""A small threaded TCP proxy that drills put in front of PostgreSQL or RabbitMQ to take
the service away from *one* client and give it back, while other tests keep using the
real server.

``down()`` cuts every open connection and refuses new ones (accepted and closed at once,
so clients see the service gone rather than waiting); ``down(hang=True)`` instead accepts
and never answers (a service that hangs). ``up()`` forwards again.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._held: set[socket.socket] = set()  # accepted in "hang" state, never answered
        self._state = "up"  # up, down, hang
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, name=f"tcp-proxy-{self.port}", daemon=True)
        self._thread.start()

    def up(self) -> None:
        """Forward again; connections held by ``down(hang=True)`` are cut (their clients
        retry at once rather than waiting out their own timeouts)."""
        with self._lock:
            self._state = "up"
            for sock in self._held:
                _close(sock)
                self._open.discard(sock)
            self._held.clear()

    def down(self, *, hang: bool = False) -> None:
        with self._lock:
            self._state = "hang" if hang else "down"
            for sock in list(self._open):
                _close(sock)
            self._open.clear()
            self._held.clear()

    def close(self) -> None:
        self._closed.set()
        self.down()
        self._thread.join(2)
        _close(self._listener)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                state = self._state
                if state == "hang":
                    self._open.add(client)  # held silently until down()/up() cuts it
                    self._held.add(client)
                    continue
            if state == "down":
                _close(client)
                continue
            try:
                server = socket.create_connection(self._target, timeout=2)
            except OSError:
                _close(client)
                continue
            server.settimeout(None)
            with self._lock:
                self._open.update((client, server))
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)
            _close(source)
            _close(sink)


def _close(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with suppress(OSError):
        sock.close()


@contextmanager
def tcp_proxy(target_host: str, target_port: int) -> Iterator[TcpProxy]:
    proxy = TcpProxy(target_host, target_port)
    try:
        yield proxy
    finally:
        proxy.close()
