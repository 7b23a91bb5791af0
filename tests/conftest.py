"""Shared fixtures: a real Rasa server and action server on free loopback ports."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.runner import Assistant, StartError, free_port
from bot.settings import ROOT, Settings, load_settings

# Helpers training their own model point TEST_MODEL_PATH at it.
MODEL = Path(os.environ.get("TEST_MODEL_PATH") or ROOT / "models" / "current.tar.gz")


def start_assistant(
    settings: Settings,
    log_path: Path,
    env: dict[str, str] | None = None,
    timeout: float = 300.0,
) -> Assistant:
    """Start the action server and the Rasa server, their output appended to ``log_path``.

    ``env``: variables the servers read from their environment, set only while they start.
    A server that does not start fails the test with the end of its output.
    """
    saved = {name: os.environ.get(name) for name in env or {}}
    os.environ.update(env or {})
    running = Assistant(settings, log=log_path.open("a", encoding="utf-8"))
    try:
        running.start()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    try:
        running.wait_ready(timeout=timeout)
    except StartError as exc:
        running.stop()
        pytest.fail(f"{exc}\n--- server output ---\n{_tail(log_path)}")
    return running


@contextmanager
def serving(
    settings: Settings, log_path: Path, env: dict[str, str] | None = None
) -> Iterator[Assistant]:
    """start_assistant(), stopped when the block ends."""
    running = start_assistant(settings, log_path, env)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    """The trained assistant (``make train``) with both servers, stopped after the session."""
    settings = trained_settings(tmp_path_factory.mktemp("var"))
    with serving(settings, settings.var_dir / "servers.log") as running:
        yield running


def trained_settings(var_dir: Path, **changes: Any) -> Settings:
    """Default settings (no environment, no .env) with the trained model (``make train``;
    without it the test fails), free loopback ports and ``var_dir``; then ``changes``."""
    require_model()
    return replace(
        load_settings(environ={}, env_file=None), var_dir=var_dir, **model_and_ports(), **changes
    )


def require_model() -> None:
    """Fail the test when there is no trained model (``make test`` trains one first)."""
    if not MODEL.is_file():
        pytest.fail(f"no trained model at {MODEL}: set TEST_MODEL_PATH or run `make train`")


def model_and_ports() -> dict[str, Any]:
    """The trained model and two free loopback ports, as settings fields."""
    return {"model_path": MODEL, "rasa_port": free_port(), "action_port": free_port()}


@contextmanager
def started(
    settings: Settings, what: str = "assistant", timeout: float = 300.0
) -> Iterator[Assistant]:
    """Start the assistant, its output in ``servers.log`` of its var_dir (written anew);
    fail with the end of that log when ``what`` does not start within ``timeout`` s; stop
    it when the block ends."""
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    log_path = settings.var_dir / "servers.log"
    with log_path.open("w", encoding="utf-8") as log:
        assistant = Assistant(settings, log=log)
        try:
            assistant.start()
            assistant.wait_ready(timeout=timeout)
        except Exception:
            assistant.stop()
            pytest.fail(f"{what} did not start:\n{_tail(log_path)}")
        try:
            yield assistant
        finally:
            assistant.stop()


def _tail(path: Path, lines: int = 60) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


class RestClient:
    """Talks to Rasa's REST channel like a person would."""

    def __init__(self, base_url: str, sender: str) -> None:
        self.url = f"{base_url}/webhooks/rest/webhook"
        self.sender = sender

    def say(self, text: str) -> list[dict[str, Any]]:
        """Send one message and return the bot's replies."""
        body = json.dumps({"sender": self.sender, "message": text}).encode()
        req = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(req, timeout=60) as resp:
            return list(json.loads(resp.read() or b"[]"))


@pytest.fixture
def person(assistant: Assistant, request: pytest.FixtureRequest) -> RestClient:
    """A new person (fresh conversation) talking to the running assistant."""
    return RestClient(assistant.rasa_url, sender=f"{request.node.name}-{os.getpid()}")


# --- Local services (PostgreSQL, Redis) ----------------------------------------------------
PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose connections use a fresh schema, dropped afterwards.

    Skipped, with the reason printed, on a machine without the local PostgreSQL service.
    """
    import uuid

    from sqlalchemy import create_engine, text

    admin = create_engine(PG_URL, future=True)
    try:
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001 (any connection failure means: skip)
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {exc.__class__.__name__}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def redis_url() -> str:
    """The local Redis (database 15), skipped with the reason when it is not running."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc.__class__.__name__}")
    return REDIS_URL


@pytest.fixture
def pg_database_url() -> Iterator[str]:
    """A fresh PostgreSQL database (for Rasa's tracker store, which uses the default schema)."""
    import uuid

    from sqlalchemy import create_engine, text

    admin = create_engine(PG_URL, future=True, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {exc.__class__.__name__}")
    name = f"prim_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = PG_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
