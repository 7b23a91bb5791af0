"""The runner refuses to start with a clear message instead of a traceback."""

from __future__ import annotations

import socket
from dataclasses import replace
from pathlib import Path

import pytest

from bot.runner import Assistant, StartError, banner, free_port, main, port_in_use
from bot.settings import load_settings


@pytest.fixture
def settings(tmp_path: Path):
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"not really a model")
    return replace(
        load_settings(environ={}, env_file=None),
        var_dir=tmp_path,
        model_path=model,
        rasa_port=free_port(),
        action_port=free_port(),
    )


def test_port_already_in_use_gives_a_clear_message(settings) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", settings.rasa_port))
        busy.listen()
        assert port_in_use("127.0.0.1", settings.rasa_port)
        with pytest.raises(StartError, match=rf"Port {settings.rasa_port} .* already in use"):
            Assistant(settings).check()


def test_missing_model_says_to_train(settings, tmp_path: Path) -> None:
    missing = replace(settings, model_path=tmp_path / "nope.tar.gz")
    with pytest.raises(StartError, match="make train"):
        Assistant(missing).check()


def test_main_reports_start_errors_without_traceback(monkeypatch, capsys, tmp_path) -> None:
    monkeypatch.setenv("MODEL_PATH", str(tmp_path / "absent.tar.gz"))
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    assert main(["--no-chat"]) == 1
    err = capsys.readouterr().err
    assert "Cannot start: No trained model" in err
    assert "Traceback" not in err


def test_main_reports_bad_configuration(monkeypatch, capsys) -> None:
    monkeypatch.setenv("RASA_PORT", "not-a-port")
    assert main(["--no-chat"]) == 2
    assert "RASA_PORT" in capsys.readouterr().err


def test_banner_lists_the_webhook_paths(settings) -> None:
    text = banner(Assistant(settings))
    for path in ("/webhooks/rest/webhook", "/webhooks/whatsapp/webhook",
                 "/webhooks/telegram/webhook"):
        assert path in text
    assert f"127.0.0.1:{settings.rasa_port}" in text
