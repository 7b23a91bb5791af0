"""Who may use the playground, and the page it serves: what its HTTP adapter checks.

Loopback only (:func:`local_request_problem`), a per-page token against other pages
(:class:`CsrfTokens`), JSON bodies only (:func:`is_json_request`), and the page's files with
a strict policy (:func:`load_static`, :data:`SECURITY_HEADERS`). The adapter itself is
``bot/rasa/playground.py``; no Rasa import here.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

STATIC_DIR = Path(__file__).with_name("static")
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip")


# --- who may use it --------------------------------------------------------------------------
def _is_loopback(value: str) -> bool:
    try:
        address = ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def _loopback_host(host: str) -> bool:
    # "127.0.0.1:5005", "localhost", "[::1]:5005"
    hostname = urlsplit(f"//{host}").hostname or ""
    return hostname in LOOPBACK_NAMES or _is_loopback(hostname)


def local_request_problem(peer: str | None, headers: Mapping[str, str]) -> str | None:
    """Why a request may not use the playground (None: a browser on this machine).

    The peer must be loopback, and so must the Host (no DNS rebinding) and the Origin when
    the browser sends one (no other site driving it); a request relayed by a proxy carries
    its headers and is refused, since the person behind it is elsewhere.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    if not peer or not _is_loopback(peer):
        return "the playground answers this machine only (loopback)"
    if any(name in lowered for name in PROXY_HEADERS):
        return "the playground is not served through a proxy"
    if not _loopback_host(lowered.get("host", "")):
        return "open the playground as http://127.0.0.1 or http://localhost"
    origin = lowered.get("origin")
    # Exactly the page's own origin: not "null" (a sandboxed frame, a file), not another
    # local server's page (http://127.0.0.1:8000 is another site for the browser).
    if origin is not None and origin != f"http://{lowered.get('host', '')}":
        return "requests from another site are refused"
    return None


# The page carries a token (a <meta> tag) that its script sends back in this header on every
# API call: another page, even on this machine, cannot read it (same-origin policy).
CSRF_HEADER = "X-Playground-Token"
CSRF_PLACEHOLDER = b"__PLAYGROUND_TOKEN__"


class CsrfTokens:
    """Per-page tokens: a random nonce and its HMAC under a secret of this process."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def _mac(self, nonce: str) -> str:
        return hmac.new(self._secret, nonce.encode(), hashlib.sha256).hexdigest()

    def issue(self) -> str:
        """A new token for a page being served."""
        nonce = secrets.token_urlsafe(16)
        return f"{nonce}.{self._mac(nonce)}"

    def valid(self, token: str | None) -> bool:
        """True for a token this process issued."""
        nonce, _, mac = (token or "").partition(".")
        return bool(nonce and mac) and hmac.compare_digest(mac, self._mac(nonce))


def is_json_request(content_type: str | None) -> bool:
    """Exactly application/json (a charset parameter allowed): a form or text/plain body,
    which another page may send without a preflight, is refused."""
    media_type, _, params = (content_type or "").partition(";")
    if media_type.strip().lower() != "application/json":
        return False
    params = params.strip().lower().replace(" ", "")
    return params in ("", "charset=utf-8")


# --- the page's files --------------------------------------------------------------------------
STATIC_TYPES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: https:; script-src 'self'; "
        "style-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def load_static(directory: Path = STATIC_DIR) -> dict[str, bytes]:
    """The page's files, read once (a missing file is a packaging error, said at start)."""
    return {name: (directory / name).read_bytes() for name in STATIC_TYPES}
