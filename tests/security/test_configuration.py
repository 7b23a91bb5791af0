"""Findings 1, 2 and the low ones about settings: unsafe configurations are refused at start,
the API and the REST channel are off in prod, secrets stay out of ps, repr and diagnostics."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.runner import Assistant, StartError, main, rasa_command
from bot.settings import ROOT, Settings, deployment_problem, load_settings

TOKEN = "t" * 40


class _Any:
    def __eq__(self, other: object) -> bool:
        return True


ANY_REASON = _Any()
PROD = {
    "PROFILE": "prod",
    "DATABASE_URL": "postgresql://prim:db-secret-pw@db:5432/prim",
    "REDIS_URL": "redis://:redis-secret-pw@cache:6379/0",
    "PSEUDONYM_KEY": "k" * 32,
    "PUBLIC_BASE_URL": "https://assistant.example.org",
}


def _main_with(monkeypatch: pytest.MonkeyPatch, capsys, tmp_path: Path, **env: str) -> str:  # noqa: ANN001
    """Run `make run`'s entry point with ``env``; its exit status must be 2; its stderr."""
    monkeypatch.setattr("bot.settings.ROOT", tmp_path)  # no .env of the developer
    for name, value in {"VAR_DIR": str(tmp_path), "MODEL_PATH": str(tmp_path / "m"), **env}.items():
        monkeypatch.setenv(name, value)
    assert main(["--no-chat"]) == 2
    return capsys.readouterr().err


def test_non_loopback_host_without_token_is_refused(monkeypatch, capsys, tmp_path) -> None:  # noqa: ANN001
    """Critical: HOST=0.0.0.0 without RASA_API_TOKEN started with the API open."""
    err = _main_with(monkeypatch, capsys, tmp_path, HOST="0.0.0.0")
    assert "Unsafe configuration" in err and "set RASA_API_TOKEN" in err
    settings = replace(load_settings(environ={}, env_file=None), host="0.0.0.0")
    with pytest.raises(StartError, match="RASA_API_TOKEN"):
        Assistant(settings).check()


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"REST_CHANNEL": "on"}, "REST_CHANNEL=on in the production profile"),
        ({"RASA_API": "on"}, "RASA_API=on in the production profile"),
        ({"RASA_API": "on", "RASA_API_TOKEN": "short"}, "at least 32"),
        ({"PUBLIC_BASE_URL": ""}, "needs PUBLIC_BASE_URL=https://"),
        ({"PUBLIC_BASE_URL": "http://assistant.example.org"}, "needs PUBLIC_BASE_URL=https://"),
        (
            {"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_WEBHOOK_SECRET": "guessable"},
            "TELEGRAM_WEBHOOK_SECRET must be at least 32",
        ),
        (
            {"MEDIATOR_TELEGRAM_BOT_TOKEN": "2:y", "MEDIATOR_TELEGRAM_WEBHOOK_SECRET": "x" * 8},
            "MEDIATOR_TELEGRAM_WEBHOOK_SECRET must be at least 32",
        ),
    ],
)
def test_unsafe_production_configurations_are_refused(
    monkeypatch,
    capsys,
    tmp_path,
    env: dict[str, str],
    says: str,  # noqa: ANN001
) -> None:
    """High/low: prod REST without authentication, short secrets, no PUBLIC_BASE_URL."""
    err = _main_with(monkeypatch, capsys, tmp_path, **{**PROD, **env})
    assert says in err, err


def test_systemd_can_check_the_configuration_first(monkeypatch, capsys, tmp_path) -> None:  # noqa: ANN001
    """`python -m bot.runner --check` (ExecStartPre) refuses the same configurations."""
    err = _main_with(monkeypatch, capsys, tmp_path, HOST="0.0.0.0")
    assert "RASA_API_TOKEN" in err
    for name, value in PROD.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOST", "127.0.0.1")
    assert main(["--check"]) == 0


def test_a_safe_production_configuration_passes() -> None:
    settings = load_settings(environ=PROD, env_file=None)
    assert deployment_problem(settings) is None
    on = load_settings(
        environ={**PROD, "REST_CHANNEL": "on", "RASA_API_TOKEN": TOKEN}, env_file=None
    )
    assert deployment_problem(on) is None


def test_api_and_rest_channel_are_off_in_prod_unless_enabled() -> None:
    """High: Rasa's REST channel (sender chosen by the caller) and HTTP API ran in prod."""
    from http import HTTPStatus

    from bot.rasa.rest_auth import refusal
    from bot.rasa.server import rasa_argv

    prod = load_settings(environ=PROD, env_file=None)
    assert not prod.api_enabled and not prod.rest_enabled
    # Even a systemd unit that still says --enable-api / --auth-token gets neither.
    argv = ["x", "run", "--enable-api", "--auth-token", "old", "--port", "5006"]
    assert rasa_argv(argv, prod.api_enabled, TOKEN) == ["x", "run", "--port", "5006"]
    assert refusal(prod.rest_enabled, "", None, None) == (HTTPStatus.NOT_FOUND, ANY_REASON)
    # credentials.yml registers our REST channel, not Rasa's open one.
    credentials = (ROOT / "credentials.yml").read_text(encoding="utf-8")
    assert "bot.rasa.rest_auth.TokenRestInput:" in credentials
    assert "\nrest:" not in credentials
    # Enabled in prod: only with the token, which the REST channel then requires.
    on = load_settings(
        environ={**PROD, "REST_CHANNEL": "on", "RASA_API": "on", "RASA_API_TOKEN": TOKEN},
        env_file=None,
    )
    assert on.api_enabled and on.rest_enabled
    assert rasa_argv(["x", "run"], on.api_enabled, TOKEN)[-3:] == [
        "--enable-api",
        "--auth-token",
        TOKEN,
    ]
    assert refusal(True, TOKEN, None, None)[0] == HTTPStatus.UNAUTHORIZED  # type: ignore[index]
    assert refusal(True, TOKEN, "Bearer wrong", None)[0] == HTTPStatus.UNAUTHORIZED  # type: ignore[index]
    assert refusal(True, TOKEN, f"Bearer {TOKEN}", None) is None
    assert refusal(True, TOKEN, None, TOKEN) is None
    # The dev profile on loopback: both on, no token needed.
    dev = load_settings(environ={}, env_file=None)
    assert dev.api_enabled and dev.rest_enabled and refusal(True, "", None, None) is None


def test_api_token_is_not_on_the_command_line(tmp_path: Path) -> None:
    """Low: the token was visible in `ps` (--auth-token on argv)."""
    settings = replace(load_settings(environ={}, env_file=None), rasa_api_token=TOKEN)
    cmd = rasa_command(settings, ROOT / "endpoints.yml", ROOT / "credentials.yml")
    assert TOKEN not in " ".join(cmd)
    assert "bot.rasa.server" in cmd  # adds --auth-token inside the process


def test_secrets_are_kept_out_of_repr_and_public_dict() -> None:
    """Low: repr(settings) and public_dict() showed the API token and DB/Redis passwords."""
    settings = load_settings(environ={**PROD, "RASA_API_TOKEN": TOKEN}, env_file=None)
    shown = repr(settings) + str(settings.public_dict())
    for secret in (TOKEN, "db-secret-pw", "redis-secret-pw", "k" * 32):
        assert secret not in shown
    assert settings.public_dict()["database_url"] == "postgresql://prim:***@db:5432/prim"


def test_every_secret_field_is_hidden() -> None:
    secret_words = ("token", "secret", "key", "password", "database_url", "redis_url")
    from dataclasses import fields

    for f in fields(Settings):
        if any(word in f.name for word in secret_words) and f.name != "rasa_api":
            if f.name.endswith(("_base_url",)):
                continue
            assert not f.repr, f"{f.name} is shown by repr()"
