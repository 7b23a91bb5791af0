"""Fixtures of the channel tests: fake Twilio and Telegram APIs, a store, a running assistant."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from bot.channels.store import ChannelStore
from bot.db import make_engine, migrate
from bot.pseudonyms import pseudonym
from bot.runner import Assistant, free_port
from bot.settings import Settings, load_settings
from tests.conftest import MODEL, _tail, serving
from tests.fakes.telegram_fake import TelegramFake
from tests.fakes.twilio_fake import TwilioFake

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "fake-twilio-auth-token"
WHATSAPP_NUMBER = "+14155238886"
TEMPLATE_SID = "HX" + "1" * 32
BOT_TOKEN = "123456:FAKE-telegram-token"
WEBHOOK_SECRET = "fake-webhook-secret-0123456789"
PSEUDONYM_KEY = "fake-pseudonym-key"
PUBLIC_BASE_URL = "https://assistant.example.org"


@pytest.fixture(scope="session")
def twilio_fake() -> Iterator[TwilioFake]:
    """Fake Twilio on a free loopback port for the whole session."""
    fake = TwilioFake(ACCOUNT_SID, AUTH_TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def telegram_fake() -> Iterator[TelegramFake]:
    """Fake Telegram Bot API on a free loopback port for the whole session."""
    fake = TelegramFake(BOT_TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def store(tmp_path: Path) -> ChannelStore:
    """A migrated channel store on a fresh SQLite file."""
    engine = make_engine(f"sqlite:///{tmp_path / 'channels.db'}")
    migrate(engine)
    return ChannelStore(engine)


def channel_settings(
    var_dir: Path, twilio_url: str, telegram_url: str, **changes: object
) -> Settings:
    """Settings with both channels configured against the fakes."""
    return replace(
        load_settings(environ={}, env_file=None),
        var_dir=var_dir,
        public_base_url=PUBLIC_BASE_URL,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_whatsapp_number=WHATSAPP_NUMBER,
        twilio_api_base_url=twilio_url,
        twilio_template_sid=TEMPLATE_SID,
        telegram_bot_token=BOT_TOKEN,
        telegram_webhook_secret=WEBHOOK_SECRET,
        telegram_api_base_url=telegram_url,
        pseudonym_key=PSEUDONYM_KEY,
        **changes,  # type: ignore[arg-type]
    )


@dataclass
class ChannelAssistant:
    """The running assistant with both channels pointed at the fakes."""

    assistant: Assistant
    settings: Settings
    log_path: Path

    @property
    def url(self) -> str:
        return self.assistant.rasa_url

    def whatsapp_pseudonym(self, number: str) -> str:
        return self.skip_privacy_notice(pseudonym("whatsapp", number, PSEUDONYM_KEY))

    def telegram_pseudonym(self, chat_id: int) -> str:
        return self.skip_privacy_notice(pseudonym("telegram", str(chat_id), PSEUDONYM_KEY))

    def skip_privacy_notice(self, sender: str) -> str:
        """Record that ``sender`` already accepted the privacy notice (tests of the channels,
        not of the notice: its dialogue is tested with the privacy capability)."""
        from bot.app import services
        from bot.privacy import ACCEPTED, record_consent

        record_consent(services(self.settings).engine, sender, ACCEPTED)
        return sender

    def log(self) -> str:
        return _tail(self.log_path, 200)


@pytest.fixture(scope="session")
def channel_assistant(
    tmp_path_factory: pytest.TempPathFactory, twilio_fake: TwilioFake, telegram_fake: TelegramFake
) -> Iterator[ChannelAssistant]:
    """Rasa + action server with the WhatsApp and Telegram channels using the fakes."""
    if not MODEL.is_file():
        pytest.fail(f"no trained model at {MODEL}: set TEST_MODEL_PATH or run `make train`")
    var_dir = tmp_path_factory.mktemp("channels-var")
    settings = channel_settings(
        var_dir,
        twilio_fake.url,
        telegram_fake.url,
        model_path=MODEL,
        rasa_port=free_port(),
        action_port=free_port(),
    )
    log_path = var_dir / "servers.log"
    # The Rasa process reads the key from its environment (rasa_env() does not carry it).
    with serving(settings, log_path, env={"PSEUDONYM_KEY": PSEUDONYM_KEY}) as running:
        yield ChannelAssistant(running, settings, log_path)
