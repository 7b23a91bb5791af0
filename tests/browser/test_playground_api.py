"""The playground's page and JSON API on the running assistant (no browser needed):
the real Rasa dialogue behind both platform behaviours, and clear refusals of bad input."""

from __future__ import annotations

import json

import pytest

from bot.channels.base import WHATSAPP_MAX_UNITS, utf16_units
from tests.browser.conftest import ApiPerson, RunningPlayground

pytestmark = pytest.mark.e2e


def test_page_and_files_are_served_with_a_strict_policy(playground: RunningPlayground) -> None:
    http = playground.http
    page = playground.http.get(playground.page_url, timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "/webhooks/playground/static/app.js" in page.text
    script = playground.http.get(f"{playground.page_url}static/app.js", timeout=10)
    assert script.status_code == 200 and "javascript" in script.headers["Content-Type"]
    for name in ("secret.txt", "..%2F..%2Fcredentials.yml", "index.html"):
        assert http.get(f"{playground.page_url}static/{name}", timeout=10).status_code == 404
    config = playground.http.get(f"{playground.api}/config", timeout=10).json()
    assert config["modes"] == ["whatsapp", "telegram"]


# A request answered without a menu: the privacy notice comes with its answer.
DOCTOR = "je cherche un medecin a agadir"


def test_whatsapp_like_location_and_numbered_answers(playground: RunningPlayground) -> None:
    person = ApiPerson(playground, "whatsapp")
    greeting = person.say("bonjour", "besoin")  # the greeting and its numbered menu
    assert "\n1. " in greeting[0]["text"] and not greeting[0].get("buttons")
    # The notice comes with the next answer without a menu (one numbered menu per turn).
    person.say(DOCTOR, "Vous acceptez")
    person.say("1", "facultative")  # "1" accepts the notice
    replies = person.say(
        "",
        "Services près de vous",
        kind="location",
        latitude=30.4202,
        longitude=-9.5982,
        title="Agadir",
    )
    assert all(utf16_units(r["text"]) <= WHATSAPP_MAX_UNITS for r in replies)
    assert any("Agadir" in r["text"] for r in replies)


def test_telegram_like_buttons_round_trip(playground: RunningPlayground) -> None:
    person = ApiPerson(playground, "telegram", first_name="Awa")
    greeting = person.say("bonjour", "besoin")[0]
    consent = next(r for r in person.say(DOCTOR, "Vous acceptez") if "Vous acceptez" in r["text"])
    buttons = greeting["buttons"]
    assert buttons[0]["data"] == "/ask_health" and "1. " not in greeting["text"]
    accept = consent["buttons"][0]
    assert accept["data"] == "/privacy_accept"
    start = len(person.seen)
    assert person.send(kind="callback", data=accept["data"], title=accept["title"]).ok
    person.wait("facultative", start)
    echo = next(e for e in person.seen[start:] if e["role"] == "person")
    assert echo["text"] == accept["title"] and echo["kind"] == "callback"


def test_voice_note_is_answered_and_offers_a_mediator(playground: RunningPlayground) -> None:
    person = ApiPerson(playground, "whatsapp")
    person.say(DOCTOR, "Vous acceptez")
    person.say("1", "facultative")
    start = len(person.seen)
    person.say("", "vocal", kind="voice")
    offer = person.wait("1. Oui", start)
    assert any(r["text"].endswith("1. Oui\n2. Non") for r in offer)


def test_retried_message_is_processed_once(playground: RunningPlayground) -> None:
    person = ApiPerson(playground, "whatsapp")
    first = person.send(kind="text", text="merci", id="same-id-1")
    again = person.send(kind="text", text="merci", id="same-id-1")
    assert (first.json()["status"], again.json()["status"]) == ("queued", "duplicate")
    person.wait("plaisir")
    assert len([e for e in person.seen if e["role"] == "person"]) == 1


def test_bad_requests_get_clear_errors_and_never_a_500(playground: RunningPlayground) -> None:
    api, http = playground.api, playground.http
    person = ApiPerson(playground, "whatsapp")
    url = f"{api}/sessions/{person.session}/messages"
    cases = [
        (
            playground.http.post(
                url, data=b"{not json", headers={"Content-Type": "application/json"}, timeout=10
            ),
            400,
            "not UTF-8 JSON",
        ),
        (playground.http.post(url, data=b"text=hi", timeout=10), 415, "send JSON"),
        (playground.http.post(url, json=[1, 2], timeout=10), 400, "JSON object"),
        (playground.http.post(url, json={"kind": "fax"}, timeout=10), 400, "unknown kind"),
        (
            playground.http.post(url, json={"kind": "callback", "data": "/x"}, timeout=10),
            400,
            "type the number",
        ),
        (
            playground.http.post(
                url,
                data=json.dumps({"text": "x" * 70_000}),
                headers={"Content-Type": "application/json"},
                timeout=10,
            ),
            413,
            "too large",
        ),
        (
            playground.http.post(
                f"{api}/sessions/unknown-session-000000/messages", json={"text": "a"}, timeout=10
            ),
            404,
            "no such session",
        ),
        (playground.http.get(url, params={"after": "x"}, timeout=10), 400, "'after'"),
        (http.post(f"{api}/sessions", json={"mode": "sms"}, timeout=10), 400, "unknown mode"),
        (http.post(f"{api}/desk/messages", json={"text": ""}, timeout=10), 400, "required"),
    ]
    for resp, status, message in cases:
        assert resp.status_code == status, (resp.status_code, resp.text)
        assert message in resp.json()["error"]


def test_only_this_machine_may_use_it(playground: RunningPlayground) -> None:
    config = f"{playground.api}/config"
    for headers in (
        {"Host": "evil.example"},  # DNS rebinding
        {"X-Forwarded-For": "203.0.113.7"},  # relayed by a proxy
        {"Origin": "https://evil.example"},  # another site driving the browser
    ):
        resp = playground.http.get(config, headers=headers, timeout=10)
        assert resp.status_code == 403, headers
        assert resp.json()["error"]
    assert "playground" in playground.log() and "refused" in playground.log()
