"""The runner refuses to start with a clear message instead of a traceback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from bot.runner import Assistant, StartError, banner, free_port, main, port_in_use
from bot.settings import ROOT, load_settings


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
    for path in (
        "/webhooks/rest/webhook",
        "/webhooks/whatsapp/webhook",
        "/webhooks/telegram/webhook",
    ):
        assert path in text
    assert f"127.0.0.1:{settings.rasa_port}" in text


@pytest.mark.e2e
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_stops_both_servers(tmp_path: Path, signum: int) -> None:
    """`make run` then Ctrl-C: the runner stops the action server and the Rasa server.

    The runner is started the way a script starting it in the background would, with
    SIGINT ignored, and the signal goes to its whole process group, as a terminal does.
    """
    model = ROOT / "models" / "current.tar.gz"
    if not model.is_file():
        pytest.fail("no trained model: run `make train` (make test does it first)")
    rasa_port, action_port = free_port(), free_port()
    env = {
        **os.environ,
        "RASA_PORT": str(rasa_port),
        "ACTION_PORT": str(action_port),
        "VAR_DIR": str(tmp_path / "var"),
        "MODEL_PATH": str(model),
        "PLAYGROUND": "off",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.runner", "--no-chat"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # noqa: PLW1509
    )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not _listening(rasa_port):
            assert proc.poll() is None, proc.communicate()[0]
            time.sleep(1)
        assert _listening(rasa_port) and _listening(action_port), "servers did not start"
        os.killpg(proc.pid, signum)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    assert proc.returncode == 0, output
    assert "Stopped." in output
    assert not _listening(rasa_port) and not _listening(action_port)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_retention_runs_once_the_servers_are_up_and_says_what_it_removed(settings) -> None:
    from bot.runner import Retention

    said: list[str] = []
    calls: list[object] = []

    def purge(given):  # noqa: ANN001, ANN202
        calls.append(given)
        return {"tracker events": 3, "contacts": 1}

    retention = Retention(settings, interval_s=0.05, purge=purge, say=said.append).start()
    deadline = time.monotonic() + 5
    while len(calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    retention.stop()
    assert len(calls) >= 2 and calls[0] is settings  # at start, then every interval
    assert said[0] == f"Retention: removed 4 rows older than {settings.retention_days} days."


def test_a_failed_retention_is_said_and_the_assistant_keeps_serving(settings) -> None:
    from bot.runner import Retention

    said: list[str] = []

    def purge(given):  # noqa: ANN001, ANN202
        raise OSError("disk full")

    retention = Retention(settings, purge=purge, say=said.append)
    retention.run_once()
    assert retention.runs == 0
    assert said == [
        "Retention purge failed (OSError: disk full); it will be tried again in a day, or "
        "run `python -m bot privacy purge` by hand."
    ]


def test_retention_purges_the_deployment_databases(settings) -> None:
    from bot.runner import Retention

    said: list[str] = []
    retention = Retention(settings, say=said.append)
    retention.run_once()  # the real purge, on this deployment's (empty) SQLite databases
    assert retention.runs == 1, said
    assert (settings.var_dir / "assistant.db").is_file()


def test_the_systemd_check_also_tightens_files_left_readable(settings, monkeypatch, capsys) -> None:
    """Under systemd only `--check` runs before the servers (ExecStartPre)."""
    import bot.runner as runner

    loose = settings.var_dir / "assistant.db"
    loose.write_bytes(b"")
    loose.chmod(0o644)
    settings.var_dir.chmod(0o755)
    monkeypatch.setattr(runner, "load_settings", lambda: settings)
    assert runner.main(["--check"]) == 0
    assert loose.stat().st_mode & 0o777 == 0o600
    assert settings.var_dir.stat().st_mode & 0o777 == 0o700
    out = capsys.readouterr()
    assert out.out == "Configuration OK.\n"
    assert f"{loose} was readable by other users; now owner-only." in out.err
