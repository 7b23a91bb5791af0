"""One running assistant for the security tests that need one: WhatsApp and Telegram on the
local fakes, the playground on, an API token set, a mediator registered on WhatsApp."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.channels.conftest import (  # noqa: F401
    ChannelAssistant,
    channel_settings,
    telegram_fake,
    twilio_fake,
)
from tests.conftest import model_and_ports, require_model, serving
from tests.fakes.telegram_fake import TelegramFake
from tests.fakes.twilio_fake import TwilioFake

TOKEN = "security-test-api-token-0123456789abcdef"
MEDIATOR_NUMBER = "+212633333333"
MEDIATORS = f"""\
mediators:
  - id: karim
    name: Karim
    channel: whatsapp
    address: "{MEDIATOR_NUMBER}"
    regions: [souss-massa]
    languages: [fr, ar]
    hours: {{mon-sun: "00:00-24:00"}}
"""


@dataclass
class Secured(ChannelAssistant):
    """The running assistant (both channels on the fakes) and the fake Twilio it sends to."""

    twilio: TwilioFake


@pytest.fixture(scope="session")
def secured(
    tmp_path_factory: pytest.TempPathFactory,
    twilio_fake: TwilioFake,  # noqa: F811
    telegram_fake: TelegramFake,  # noqa: F811
) -> Iterator[Secured]:
    """The assistant, shared by the security tests (the supervision tests kill its servers
    last and leave them running again)."""
    require_model()
    var_dir = tmp_path_factory.mktemp("secvar")
    (var_dir / "mediators.yml").write_text(MEDIATORS, encoding="utf-8")
    settings = channel_settings(
        var_dir,
        twilio_fake.url,
        telegram_fake.url,
        **model_and_ports(),
        rasa_api_token=TOKEN,
        playground="on",
        mediators_file=var_dir / "mediators.yml",
    )
    with serving(settings, var_dir / "servers.log") as running:
        yield Secured(running, settings, var_dir / "servers.log", twilio_fake)
