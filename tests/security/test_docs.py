"""The deployment guide's examples match the code's defaults (issue 16, "Done when"): the
systemd units and the environment file name only variables bot/settings.py reads, with the
runner's limits; nginx exposes only the platforms' webhooks; the privacy and deployment
guides say what the platforms keep and what happens while the Rasa server is down; and
docs/security.md names only tests that exist. A doc that drifts from the code fails here.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from bot.runner import CRASH_LIMIT, CRASH_WINDOW_S, REQUEST_MAX_BYTES, action_command, child_env
from bot.settings import ROOT, Settings, load_settings

DOCS = ROOT / "docs"
DEPLOYMENT = (DOCS / "deployment.md").read_text(encoding="utf-8")
PRIVACY = (DOCS / "privacy.md").read_text(encoding="utf-8")
SECURITY = (DOCS / "security.md").read_text(encoding="utf-8")
# What the runner adds for its children beside the settings (bot.runner.child_env).
RUNNER_EXTRAS = {
    "SANIC_HOST",
    "SANIC_REQUEST_MAX_SIZE",
    "TF_CPP_MIN_LOG_LEVEL",
    "RASA_TELEMETRY_ENABLED",
    "PYTHONPATH",
}


def _block(doc: str, heading: str) -> str:
    """The first fenced block after ``heading``."""
    start = doc.index(heading)
    found = re.search(r"```[a-z]*\n(.*?)```", doc[start:], re.S)
    assert found, f"no example after {heading}"
    return found.group(1)


def _settings_names() -> set[str]:
    prod = load_settings(
        environ={
            "PROFILE": "prod",
            "DATABASE_URL": "postgresql://u:p@h/db",
            "REDIS_URL": "redis://h:6379/0",
            "PSEUDONYM_KEY": "k" * 32,
        },
        env_file=None,
    )
    return set(prod.to_env()) | set(prod.rasa_env()) | set(prod.profile_env())


def _unit(name: str) -> str:
    return _block(DEPLOYMENT, f"### `/etc/systemd/system/{name}")


def _directives(unit: str, key: str) -> list[str]:
    joined = unit.replace("\\\n", " ")
    return [line.split("=", 1)[1] for line in joined.splitlines() if line.startswith(f"{key}=")]


def test_the_environment_file_names_only_what_the_settings_read() -> None:
    env_file = _block(DEPLOYMENT, "### `/etc/prim/assistant.env`")
    names = set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", env_file, re.M))
    assert {
        "PROFILE",
        "DATABASE_URL",
        "REDIS_URL",
        "PSEUDONYM_KEY",
        "PUBLIC_BASE_URL",
        "RASA_API_TOKEN",
        "TELEGRAM_WEBHOOK_SECRET",
    } <= names
    assert names <= set(Settings().to_env()), names - set(Settings().to_env())


def test_the_readme_names_only_what_the_settings_read() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| variable | default | meaning |") :]
    table = table[: table.index("\n\n")]
    first_cells = [row.split("|")[1] for row in table.splitlines()[2:]]
    names = {n for cell in first_cells for n in re.findall(r"`([A-Z][A-Z0-9_]+)`", cell)}
    assert names == set(Settings().to_env()), names ^ set(Settings().to_env())


@pytest.mark.parametrize("unit_name", ["prim-actions.service", "prim-rasa@.service"])
def test_the_systemd_units_match_the_runners_defaults(unit_name: str) -> None:
    unit = _unit(unit_name)
    environment = " ".join(_directives(unit, "Environment"))
    assignments = dict(re.findall(r"([A-Z][A-Z0-9_]+)=(\S+)", environment))
    # Every variable is one the settings or the runner's children read.
    known = _settings_names() | RUNNER_EXTRAS
    assert set(assignments) <= known, set(assignments) - known
    assert RUNNER_EXTRAS - {"SANIC_HOST"} <= set(child_env(Settings()))
    # Sanic's own request limit, as the runner sets it, refused before the body is read.
    assert assignments["SANIC_REQUEST_MAX_SIZE"] == str(REQUEST_MAX_BYTES)
    assert child_env(Settings())["SANIC_REQUEST_MAX_SIZE"] == str(REQUEST_MAX_BYTES)
    # Files owner-only, like the runner's umask; the runner's crash limit.
    assert _directives(unit, "UMask") == ["0077"]
    assert _directives(unit, "StartLimitBurst") == [str(CRASH_LIMIT)]
    assert _directives(unit, "StartLimitIntervalSec") == [str(int(CRASH_WINDOW_S))]
    assert _directives(unit, "EnvironmentFile")[0] == "/etc/prim/assistant.env"


def test_the_action_unit_runs_the_runners_command_on_loopback() -> None:
    unit = _unit("prim-actions.service")
    assert "SANIC_HOST=127.0.0.1" in " ".join(_directives(unit, "Environment"))
    (command,) = _directives(unit, "ExecStart")
    expected = action_command(Settings())[1:]  # after the interpreter
    assert command.split()[1:] == expected


def test_the_rasa_unit_checks_first_and_keeps_the_token_off_the_command_line() -> None:
    unit = _unit("prim-rasa@.service")
    assert _directives(unit, "ExecStartPre") == ["/opt/prim/.venv/bin/python -m bot.runner --check"]
    (command,) = _directives(unit, "ExecStart")
    assert "-m bot.rasa.server run" in command
    assert "--interface 127.0.0.1" in command
    for flag in ("--enable-api", "--auth-token", "RASA_API_TOKEN", "--cors"):
        assert flag not in command
    prod = replace(Settings(), profile="prod")
    assert f"--endpoints {prod.endpoints_file.name}" in command
    assert "--credentials credentials.yml" in command
    assert "/etc/prim/rasa.env" in _directives(unit, "EnvironmentFile")
    # The derived variables are generated by the settings' own functions.
    assert "s.rasa_env()" in DEPLOYMENT and "s.profile_env()" in DEPLOYMENT


# Paths that must never be public, and the platforms' webhooks that must be.
PRIVATE_PATHS = [
    "/webhooks/rest/webhook",
    "/webhooks/rest/webhook?token=x",
    "/webhooks/playground/",
    "/webhooks/playground/api/desk/messages",
    "/model",
    "/model/parse",
    "/status",
    "/version",
    "/conversations/someone/tracker",
    "/conversations/someone/trigger_intent",
    "/webhooks/whatsapp/webhook/../../model",
    "/webhooks/whatsapp/webhookx",
    "/",
]
WEBHOOKS = [
    "/webhooks/whatsapp/webhook",
    "/webhooks/telegram/webhook",
    "/webhooks/mediator_telegram/webhook",
]


def test_nginx_exposes_only_the_platforms_webhooks() -> None:
    nginx = _block(DEPLOYMENT, "### nginx in front")
    regexes = re.findall(r"location ~ (\S+) \{", nginx)
    exact = re.findall(r"location = (\S+) \{", nginx)
    prefixes = re.findall(r"location (/\S*) \{ return 404; \}", nginx)
    assert prefixes == ["/"], "everything else must answer 404"
    assert exact == ["/webhooks/whatsapp/fallback"]
    assert "proxy_pass" not in nginx[nginx.index("location = /webhooks/whatsapp/fallback") :]

    def public(path: str) -> bool:
        bare = path.split("?")[0]
        return bare in exact or any(re.search(r, bare) for r in regexes)

    assert [p for p in WEBHOOKS if not public(p)] == []
    assert [p for p in PRIVATE_PATHS if public(p)] == []
    credentials = (ROOT / "credentials.yml").read_text(encoding="utf-8")
    for path in WEBHOOKS:
        assert f"POST {path}" in credentials, path
    # nginx refuses what Sanic would refuse anyway.
    (size,) = re.findall(r"client_max_body_size (\d+)k;", nginx)
    assert int(size) * 1024 == REQUEST_MAX_BYTES


def _section(doc: str, heading: str) -> str:
    start = doc.index(heading)
    end = doc.find("\n## ", start + len(heading))
    return doc[start : end if end > 0 else None]


def test_privacy_says_what_twilio_and_telegram_keep_and_how_to_delete_it() -> None:
    section = _section(PRIVACY, "## What Twilio and Telegram keep, and how an admin deletes it")
    for needed in (
        "DELETE https://api.twilio.com/2010-04-01/Accounts/{AccountSid}/Messages/{MessageSid}.json",
        "/Media/{MediaSid}.json",  # one media file
        "GET .../Messages.json?From=whatsapp:",  # finding a person's messages
        "deleteMessage",  # Telegram: what a bot can delete
        "48 hours",
        "Delete chat",  # what only the person can do
        "RETENTION_DAYS",  # our own links to their media
    ):
        assert needed in section, needed
    # The retention that reaches our copies of media links and phone numbers is listed.
    kept = _section(PRIVACY, "## What is kept, where, how long")
    assert "media links" in kept and "`RETENTION_DAYS` after the person's last message" in kept


def test_deployment_says_what_happens_to_messages_while_rasa_is_down() -> None:
    section = _section(DEPLOYMENT, "## When a server crashes")
    for needed in (
        "*Rasa server down*",
        "fallback URL",
        "15 s",
        "Telegram",
        "lost",
        "/webhooks/whatsapp/fallback",
        "*Action server down*",
        "apology",
    ):
        assert needed in section, needed
    # Every connection override shown is one Twilio accepts (rc <= 5, tt <= 15 000 ms).
    overrides = re.findall(r"webhook#([a-z0-9=&,]+)", DEPLOYMENT)
    assert overrides
    for fragment in overrides:
        values = dict(pair.split("=", 1) for pair in fragment.split("&"))
        assert 0 <= int(values["rc"]) <= 5
        assert int(values.get("tt", "15000")) <= 15000
        assert int(values.get("ct", "5000")) <= 10000 and int(values.get("rt", "15000")) <= 15000


def test_security_md_names_only_tests_that_exist() -> None:
    named = re.findall(r"`((?:tests/[\w/]+/)?test_\w+\.py)(?:::(\w+))?", SECURITY)
    assert len(named) >= 15
    for path, test in named:
        file = ROOT / path if path.startswith("tests/") else ROOT / "tests" / "security" / path
        assert file.is_file(), path
        if test:
            assert re.search(rf"^(async )?def {test}\(", file.read_text("utf-8"), re.M), (
                f"{path}::{test}"
            )


def test_every_security_test_file_is_in_the_threat_model() -> None:
    files = {p.name for p in (ROOT / "tests" / "security").glob("test_*.py")}
    assert {name for name in files if f"`{name}" not in SECURITY} == set()
