"""Fixtures of the fault tests: a fake Twilio, assistants that can be broken on purpose."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from bot.runner import Assistant
from bot.settings import Settings
from tests.channels.conftest import ACCOUNT_SID, AUTH_TOKEN, channel_settings
from tests.conftest import model_and_ports, require_model, started
from tests.fakes.twilio_fake import TwilioFake
from tests.resilience.proxy import TcpProxy


@pytest.fixture(scope="module")
def twilio() -> Iterator[TwilioFake]:
    """Fake Twilio on a free loopback port."""
    with TwilioFake(ACCOUNT_SID, AUTH_TOKEN) as fake:
        yield fake


def settings_for(var_dir: Path, twilio_url: str, **changes: object) -> Settings:
    """WhatsApp channel against the fake, free ports, the test model."""
    return channel_settings(
        var_dir,
        twilio_url,
        "http://127.0.0.1:9",  # Telegram is not used by these tests
        **model_and_ports(),
        **changes,
    )


def prod_settings(var_dir: Path, twilio_url: str, database_url: str, redis_url: str) -> Settings:
    """The production profile (PostgreSQL + Redis) with the WhatsApp channel on the fake."""
    return replace(
        settings_for(var_dir, twilio_url),
        profile="prod",
        database_url=database_url,
        redis_url=redis_url,
    )


@contextmanager
def running(settings: Settings) -> Iterator[Assistant]:
    """Start the assistant (bounded wait), stop it afterwards; fail with its log."""
    require_model()
    with started(settings) as assistant:
        yield assistant


def server_log(assistant: Assistant) -> str:
    """Everything the two servers printed so far."""
    return (assistant.settings.var_dir / "servers.log").read_text(errors="replace")


def proxied(url: str, proxy: TcpProxy) -> str:
    """``url`` with its host and port replaced by the proxy's."""
    parts = urlsplit(url)
    auth = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit(parts._replace(netloc=f"{auth}127.0.0.1:{proxy.port}"))


@contextmanager
def proxy_to(url: str, default_port: int) -> Iterator[TcpProxy]:
    """A cuttable TCP proxy in front of the service at ``url``."""
    parts = urlsplit(url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or default_port).start()
    try:
        yield proxy
    finally:
        proxy.stop()
