"""The Rasa adapters without a server: configuration, and starting again after a failure."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bot.rasa.telegram import TelegramInput
from bot.rasa.whatsapp import WhatsAppInput
from tests.channels.conftest import channel_settings


async def _nothing(_message: object) -> None:
    return None


def test_empty_credentials_mean_not_configured(tmp_path: Path) -> None:
    settings = replace(
        channel_settings(tmp_path, "http://127.0.0.1:9", "http://127.0.0.1:9"),
        twilio_auth_token="",
        telegram_webhook_secret="",
    )
    whatsapp, telegram = WhatsAppInput(settings), TelegramInput(settings)
    whatsapp.blueprint(_nothing)
    telegram.blueprint(_nothing)
    assert whatsapp.pipeline is None and telegram.pipeline is None


def test_credentials_yml_values_override_the_environment() -> None:
    channel = WhatsAppInput.from_credentials(
        {
            "account_sid": "ACx",
            "auth_token": "t",
            "whatsapp_number": "+1",
            "api_base_url": "",
            "public_base_url": "https://x.example",
        }
    )
    assert isinstance(channel, WhatsAppInput)
    assert channel.settings.twilio_account_sid == "ACx"
    assert channel.settings.public_base_url == "https://x.example"
    assert channel.settings.twilio_api_base_url == "https://api.twilio.com"  # empty: default


async def test_a_failed_start_is_retried_on_a_later_webhook(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    broken = channel_settings(
        tmp_path,
        "http://127.0.0.1:9",
        "http://127.0.0.1:9",
        database_url=f"sqlite:///{blocker / 'db.sqlite'}",
    )
    for channel in (WhatsAppInput(broken), TelegramInput(broken)):
        channel.blueprint(_nothing)
        assert channel.pipeline is None  # the database could not be opened
        channel.settings = replace(broken, database_url=f"sqlite:///{tmp_path / 'ok.db'}")
        await channel.ready_pipeline()
        assert channel.pipeline is None  # too soon: at most every few seconds
        channel._last_setup = 0.0
        await channel.ready_pipeline()
        assert channel.pipeline is not None
