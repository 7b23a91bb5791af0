"""The playground without a server: settings, who may use it, mailboxes, sessions, both
platform behaviours through the real pipeline, and the hand-off with the desk pane."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from http import HTTPStatus
from pathlib import Path

import pytest

from bot.app import build_runtime, services
from bot.channels import base
from bot.channels.base import Button, IncomingMessage, OutgoingMessage, utf16_units
from bot.channels.store import ChannelStore
from bot.handoff.mediators import Registry, parse_registry
from bot.handoff.outbox import Flusher
from bot.handoff.relay import HandoffInterceptor
from bot.handoff.tickets import TicketRequest
from bot.playground import (
    CHANNEL,
    MAX_WAIT_S,
    MEDIATOR_ID,
    TELEGRAM,
    WHATSAPP,
    Mailbox,
    Playground,
    PlaygroundError,
    PlaygroundHub,
    build_playground,
    load_static,
    local_request_problem,
    playground_mediator,
    with_playground,
)
from bot.settings import Settings, SettingsError, load_settings

KEY = "playground-test-key"
LOCAL = {"Host": "127.0.0.1:5005"}


# --- settings -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("env", "enabled"),
    [
        ({}, True),  # dev, no platform: on
        ({"PLAYGROUND": "off"}, False),
        ({"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"}, False),  # real people: off
        ({"TELEGRAM_BOT_TOKEN": "1:x"}, False),
        ({"MEDIATOR_TELEGRAM_BOT_TOKEN": "2:y"}, False),
        ({"TELEGRAM_BOT_TOKEN": "1:x", "PLAYGROUND": "on"}, True),  # explicit choice
        ({"PLAYGROUND": "1"}, True),
    ],
)
def test_playground_is_on_in_dev_only_without_real_platforms_unless_asked(
    env: dict[str, str], enabled: bool
) -> None:
    assert load_settings(environ=env, env_file=None).playground_enabled is enabled


def test_the_production_profile_never_serves_the_playground() -> None:
    prod = {
        "PROFILE": "prod",
        "DATABASE_URL": "postgresql://h/db",
        "REDIS_URL": "redis://r",
        "PSEUDONYM_KEY": "k" * 20,
    }
    assert load_settings(environ=prod, env_file=None).playground_enabled is False
    assert Settings(profile="prod", playground="on").playground_enabled is False
    with pytest.raises(SettingsError, match="never runs with PROFILE=prod"):
        load_settings(environ={**prod, "PLAYGROUND": "on"}, env_file=None)
    with pytest.raises(SettingsError, match="PLAYGROUND='maybe': expected auto, on or off"):
        load_settings(environ={"PLAYGROUND": "maybe"}, env_file=None)


def test_disabled_adapter_sets_nothing_up(tmp_path: Path) -> None:
    from bot.rasa.playground import PlaygroundInput

    async def nothing(_message: object) -> None:
        return None

    channel = PlaygroundInput(Settings(var_dir=tmp_path, profile="dev", playground="off"))
    channel.blueprint(nothing)
    assert channel.playground is None and channel.get_output_channel() is None


# --- who may use it -------------------------------------------------------------------------
@pytest.mark.parametrize("peer", ["127.0.0.1", "::1", "::ffff:127.0.0.1", "127.0.0.2"])
def test_a_browser_on_this_machine_is_welcome(peer: str) -> None:
    assert local_request_problem(peer, LOCAL) is None
    assert local_request_problem(peer, {"host": "localhost:5005"}) is None
    assert (
        local_request_problem(peer, {"Host": "[::1]:5005", "Origin": "http://[::1]:5005"}) is None
    )


@pytest.mark.parametrize(
    ("peer", "headers", "why"),
    [
        ("192.168.1.20", LOCAL, "loopback"),
        ("", LOCAL, "loopback"),
        ("not-an-ip", LOCAL, "loopback"),
        ("127.0.0.1", {"Host": "evil.example:5005"}, "127.0.0.1 or http://localhost"),
        ("127.0.0.1", {"Host": "127.0.0.1.evil.example"}, "127.0.0.1 or http://localhost"),
        ("127.0.0.1", {**LOCAL, "X-Forwarded-For": "203.0.113.9"}, "proxy"),
        ("127.0.0.1", {**LOCAL, "Forwarded": "for=203.0.113.9"}, "proxy"),
        ("127.0.0.1", {**LOCAL, "Origin": "https://evil.example"}, "another site"),
        ("127.0.0.1", {**LOCAL, "Origin": "file://"}, "another site"),
        # Exactly the page's origin: not "null", not another local server's page.
        ("127.0.0.1", {**LOCAL, "Origin": "null"}, "another site"),
        (
            "127.0.0.1",
            {"Host": "127.0.0.1:5005", "Origin": "http://127.0.0.1:8000"},
            "another site",
        ),
        ("127.0.0.1", {"Host": "[::1]:5005", "Origin": "http://localhost:5005"}, "another site"),
    ],
)
def test_anything_else_is_refused_with_a_reason(
    peer: str, headers: dict[str, str], why: str
) -> None:
    problem = local_request_problem(peer, headers)
    assert problem is not None and why in problem


# --- mailboxes and sessions -------------------------------------------------------------------
async def test_mailbox_is_bounded_and_wakes_a_waiting_poll() -> None:
    box = Mailbox(size=3)
    for n in range(5):
        box.put(role="bot", text=str(n))
    assert [e["text"] for e in box.after(0)] == ["2", "3", "4"]
    assert box.last == 5 and box.after(5) == []
    assert await box.wait(5, 0.05) == []  # nothing new: returns after the timeout

    async def later() -> None:
        await asyncio.sleep(0.05)
        box.put(role="bot", text="new")

    task = asyncio.create_task(later())
    started = asyncio.get_running_loop().time()
    found = await box.wait(5, 5.0)
    await task
    assert [e["text"] for e in found] == ["new"]
    assert asyncio.get_running_loop().time() - started < 2.0


def test_sessions_are_bounded_and_idle_ones_go_first() -> None:
    hub = PlaygroundHub(KEY, max_sessions=2)
    first, second = hub.create(WHATSAPP, None), hub.create(TELEGRAM, "Awa")
    assert first.sender.startswith("playg-") and first.sender != second.sender
    assert hub.get(first.id) is first  # used: second is now the least recently used
    third = hub.create(WHATSAPP, None)
    assert len(hub) == 2 and hub.get(second.id) is None and hub.for_sender(second.sender) is None
    assert hub.for_sender(third.sender) is third
    hub.idle_seconds = -1  # everything is idle
    hub.create(WHATSAPP, None)
    assert len(hub) == 1 and hub.get(first.id) is None


def test_the_page_files_exist_and_load_nothing_from_elsewhere() -> None:
    files = load_static()
    page = files["index.html"].decode()
    assert 'name="viewport"' in page and 'dir="auto"' in page
    for name, content in files.items():
        text = content.decode()
        assert "http://" not in text.replace("http://127.0.0.1", "").replace(
            "http://localhost", ""
        ), name
        assert "https://" not in text, name  # no CDN, no web font


# --- the channel, with a stand-in for Rasa ----------------------------------------------------
class Bot:
    """A stand-in for Rasa: answers through the playground's delivery."""

    def __init__(self) -> None:
        self.playground: Playground | None = None
        self.seen: list[IncomingMessage] = []

    async def __call__(self, message: IncomingMessage) -> None:
        self.seen.append(message)
        assert self.playground is not None
        delivery = self.playground.delivery
        if message.text == "menu":
            buttons = [
                Button("🏥 Santé", "/ask_health"),
                Button("💼 Travail", "/ask_work"),
                Button("x" * 70, "/" + "y" * 70),
            ]
            reply = OutgoingMessage(message.sender, "De quoi avez-vous besoin ?", buttons)
        elif message.text == "long":
            reply = OutgoingMessage(message.sender, "\n\n".join(["mot " * 200] * 6))
        else:
            reply = OutgoingMessage(message.sender, f"reçu {message.rasa_text()}")
        await delivery.deliver(reply)


@pytest.fixture
def playground(tmp_path: Path) -> tuple[Playground, Bot]:
    store = services(Settings(database_url=f"sqlite:///{tmp_path / 'playground.db'}")).store
    bot = Bot()
    playground = build_playground(store, KEY)
    bot.playground = playground
    playground.start(bot, [], None)
    return playground, bot


async def _settle(playground: Playground) -> None:
    for pipeline in (playground.person_pipeline, playground.desk_pipeline):
        assert pipeline is not None
        assert await pipeline.queues.join(10.0)


async def _say(playground: Playground, session: str, **body: object) -> list[dict]:
    before = playground.hub.get(session).mailbox.last  # type: ignore[union-attr]
    result = await playground.send(session, body)
    assert result["status"] == "queued", result
    await _settle(playground)
    return (await playground.messages(session, str(before), None))["messages"]


async def test_whatsapp_like_numbered_menu_and_typed_number(playground) -> None:  # noqa: ANN001
    pg, bot = playground
    session = pg.create_session({"mode": "whatsapp", "first_name": "Awa"})["session"]
    shown = await _say(pg, session, kind="text", text="menu")
    assert [e["role"] for e in shown] == ["person", "bot"]
    reply = shown[1]
    assert reply["text"].endswith("1. 🏥 Santé\n2. 💼 Travail\n3. " + "x" * 70)
    assert reply.get("buttons") in (None, [])  # no buttons on WhatsApp: numbers to type
    shown = await _say(pg, session, kind="text", text=" 2. ")
    assert bot.seen[-1].text == "/ask_work" and shown[0]["text"] == "2."
    long = await _say(pg, session, kind="text", text="long")
    parts = [e["text"] for e in long if e["role"] == "bot"]
    assert len(parts) >= 3 and all(utf16_units(p) <= base.WHATSAPP_MAX_UNITS for p in parts)
    with pytest.raises(PlaygroundError, match="type the number") as refused:
        await pg.send(session, {"kind": "callback", "data": "/ask_health"})
    assert refused.value.status == HTTPStatus.BAD_REQUEST


async def test_telegram_like_inline_buttons_and_callbacks(playground) -> None:  # noqa: ANN001
    pg, bot = playground
    session = pg.create_session({"mode": "telegram"})["session"]
    shown = await _say(pg, session, kind="text", text="menu")
    buttons = shown[1]["buttons"]
    assert [b["data"] for b in buttons] == ["/ask_health", "/ask_work", "#2"]  # too long: index
    assert shown[1]["text"] == "De quoi avez-vous besoin ?"
    await _say(pg, session, kind="callback", data="#2", title=buttons[2]["title"])
    assert bot.seen[-1].text == "/" + "y" * 70 and bot.seen[-1].kind == base.CALLBACK
    echo = await _say(pg, session, kind="callback", data="/ask_health", title="🏥 Santé")
    assert echo[0]["text"] == "🏥 Santé" and bot.seen[-1].text == "/ask_health"
    await _say(pg, session, kind="text", text="1")  # typing a number is just text on Telegram
    assert bot.seen[-1].text == "1"


async def test_location_media_truncation_and_typed_payloads(playground) -> None:  # noqa: ANN001
    pg, bot = playground
    session = pg.create_session({})["session"]
    shown = await _say(pg, session, kind="location", latitude=30.42, longitude=-9.6, title="Agadir")
    assert bot.seen[-1].rasa_text() == '/share_location{"latitude": 30.42, "longitude": -9.6}'
    assert shown[0]["text"] == "Agadir" and shown[0]["location"] == {
        "latitude": 30.42,
        "longitude": -9.6,
    }
    shown = await _say(pg, session, kind="voice")
    assert bot.seen[-1].rasa_text() == '/share_media{"media_type": "voice"}'
    assert bot.seen[-1].media_type == "audio/ogg" and bot.seen[-1].media_url
    assert shown[0]["media"] == {"kind": "voice"}
    await _say(pg, session, kind="text", text='/restart{"x": 1}')
    assert bot.seen[-1].text == 'restart{"x": 1}'  # typed payloads are words, as on the platforms
    shown = await _say(pg, session, kind="text", text="é" * 5000)
    assert bot.seen[-1].truncated and len(bot.seen[-1].text) == base.MAX_INPUT_CHARS
    assert any("long" in e["text"] for e in shown if e["role"] == "bot")  # the person is told


async def test_a_retried_message_is_processed_once(playground) -> None:  # noqa: ANN001
    pg, bot = playground
    session = pg.create_session({})["session"]
    assert (await pg.send(session, {"text": "bonjour", "id": "m1"}))["status"] == "queued"
    assert (await pg.send(session, {"text": "bonjour", "id": "m1"}))["status"] == "duplicate"
    await _settle(pg)
    assert [m.text for m in bot.seen] == ["bonjour"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"kind": "fax"}, "unknown kind 'fax'"),
        ({"kind": "text"}, "'text' is required"),
        ({"text": 12}, "'text' must be a string"),
        ({"text": "\x00\x01 "}, "the message is empty"),
        ({"text": "x" * 10_001}, "too long"),
        ({"kind": "location", "latitude": 91, "longitude": 0}, "between -90 and 90"),
        ({"kind": "location", "latitude": float("nan"), "longitude": 0}, "between -90"),
        ({"kind": "location", "latitude": True, "longitude": 0}, "must be a number"),
        ({"kind": "location", "latitude": "30", "longitude": 0}, "must be a number"),
        ({"text": "hi", "id": "../x"}, "'id' must be"),
    ],
)
async def test_bad_input_gets_a_clear_400(playground, body: dict, message: str) -> None:  # noqa: ANN001
    pg, _bot = playground
    session = pg.create_session({})["session"]
    with pytest.raises(PlaygroundError, match=message) as refused:
        await pg.send(session, body)
    assert refused.value.status == HTTPStatus.BAD_REQUEST


async def test_unknown_sessions_modes_and_cursors_are_refused(playground) -> None:  # noqa: ANN001
    pg, _bot = playground
    for session in ("", "nope", "x" * 30, "../../etc/passwd"):
        with pytest.raises(PlaygroundError) as refused:
            await pg.send(session, {"text": "hi"})
        assert refused.value.status == HTTPStatus.NOT_FOUND
    with pytest.raises(PlaygroundError, match="unknown mode"):
        pg.create_session({"mode": "sms"})
    session = pg.create_session({})["session"]
    for after, wait in (("-1", None), ("abc", None), ("1", "soon"), ("1", "-3")):
        with pytest.raises(PlaygroundError) as refused:
            await pg.messages(session, after, wait)
        assert refused.value.status == HTTPStatus.BAD_REQUEST
    started = asyncio.get_running_loop().time()
    empty = await pg.messages(session, "0", "0.05")
    assert empty == {"messages": [], "last": 0}
    assert asyncio.get_running_loop().time() - started < MAX_WAIT_S
    with pytest.raises(PlaygroundError, match="'text' is required"):
        await pg.desk_send({})


# --- the hand-off, with the desk pane ---------------------------------------------------------
def test_the_playground_mediator_is_always_on_duty_for_everyone() -> None:
    mediator = playground_mediator()
    from datetime import datetime, timezone

    for hour in (0, 3, 12, 23):
        assert mediator.on_duty(datetime(2026, 11, 29, hour, 30, tzinfo=timezone.utc))
    assert mediator.serves("oriental", "ary-Latn") and mediator.serves(None, "es")
    file_registry = parse_registry(
        'mediators:\n  - {id: playground, name: X, channel: telegram, address: "1", '
        'regions: [all], languages: [fr], hours: {mon: "09:00-10:00"}}\n'
    )
    merged = with_playground(lambda: file_registry)()
    assert [m.id for m in merged.mediators] == [MEDIATOR_ID]  # the playground's wins its id
    assert merged.get(MEDIATOR_ID).channel == CHANNEL  # type: ignore[union-attr]
    assert with_playground(Registry)().get(MEDIATOR_ID) is not None


@pytest.fixture
def handoff_playground(tmp_path: Path):  # noqa: ANN201
    """A playground wired to a real hand-off runtime (as in the Rasa server process)."""
    settings = replace(
        load_settings(environ={}, env_file=None),
        var_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'assistant.db'}",
        mediators_file=tmp_path / "mediators.yml",
        pseudonym_key=KEY,
        playground="on",
    )
    store: ChannelStore = services(settings).store
    runtime = build_runtime(settings, store.engine)
    bot = Bot()
    pg = build_playground(store, KEY)
    bot.playground = pg
    pg.start(bot, [HandoffInterceptor(runtime)], runtime)
    services(settings).register(CHANNEL, pg.delivery, settings)
    return pg, bot, runtime, settings, store


async def _desk(pg: Playground, since: int = 0) -> list[dict]:
    return (await pg.desk_messages(str(since), None))["messages"]


async def test_handoff_offered_taken_answered_and_closed_from_the_desk(
    handoff_playground,  # noqa: ANN001
) -> None:
    pg, bot, runtime, settings, store = handoff_playground
    session = pg.create_session({"mode": "whatsapp", "first_name": "Awa"})["session"]
    await _say(pg, session, text="bonjour")
    sender = pg.hub.get(session).sender  # type: ignore[union-attr]
    # What the hand-off action does in the action server: open, then flush (there, without
    # the desk's sender, the row is left for the Rasa process; see the next test).
    opened = runtime.handoff.open(
        TicketRequest(sender, "request_mediator", channel=CHANNEL, language="fr", first_name="Awa")
    )
    await runtime.flush()
    offer = (await _desk(pg))[-1]
    assert f"#{opened.ticket_id}" in offer["text"] and "Awa" in offer["text"]
    assert offer["buttons"] == [
        {"title": f"Prendre #{opened.ticket_id}", "data": f"/take {opened.ticket_id}"}
    ]
    cursor = pg.hub.desk.last
    await pg.desk_send({"data": offer["buttons"][0]["data"], "title": "Prendre"})
    await _settle(pg)
    assert any("Vous avez la demande" in e["text"] for e in await _desk(pg, cursor))
    person = (await pg.messages(session, "0", None))["messages"]
    assert "a pris votre demande" in person[-1]["text"]

    await pg.desk_send({"text": "Bonjour Awa, je vous écoute."})
    await _settle(pg)
    person = (await pg.messages(session, "0", None))["messages"]
    assert person[-1]["text"].endswith("Bonjour Awa, je vous écoute.")
    seen_by_bot = len(bot.seen)
    cursor = pg.hub.desk.last
    await _say(pg, session, text="J'ai besoin d'un rendez-vous")
    await _say(pg, session, kind="voice")
    assert len(bot.seen) == seen_by_bot  # during the hand-off Rasa sees nothing
    desk = await _desk(pg, cursor)
    assert any("J'ai besoin d'un rendez-vous" in e["text"] for e in desk)
    assert any(e["kind"] == "voice" and e["media"] == {"kind": "voice"} for e in desk)

    await pg.desk_send({"text": "/close resolved"})
    await _settle(pg)
    person = [e["text"] for e in (await pg.messages(session, "0", None))["messages"]]
    assert any("est terminée" in t for t in person)
    assert person[-1].endswith("5. ⭐⭐⭐⭐⭐ 5")  # the rating, as a WhatsApp numbered list
    await _say(pg, session, text="5")
    await _say(pg, session, text="merci")
    assert bot.seen[-1].text == "merci"  # the assistant answers again


async def test_other_processes_leave_the_desks_messages_to_the_rasa_server(
    handoff_playground,  # noqa: ANN001
) -> None:
    pg, _bot, runtime, settings, store = handoff_playground
    session = pg.create_session({})["session"]
    await _say(pg, session, text="bonjour")
    sender = pg.hub.get(session).sender  # type: ignore[union-attr]
    # The action server's runtime: same settings, but no playground sender in its process.
    other = build_runtime(settings, store.engine)
    assert CHANNEL not in other.flusher.mediator_senders and other.flusher.elsewhere
    other.handoff.open(TicketRequest(sender, "request_mediator", channel=CHANNEL))
    assert await other.flush() == 0  # not claimed, so not delayed
    assert await runtime.flush() == 1
    assert "Nouvelle demande" in (await _desk(pg))[-1]["text"]


def test_without_the_playground_nothing_changes_in_the_handoff(tmp_path: Path) -> None:
    settings = replace(
        load_settings(environ={}, env_file=None),
        var_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'a.db'}",
        mediators_file=tmp_path / "none.yml",
        playground="off",
    )
    runtime = build_runtime(settings, services(settings).engine)
    assert runtime.handoff.registry().mediators == ()
    assert isinstance(runtime.flusher, Flusher) and runtime.flusher.elsewhere == frozenset()


def test_config_lists_modes_and_outcomes(playground) -> None:  # noqa: ANN001
    pg, _bot = playground
    config = pg.config()
    assert config["modes"] == ["whatsapp", "telegram"] and "resolved" in config["outcomes"]
    assert json.dumps(config)  # plain JSON


def test_make_run_says_where_the_playground_is_or_why_not() -> None:
    from bot.runner import playground_line

    assert "http://127.0.0.1:5005/webhooks/playground/" in playground_line(Settings())
    assert "http://127.0.0.1:" in playground_line(Settings(host="0.0.0.0"))
    assert "PLAYGROUND=on" in playground_line(Settings(telegram_bot_token="1:x"))
    assert "off (PLAYGROUND=off)" in playground_line(Settings(playground="off"))
    assert "production" in playground_line(Settings(profile="prod"))
    assert "not loopback" in playground_line(Settings(host="10.0.0.2"))


def test_credentials_register_the_playground_channel() -> None:
    import yaml

    from bot.settings import ROOT

    credentials = yaml.safe_load((ROOT / "credentials.yml").read_text(encoding="utf-8"))
    assert "bot.rasa.playground.PlaygroundInput" in credentials
