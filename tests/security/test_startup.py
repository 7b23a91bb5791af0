"""Critical, high and low findings about start-up, through the real entry points: `make run`
and `python -m bot.runner` (what `make run` ends with) in their own process, as an operator
starts them, refuse each unsafe configuration with one sentence saying what to set, and
start nothing.

tests/security/test_configuration.py calls the same `main()` in this process; these run it
as a program, with nothing patched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import ROOT

PROD = {
    "PROFILE": "prod",
    "DATABASE_URL": "postgresql://prim:db-secret-pw@127.0.0.1:5432/prim",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "PSEUDONYM_KEY": "k" * 32,
    "PUBLIC_BASE_URL": "https://assistant.example.org",
}
# Every variable bot/settings.py reads that a developer's .env could set: set here (empty
# means "not set"), so that the case alone decides.
NEUTRAL = {
    name: ""
    for name in (
        "HOST",
        "PROFILE",
        "RASA_API_TOKEN",
        "RASA_API",
        "REST_CHANNEL",
        "PUBLIC_BASE_URL",
        "DATABASE_URL",
        "REDIS_URL",
        "PSEUDONYM_KEY",
        "PLAYGROUND",
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_WEBHOOK_SECRET",
        "MEDIATOR_TELEGRAM_BOT_TOKEN",
        "MEDIATOR_TELEGRAM_WEBHOOK_SECRET",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
    )
}

CASES = {
    # any profile: Rasa's HTTP API and REST channel on every interface, without a token
    "dev-host": ({"HOST": "0.0.0.0"}, "HOST=0.0.0.0 exposes Rasa's HTTP API", "set RASA_API_TOKEN"),
    "prod-host": ({**PROD, "HOST": "::"}, "HOST=:: exposes", "set RASA_API_TOKEN"),
    # prod: the REST channel (the caller chooses the sender) without authentication
    "prod-rest": (
        {**PROD, "REST_CHANNEL": "on"},
        "REST_CHANNEL=on in the production profile",
        "set RASA_API_TOKEN (at least 32",
    ),
    "prod-rest-short-token": (
        {**PROD, "REST_CHANNEL": "on", "RASA_API_TOKEN": "letmein"},
        "REST_CHANNEL=on",
        "at least 32",
    ),
    "prod-api": (
        {**PROD, "RASA_API": "on"},
        "RASA_API=on in the production profile",
        "set RASA_API_TOKEN",
    ),
    # prod: short webhook secrets
    "prod-short-secret": (
        {**PROD, "TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_WEBHOOK_SECRET": "guessable"},
        "TELEGRAM_WEBHOOK_SECRET must be at least 32",
        "register the webhook again",
    ),
    "prod-short-mediator-secret": (
        {
            **PROD,
            "MEDIATOR_TELEGRAM_BOT_TOKEN": "2:y",
            "MEDIATOR_TELEGRAM_WEBHOOK_SECRET": "x" * 31,
        },
        "MEDIATOR_TELEGRAM_WEBHOOK_SECRET must be at least 32",
        "secrets.token_urlsafe",
    ),
    # prod: no PUBLIC_BASE_URL (Twilio's signature is checked against it)
    "prod-no-public-url": (
        {**PROD, "PUBLIC_BASE_URL": ""},
        "needs PUBLIC_BASE_URL=https://",
        "Twilio signs it",
    ),
}


def _env(tmp_path: Path, case: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TERM")}
    return {
        **env,
        **NEUTRAL,
        "VAR_DIR": str(tmp_path / "var"),
        "MODEL_PATH": str(tmp_path / "no-model.tar.gz"),
        # Nothing may start: ports nobody would choose, checked free below.
        "RASA_PORT": "5905",
        "ACTION_PORT": "5955",
        **case,
    }


@pytest.mark.parametrize("name", list(CASES))
def test_the_runner_program_refuses_with_a_sentence(tmp_path: Path, name: str) -> None:
    """`python -m bot.runner` (the end of `make run`): exit 2, one sentence, nothing started."""
    case, *says = CASES[name]
    done = subprocess.run(
        [sys.executable, "-m", "bot.runner", "--no-chat"],
        cwd=ROOT,
        env=_env(tmp_path, case),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Unsafe configuration, not starting: "), lines
    for part in says:
        assert part in lines[0], lines[0]
    assert "Starting" not in done.stdout and "Traceback" not in done.stderr
    assert not (tmp_path / "var").exists()  # refused before anything was written


@pytest.mark.parametrize(
    "name", ["dev-host", "prod-rest", "prod-short-secret", "prod-no-public-url"]
)
def test_make_run_refuses_before_validating_or_training(tmp_path: Path, name: str) -> None:
    """`make run` itself: refused in seconds, before `rasa data validate` and training."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    case, *says = CASES[name]
    # -o: never reinstall the venv from a test (pyproject.toml may be newer than the stamp).
    done = subprocess.run(
        [make, "--no-print-directory", "-o", ".venv/.installed", "run"],
        cwd=ROOT,
        env=_env(tmp_path, case),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0, done.stdout[-2000:]
    assert "Unsafe configuration, not starting: " in done.stderr, done.stderr[-2000:]
    for part in says:
        assert part in done.stderr
    assert "rasa data validate" not in done.stdout and "training" not in done.stdout
    assert "Starting the action server" not in done.stdout
