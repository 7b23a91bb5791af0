"""A TCP proxy on loopback that a test can cut and restore (PostgreSQL or Redis "down").

Stopping the shared PostgreSQL or Redis would break everyone else's tests; cutting our own
proxy in front of them makes the service unreachable for the assistant under test only.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field


@dataclass
class TcpProxy:
    """Forwards 127.0.0.1:<port> to ``target``; ``cut()`` drops and refuses connections."""

    target_host: str
    target_port: int
    port: int = 0
    _server: socket.socket | None = None
    _connections: list[socket.socket] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _cut: bool = False
    _stopped: bool = False

    def start(self) -> TcpProxy:
        """Listen on a free loopback port and forward in background threads."""
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", self.port))
        self._server.listen(64)
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self) -> None:
        assert self._server is not None
        while not self._stopped:
            try:
                client, _addr = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self._cut:
                client.close()  # the service is "down": the connection ends at once
                continue
            try:
                upstream = socket.create_connection((self.target_host, self.target_port), 5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                _close(sock)

    def cut(self) -> None:
        """Drop every open connection and refuse new ones until ``restore()``."""
        self._cut = True
        with self._lock:
            connections, self._connections = self._connections, []
        for sock in connections:
            _close(sock)

    def restore(self) -> None:
        """Accept and forward connections again."""
        self._cut = False

    def stop(self) -> None:
        """Stop listening and drop everything."""
        self._stopped = True
        self.cut()
        if self._server is not None:
            self._server.close()


def _close(sock: socket.socket) -> None:
    """Shut the connection down both ways (it may be gone already), then close it."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
