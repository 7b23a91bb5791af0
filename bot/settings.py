"""One typed settings object, read from environment variables (and a ``.env`` file).

This is the only module that reads the environment. Everything else receives a
``Settings`` (or the values it needs) so tests can build their own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent

PROFILES = ("dev", "prod")
# PLAYGROUND values: auto = on in the dev profile when no messaging platform is configured.
PLAYGROUND_ON = ("1", "on", "true", "yes")
PLAYGROUND_OFF = ("0", "off", "false", "no")
PLAYGROUND_VALUES = ("auto", *PLAYGROUND_ON, *PLAYGROUND_OFF)


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """Every setting of the assistant, with the embedded single-machine defaults."""

    # Deployment profile: dev (SQLite, in-memory lock store) or prod (PostgreSQL, Redis).
    profile: str = "dev"
    # Where the servers listen. Loopback by default: put a TLS proxy in front to expose them.
    host: str = "127.0.0.1"
    rasa_port: int = 5005
    action_port: int = 5055
    # Token protecting Rasa's HTTP API (/model/parse, trackers) and the REST channel; required
    # whenever HOST is not loopback. Passed to Rasa through the environment, never argv (ps).
    rasa_api_token: str = field(default="", repr=False)
    # Rasa's HTTP API and its REST channel: auto = on in the dev profile, off in prod (where
    # "on" needs RASA_API_TOKEN). Both let a caller read or write any conversation.
    rasa_api: str = "auto"
    rest_channel: str = "auto"
    # Local state (SQLite databases, logs) lives here; gitignored.
    var_dir: Path = ROOT / "var"
    model_path: Path = ROOT / "models" / "current.tar.gz"
    # Our own tables (dedupe, tickets, analytics). Default: SQLite under var/.
    database_url: str = field(default="", repr=False)  # may hold a password
    # Rasa tracker store in the dev profile (SQLite file); default var_dir/tracker.db.
    tracker_db_path: Path | None = None
    redis_url: str = field(default="", repr=False)  # may hold a password
    directory_path: Path = ROOT / "directory"
    log_level: str = "INFO"
    # Public HTTPS base URL the messaging platforms call (Twilio signs against it).
    public_base_url: str = ""
    # WhatsApp through Twilio.
    twilio_account_sid: str = ""
    twilio_auth_token: str = field(default="", repr=False)
    twilio_whatsapp_number: str = ""
    twilio_api_base_url: str = "https://api.twilio.com"
    twilio_template_sid: str = ""
    # Telegram (people) and the separate Telegram bot for mediators.
    telegram_bot_token: str = field(default="", repr=False)
    telegram_webhook_secret: str = field(default="", repr=False)
    telegram_api_base_url: str = "https://api.telegram.org"
    mediator_telegram_bot_token: str = field(default="", repr=False)
    # Secret token of the mediators' bot webhook (setWebhook secret_token).
    mediator_telegram_webhook_secret: str = field(default="", repr=False)
    # Hand-off: the mediators' registry (personal data: outside git), widening and expiry.
    mediators_file: Path = ROOT / "var" / "mediators.yml"
    handoff_widen_after_minutes: int = 10
    handoff_expire_after_hours: int = 72
    # Keyed hash for pseudonyms in analytics and logs.
    pseudonym_key: str = field(default="", repr=False)
    retention_days: int = 90
    # The local playground page (bot/playground/): auto, on or off; never in prod.
    playground: str = "auto"

    @property
    def api_enabled(self) -> bool:
        """Whether Rasa's HTTP API is served (RASA_API; auto: dev profile only)."""
        return _switch(self.rasa_api, self.profile != "prod")

    @property
    def rest_enabled(self) -> bool:
        """Whether Rasa's REST channel is served (REST_CHANNEL; auto: dev profile only)."""
        return _switch(self.rest_channel, self.profile != "prod")

    @property
    def host_is_loopback(self) -> bool:
        """True when the Rasa server listens on loopback only."""
        return is_loopback_host(self.host)

    @property
    def action_endpoint_url(self) -> str:
        """URL Rasa calls to run custom actions."""
        return f"http://127.0.0.1:{self.action_port}/webhook"

    @property
    def effective_database_url(self) -> str:
        """Our own database: DATABASE_URL, else SQLite under var/."""
        return self.database_url or f"sqlite:///{self.var_dir / 'assistant.db'}"

    @property
    def has_whatsapp(self) -> bool:
        """True when Twilio credentials are configured."""
        return bool(self.twilio_account_sid and self.twilio_auth_token)

    @property
    def has_telegram(self) -> bool:
        """True when a Telegram bot token is configured."""
        return bool(self.telegram_bot_token)

    @property
    def has_messaging(self) -> bool:
        """True when any real messaging platform (people's or mediators' bots) is configured."""
        return self.has_whatsapp or self.has_telegram or bool(self.mediator_telegram_bot_token)

    @property
    def playground_enabled(self) -> bool:
        """Whether the Rasa server serves the playground page (loopback only).

        Never in the production profile. ``auto`` turns it on only when no messaging platform
        is configured: its desk sees every waiting request, so it must not meet real people.
        """
        value = self.playground.lower()
        if self.profile == "prod" or value in PLAYGROUND_OFF:
            return False
        return value in PLAYGROUND_ON or not self.has_messaging

    def rasa_env(self) -> dict[str, str]:
        """Variables that Rasa's YAML files read through ``${VAR}`` (all must be set)."""
        return {
            "ACTION_ENDPOINT_URL": self.action_endpoint_url,
            "TRACKER_DB_PATH": str(self.tracker_db_path or self.var_dir / "tracker.db"),
            "DATABASE_URL": self.effective_database_url,
            "REDIS_URL": self.redis_url,
            "PUBLIC_BASE_URL": self.public_base_url,
            "TWILIO_ACCOUNT_SID": self.twilio_account_sid,
            "TWILIO_AUTH_TOKEN": self.twilio_auth_token,
            "TWILIO_WHATSAPP_NUMBER": self.twilio_whatsapp_number,
            "TWILIO_API_BASE_URL": self.twilio_api_base_url,
            "TWILIO_TEMPLATE_SID": self.twilio_template_sid,
            "TELEGRAM_BOT_TOKEN": self.telegram_bot_token,
            "TELEGRAM_WEBHOOK_SECRET": self.telegram_webhook_secret,
            "TELEGRAM_API_BASE_URL": self.telegram_api_base_url,
            "MEDIATOR_TELEGRAM_BOT_TOKEN": self.mediator_telegram_bot_token,
            "MEDIATOR_TELEGRAM_WEBHOOK_SECRET": self.mediator_telegram_webhook_secret,
        }

    @property
    def endpoints_file(self) -> Path:
        """Rasa endpoints of the profile: embedded defaults, or PostgreSQL and Redis."""
        return ROOT / ("endpoints.prod.yml" if self.profile == "prod" else "endpoints.yml")

    def profile_env(self) -> dict[str, str]:
        """The pieces of DATABASE_URL and REDIS_URL that Rasa's stores take one by one."""
        if self.profile != "prod":
            return {}
        db = urlsplit(self.database_url)
        redis = urlsplit(self.redis_url)
        return {
            "DB_DIALECT": db.scheme.split("+")[0],
            "DB_HOST": db.hostname or "127.0.0.1",
            "DB_PORT": str(db.port or 5432),
            "DB_NAME": db.path.lstrip("/") or "postgres",
            "DB_USER": unquote(db.username or ""),
            "DB_PASSWORD": unquote(db.password or ""),
            "REDIS_HOST": redis.hostname or "127.0.0.1",
            "REDIS_PORT": str(redis.port or 6379),
            "REDIS_DB": redis.path.lstrip("/") or "0",
            "REDIS_PASSWORD": unquote(redis.password or ""),
        }

    def to_env(self) -> dict[str, str]:
        """Every setting as the environment variable that sets it (for child processes)."""
        env = {}
        for f in fields(self):
            value = getattr(self, f.name)
            env[_env_name(f.name)] = "" if value is None else str(value)
        return env

    def public_dict(self) -> dict[str, object]:
        """Settings without secrets, for logs and diagnostics (URLs without their password)."""
        hidden = {f.name for f in fields(self) if not f.repr}
        shown: dict[str, object] = {}
        for name, value in asdict(self).items():
            if name in ("database_url", "redis_url") and value:
                shown[name] = _without_password(str(value))
            elif name in hidden and value:
                shown[name] = "***"
            else:
                shown[name] = value
        return shown


def _switch(value: str, auto: bool) -> bool:
    lowered = value.lower()
    if lowered in PLAYGROUND_ON:
        return True
    if lowered in PLAYGROUND_OFF:
        return False
    return auto


def is_loopback_host(host: str) -> bool:
    """True for 127.x.x.x, ::1 and localhost (0.0.0.0 and :: are every interface)."""
    host = host.strip().strip("[]").lower()
    return host == "localhost" or host.startswith("127.") or host == "::1"


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":***"
    return parts._replace(netloc=f"{user}@{netloc[-1]}").geturl()


# Webhook secrets we choose (Telegram's secret_token allows 1-256 characters).
MIN_SECRET_CHARS = 32


def deployment_problem(settings: Settings) -> str | None:
    """Why this configuration must not start (one sentence saying what to set), or None.

    ``make run`` (bot/runner.py) refuses to start on it; tests that build their own
    settings on loopback are not affected.
    """
    s = settings
    if not s.host_is_loopback and not s.rasa_api_token:
        return (
            f"HOST={s.host} exposes Rasa's HTTP API and REST channel beyond this machine: set "
            "RASA_API_TOKEN to a long random string "
            "(`python -c 'import secrets; print(secrets.token_urlsafe(32))'`), "
            "or keep HOST=127.0.0.1 behind a TLS proxy"
        )
    if s.profile != "prod":
        return None
    for name, on in (("RASA_API", s.api_enabled), ("REST_CHANNEL", s.rest_enabled)):
        if on and len(s.rasa_api_token) < MIN_SECRET_CHARS:
            return (
                f"{name}=on in the production profile lets anyone who reaches the port read "
                f"and write conversations: set RASA_API_TOKEN (at least {MIN_SECRET_CHARS} "
                f"random characters) or remove {name}"
            )
    if not s.public_base_url.startswith("https://"):
        return (
            "PROFILE=prod needs PUBLIC_BASE_URL=https://<your host> (the public address the "
            "platforms call; Twilio signs it)"
        )
    for token, secret, name in (
        (s.telegram_bot_token, s.telegram_webhook_secret, "TELEGRAM_WEBHOOK_SECRET"),
        (
            s.mediator_telegram_bot_token,
            s.mediator_telegram_webhook_secret,
            "MEDIATOR_TELEGRAM_WEBHOOK_SECRET",
        ),
    ):
        if token and len(secret) < MIN_SECRET_CHARS:
            return (
                f"{name} must be at least {MIN_SECRET_CHARS} random characters in the production "
                "profile (letters, digits, _ and -: "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`), then register "
                "the webhook again with it"
            )
    return None


def _env_name(name: str) -> str:
    return name.upper()


def load_settings(  # noqa: C901 (docs/architecture.md)
    environ: Mapping[str, str] | None = None, env_file: Path | None = ROOT / ".env"
) -> Settings:
    """Build settings from ``environ`` (default: the process environment) and a .env file.

    Variables already in the environment win over the .env file, as with docker and systemd.
    """
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        from dotenv import dotenv_values

        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)

    kwargs: dict[str, object] = {}
    for f in fields(Settings):
        raw = values.get(_env_name(f.name))
        if raw is None or not raw.strip():
            continue  # empty means "not set": keep the default
        kwargs[f.name] = _convert(f.name, f.type, raw)
    settings = Settings(**kwargs)  # type: ignore[arg-type]
    if settings.profile not in PROFILES:
        raise SettingsError(f"PROFILE={settings.profile!r}: expected one of {', '.join(PROFILES)}")
    if settings.playground.lower() not in PLAYGROUND_VALUES:
        raise SettingsError(f"PLAYGROUND={settings.playground!r}: expected auto, on or off")
    for name in ("rasa_api", "rest_channel"):
        if getattr(settings, name).lower() not in PLAYGROUND_VALUES:
            raise SettingsError(
                f"{_env_name(name)}={getattr(settings, name)!r}: expected auto, on or off"
            )
    if settings.profile == "prod":
        if settings.playground.lower() in PLAYGROUND_ON:
            raise SettingsError(
                "PLAYGROUND is for local use and never runs with PROFILE=prod: "
                "remove it (or set PLAYGROUND=off)"
            )
        if not settings.database_url.startswith("postgresql"):
            raise SettingsError(
                "PROFILE=prod needs DATABASE_URL=postgresql://user:password@host:5432/db"
            )
        if not settings.redis_url.startswith(("redis://", "rediss://")):
            raise SettingsError("PROFILE=prod needs REDIS_URL=redis://host:6379/0")
        if len(settings.pseudonym_key) < 16:
            raise SettingsError(
                "PROFILE=prod needs PSEUDONYM_KEY: a random string of at least 16 characters "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
    return settings


def _convert(name: str, type_name: object, raw: str) -> object:
    env = _env_name(name)
    if type_name in (int, "int"):
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{env}={raw!r}: expected a whole number") from None
        if name.endswith("_port") and not 0 < value < 65536:
            raise SettingsError(f"{env}={raw!r}: a port is between 1 and 65535")
        if value < 0:
            raise SettingsError(f"{env}={raw!r}: must not be negative")
        return value
    if type_name in (Path, "Path", "Path | None"):
        path = Path(raw).expanduser()
        return path if path.is_absolute() else ROOT / path
    return raw.strip()
