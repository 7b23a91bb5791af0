"""The CLI (validate, list, tick) and the mediator senders against the fake platforms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.channels.base import Button
from bot.channels.telegram_api import TelegramSender
from bot.channels.twilio_api import TwilioSender
from bot.cli import main
from bot.handoff.mediators import parse_registry
from bot.handoff.outbox import Media, TelegramMediatorSender, WhatsAppMediatorSender
from tests.fakes.telegram_fake import TelegramFake
from tests.fakes.twilio_fake import TwilioFake
from tests.handoff.conftest import MEDIATORS_YAML

TOKEN = "999:FAKE-mediators"


def test_validate_prints_file_line_errors_and_fails(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    bad = tmp_path / "m.yml"
    bad.write_text("mediators:\n  - id: a\n    name: A\n    channel: fax\n", encoding="utf-8")
    assert main(["mediators", "validate", "--file", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:4: a: channel: must be one of telegram, whatsapp" in err
    good = tmp_path / "ok.yml"
    good.write_text(MEDIATORS_YAML, encoding="utf-8")
    assert main(["mediators", "validate", "--file", str(good)]) == 0
    assert "3 mediator(s), valid" in capsys.readouterr().out
    assert main(["mediators", "list", "--file", str(good)]) == 0
    assert "amina\tAmina\ttelegram" in capsys.readouterr().out
    assert main(["mediators", "validate", "--file", str(tmp_path / "absent.yml")]) == 1


def test_handoff_tick_command_runs_once(tmp_path: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'a.db'}")
    monkeypatch.setenv("MEDIATORS_FILE", str(tmp_path / "none.yml"))
    assert main(["handoff", "tick"]) == 0
    assert "offered: 0, widened: 0, expired: 0, sent: 0" in capsys.readouterr().out
    assert main(["handoff", "tickets"]) == 0


@pytest.fixture
def telegram() -> TelegramFake:
    fake = TelegramFake(TOKEN).start()
    yield fake
    fake.stop()


async def test_telegram_mediator_gets_a_take_button_and_files_by_url(telegram) -> None:  # noqa: ANN001
    amina = parse_registry(MEDIATORS_YAML).get("amina")
    sender = TelegramMediatorSender(TelegramSender(TOKEN, telegram.url, attempts=1))
    assert await sender.send(amina, "Nouvelle demande #3", [Button("Prendre #3", "/take 3")], None)
    call = telegram.sent(1001)[0]
    markup = call.params["reply_markup"]
    markup = markup if isinstance(markup, dict) else json.loads(markup)
    assert markup["inline_keyboard"][0][0] == {"text": "Prendre #3", "callback_data": "/take 3"}
    # A file sent by URL: Telegram fetches it; the text is its caption.
    media = Media("https://example.org/photo.jpg", "image", "whatsapp")
    assert await sender.send(amina, "#3 Awa a envoyé un fichier", [], media)
    document = telegram.recorded(lambda c: c.path.endswith("/sendDocument"))[0]
    assert document.params["document"] == "https://example.org/photo.jpg"
    assert document.params["caption"] == "#3 Awa a envoyé un fichier"
    # A people's-bot file id without the people's bot: the text goes, with a notice.
    assert await sender.send(amina, "#3 voice", [], Media("file-id", "voice", "telegram"))
    assert "ne peut pas être transmis" in telegram.sent(1001)[-1].params["text"]


async def test_whatsapp_mediator_gets_the_persons_file_url() -> None:
    twilio = TwilioFake("AC" + "1" * 32, "tok").start()
    try:
        youssef = parse_registry(MEDIATORS_YAML).get("youssef")
        sender = WhatsAppMediatorSender(
            TwilioSender("AC" + "1" * 32, "tok", "+14155238886", base_url=twilio.url, attempts=1)
        )
        url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
        assert await sender.send(
            youssef, "#4 Awa a envoyé un fichier", [], Media(url, "image", "whatsapp")
        )
        assert twilio.messages("+212611111111")[0].params["MediaUrl"] == url
        assert await sender.send(youssef, "voice", [], Media("file-id", "voice", "telegram"))
        assert "ne peut pas être transmis" in twilio.messages("+212611111111")[-1].params["Body"]
    finally:
        twilio.stop()
