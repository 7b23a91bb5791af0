"""Settings come from the environment and .env, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import ROOT, Settings, SettingsError, load_settings


def test_defaults_are_the_embedded_single_machine_ones() -> None:
    s = load_settings(environ={}, env_file=None)
    assert s.profile == "dev"
    assert s.host == "127.0.0.1"
    assert s.effective_database_url.startswith("sqlite:///")
    assert s.rasa_env()["TRACKER_DB_PATH"] == str(ROOT / "var" / "tracker.db")
    assert not s.has_whatsapp and not s.has_telegram


def test_environment_overrides_dotenv(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text('RASA_PORT=6000\nTELEGRAM_BOT_TOKEN="from-file"\n# comment\n')
    s = load_settings(environ={"RASA_PORT": "7000"}, env_file=env_file)
    assert s.rasa_port == 7000
    assert s.telegram_bot_token == "from-file"
    assert s.has_telegram


def test_relative_paths_are_relative_to_the_repository() -> None:
    s = load_settings(environ={"VAR_DIR": "tmp/state"}, env_file=None)
    assert s.var_dir == ROOT / "tmp" / "state"
    assert s.rasa_env()["TRACKER_DB_PATH"] == str(ROOT / "tmp" / "state" / "tracker.db")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RASA_PORT": "abc"}, "RASA_PORT='abc': expected a whole number"),
        ({"ACTION_PORT": "70000"}, "a port is between 1 and 65535"),
        ({"RETENTION_DAYS": "-1"}, "must not be negative"),
        ({"PROFILE": "staging"}, "expected one of dev, prod"),
        ({"PROFILE": "prod"}, "needs DATABASE_URL"),
        ({"PROFILE": "prod", "DATABASE_URL": "sqlite:///x.db"}, "needs DATABASE_URL"),
        ({"PROFILE": "prod", "DATABASE_URL": "postgresql://h/db"}, "needs REDIS_URL"),
        (
            {"PROFILE": "prod", "DATABASE_URL": "postgresql://h/db", "REDIS_URL": "redis://r"},
            "needs PSEUDONYM_KEY",
        ),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(environ=env, env_file=None)


def test_secrets_are_hidden_from_diagnostics() -> None:
    s = Settings(twilio_auth_token="secret-token", telegram_bot_token="123:abc")
    shown = s.public_dict()
    assert shown["twilio_auth_token"] == "***"
    assert "secret-token" not in repr(s)
    assert "123:abc" not in str(shown)


def test_env_example_documents_every_setting() -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    from dataclasses import fields

    for f in fields(Settings):
        assert f"{f.name.upper()}=" in example, f"{f.name.upper()} missing from .env.example"


def test_prod_profile_splits_urls_for_rasa_stores() -> None:
    s = load_settings(
        environ={
            "PROFILE": "prod",
            "DATABASE_URL": "postgresql://prim:p%40ss@db.internal:5433/assistant",
            "REDIS_URL": "redis://:secret@cache:6380/2",
            "PSEUDONYM_KEY": "k" * 32,
        },
        env_file=None,
    )
    assert s.endpoints_file.name == "endpoints.prod.yml"
    assert s.profile_env() == {
        "DB_DIALECT": "postgresql",
        "DB_HOST": "db.internal",
        "DB_PORT": "5433",
        "DB_NAME": "assistant",
        "DB_USER": "prim",
        "DB_PASSWORD": "p@ss",
        "REDIS_HOST": "cache",
        "REDIS_PORT": "6380",
        "REDIS_DB": "2",
        "REDIS_PASSWORD": "secret",
    }
    assert load_settings(environ={}, env_file=None).endpoints_file.name == "endpoints.yml"


def test_settings_round_trip_through_the_environment(tmp_path: Path) -> None:
    s = load_settings(
        environ={"RASA_PORT": "6001", "VAR_DIR": str(tmp_path), "PSEUDONYM_KEY": "k" * 20},
        env_file=None,
    )
    assert load_settings(environ=s.to_env(), env_file=None) == s
