"""Every way in is authenticated, against the running assistant (tests/security/conftest.py):
Rasa's HTTP API and REST channel need the token, the token is not on the command line, an
SMS from a mediator's number is not the mediator, the playground refuses other pages, and
an oversized body is refused before it is read."""

from __future__ import annotations

import re
import socket
import time
from urllib.parse import urlsplit

import pytest
import requests

from tests.channels.helpers import post_whatsapp, twilio_params
from tests.security.conftest import MEDIATOR_NUMBER, TOKEN, Secured

pytestmark = pytest.mark.e2e
REST = "/webhooks/rest/webhook"
PLAYGROUND = "/webhooks/playground"


def test_rasa_http_api_needs_the_token(secured: Secured) -> None:
    url = f"{secured.url}/conversations/someone/tracker"
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, params={"token": TOKEN}, timeout=10).status_code == 200


def test_rest_channel_needs_the_token(secured: Secured) -> None:
    """High: anyone reaching the port could post as any sender (a pseudonym) on REST."""
    body = {"sender": "someone-elses-pseudonym", "message": "/delete_data"}
    refused = requests.post(f"{secured.url}{REST}", json=body, timeout=30)
    assert refused.status_code == 401
    allowed = requests.post(
        f"{secured.url}{REST}",
        json={"sender": "admin-check", "message": "bonjour"},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=60,
    )
    assert allowed.status_code == 200 and allowed.json()


def test_api_token_is_not_in_the_process_list(secured: Secured) -> None:
    """Low: `ps` showed --auth-token <token>."""
    pid = secured.assistant.processes["rasa"].pid
    cmdline = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode()
    assert "bot.rasa.server" in cmdline and TOKEN not in cmdline


def _mediator_messages(secured: Secured) -> list:
    return secured.twilio.recorded(lambda c: c.params.get("To") == f"whatsapp:{MEDIATOR_NUMBER}")


@pytest.mark.parametrize(
    ("sender", "to"),
    [
        (MEDIATOR_NUMBER, "whatsapp:+14155238886"),  # an SMS from the mediator's number
        (MEDIATOR_NUMBER, "+14155238886"),
        (f"whatsapp:{MEDIATOR_NUMBER}", "whatsapp:+15550001111"),  # another of our numbers
    ],
)
def test_an_sms_from_a_mediators_number_is_not_the_mediator(
    secured: Secured, sender: str, to: str
) -> None:
    """Medium: an SMS signed by the same Twilio account got /queue (first names), /take."""
    before = len(_mediator_messages(secured))
    params = twilio_params(MEDIATOR_NUMBER, "/queue", From=sender, To=to)
    resp, _ = post_whatsapp(secured.url, params)
    assert resp.status_code == 200  # Twilio must not retry it
    time.sleep(3)
    assert len(_mediator_messages(secured)) == before


def test_the_mediator_on_whatsapp_still_gets_the_queue(secured: Secured) -> None:
    """Control: the same command from the mediator's WhatsApp to our number is answered."""
    before = len(_mediator_messages(secured))
    resp, _ = post_whatsapp(secured.url, twilio_params(MEDIATOR_NUMBER, "/queue"))
    assert resp.status_code == 200
    assert (
        len(
            secured.twilio.wait_for(
                lambda c: c.params.get("To") == f"whatsapp:{MEDIATOR_NUMBER}", before + 1, 30
            )
        )
        > before
    )


# --- the playground ---------------------------------------------------------------------
def _page_token(secured: Secured) -> str:
    page = requests.get(f"{secured.url}{PLAYGROUND}/", timeout=10)
    assert page.status_code == 200
    found = re.search(r'name="playground-token" content="([^"]+)"', page.text)
    assert found, "the page carries no token"
    return found.group(1)


def _desk_post(secured: Secured, headers: dict[str, str], data: bytes) -> int:
    return requests.post(
        f"{secured.url}{PLAYGROUND}/api/desk/messages", data=data, headers=headers, timeout=10
    ).status_code


def test_playground_refuses_another_local_page(secured: Secured) -> None:
    """Medium: Origin: null, any loopback origin and a text/plain body "containing json"
    were accepted, so another page open in the browser could post `take 3` and a reply."""
    origin = f"http://{urlsplit(secured.url).netloc}"
    token = _page_token(secured)
    body = b'{"text": "take 3", "id": "csrf-1"}'
    json_type = {"Content-Type": "application/json"}
    attacks = [
        {"Origin": "null", "Content-Type": "text/plain; x=json", "X-Playground-Token": token},
        {"Origin": "null", **json_type, "X-Playground-Token": token},
        {"Origin": "http://127.0.0.1:1", **json_type, "X-Playground-Token": token},
        {"Origin": origin, "Content-Type": "text/plain; x=json", "X-Playground-Token": token},
        {"Origin": origin, **json_type},  # no page token
        {"Origin": origin, **json_type, "X-Playground-Token": "forged.0000"},
    ]
    for headers in attacks:
        assert _desk_post(secured, headers, body) in (403, 415), headers
    # The page itself, with its token:
    ok = {"Origin": origin, **json_type, "X-Playground-Token": token}
    assert _desk_post(secured, ok, b'{"text": "/status", "id": "csrf-ok"}') == 202


def test_a_body_over_the_limit_is_refused_before_it_is_read(secured: Secured) -> None:
    """Low: Sanic's 100 MB limit stayed; our size checks ran after the body was read."""
    # Refused at once from the announced length: no 50 MB is awaited.
    answer = _whatsapp_announcing(secured, 50_000_000)
    assert answer.startswith(b"HTTP/1.1 413"), answer


def test_a_webhook_body_over_its_own_limit_is_refused_unread(secured: Secured) -> None:
    """Low: the 64/256 KB checks ran only after the whole body was read."""
    answer = _whatsapp_announcing(secured, 200_000)  # 413 (64 KB), not waiting for 200 KB
    assert answer.startswith(b"HTTP/1.1 413"), answer


def _whatsapp_announcing(secured: Secured, length: int) -> bytes:
    """The first answer to a WhatsApp webhook request announcing ``length`` bytes, of which
    only six are sent."""
    parts = urlsplit(secured.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(
            b"POST /webhooks/whatsapp/webhook HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: " + str(length).encode() + b"\r\n\r\nBody=x"
        )
        return sock.recv(200)


def _announce(host: str, port: int, request_line: bytes, length: int) -> bytes:
    """Send only the headers of a request announcing ``length`` bytes; the first answer."""
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(
            request_line + b"\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(length).encode() + b"\r\n\r\n{"
        )
        return sock.recv(200)


@pytest.mark.parametrize(
    ("server", "request_line"),
    [
        ("rasa", f"POST {REST}?token={TOKEN} HTTP/1.1".encode()),  # no per-route limit
        ("rasa", f"PUT /model?token={TOKEN} HTTP/1.1".encode()),  # replacing the model
        ("rasa", b"POST /webhooks/playground/api/desk/messages HTTP/1.1"),
        ("actions", b"POST /webhook HTTP/1.1"),  # the action server's Sanic too
    ],
)
def test_sanics_own_limit_refuses_any_route_unread(
    secured: Secured, server: str, request_line: bytes
) -> None:
    """Low: Sanic's 100 MB request limit stayed in force on every route without a check of
    its own (REST, the HTTP API, the playground, the action server): SANIC_REQUEST_MAX_SIZE
    is 256 KB, refused from Content-Length before the body is read."""
    from bot.runner import REQUEST_MAX_BYTES

    url = secured.url if server == "rasa" else secured.assistant.action_url
    parts = urlsplit(url)
    # Just over the limit, and far over it: the limit is ours, not Sanic's 100 MB. Refused
    # at once (a limit not applied would wait for the body: socket timeout).
    for length in (REQUEST_MAX_BYTES + 1, 1024 * 1024):
        answer = _announce(parts.hostname, parts.port, request_line, length)
        if server == "rasa":
            assert answer.startswith(b"HTTP/1.1 413"), answer
        else:  # rasa_sdk turns Sanic's PayloadTooLarge into a 500 with Sanic's sentence
            assert b"Request body exceeds the size limit" in answer, answer
