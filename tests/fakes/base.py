"""A small threaded HTTP server on 127.0.0.1 that records requests and can be told to fail."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Call:
    """One request the bot made."""

    method: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)


@dataclass
class Failure:
    """An answer to give instead of the normal one."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class FakeApi:
    """Base of the fakes: subclasses implement ``answer(call) -> (status, body)``."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.failures: list[Failure] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeApi:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                fake._handle(self)

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def __enter__(self) -> Any:
        """``with Fake(...) as fake``: started, and stopped when the block ends."""
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        content_type = handler.headers.get("Content-Type", "")
        params: dict[str, Any]
        if "json" in content_type:
            params = json.loads(raw or b"{}")
        else:
            params = {k: v[0] if len(v) == 1 else v for k, v in parse_qs(raw.decode()).items()}
        call = Call(handler.command, urlsplit(handler.path).path, params, dict(handler.headers))
        with self.lock:
            self.calls.append(call)
            failure = self.failures.pop(0) if self.failures else None
        if failure is not None:
            status, body, headers = failure.status, failure.body, failure.headers
        else:
            status, body = self.answer(call)
            headers = {}
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)

    def answer(self, call: Call) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError

    def fail_next(self, count: int, failure: Failure) -> None:
        """Answer the next ``count`` calls with ``failure``."""
        with self.lock:
            self.failures.extend([failure] * count)

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.failures.clear()

    def recorded(self, predicate: Callable[[Call], bool] = lambda _c: True) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if predicate(c)]

    def wait_for(
        self, predicate: Callable[[Call], bool], count: int = 1, timeout: float = 30.0
    ) -> list[Call]:
        """Calls matching ``predicate`` once there are ``count`` of them (bounded wait)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.recorded(predicate)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)
