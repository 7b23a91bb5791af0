"""Start the action server and the Rasa server together, and stop both on Ctrl-C.

``make run`` calls ``python -m bot.runner``. No Rasa import here: the servers are child
processes, so this module also serves the tests, which start them on free loopback ports.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from bot.settings import ROOT, Settings, SettingsError, load_settings

READY_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 15.0


class StartError(RuntimeError):
    """The assistant could not start; the message says why and what to do."""


def port_in_use(host: str, port: int) -> bool:
    """True when something already listens on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (for tests and benchmarks)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def child_env(settings: Settings) -> dict[str, str]:
    """Environment for the servers: ours plus every ${VAR} the Rasa YAML files read."""
    env = dict(os.environ)
    # The children read their settings from the environment: hand them exactly ours.
    env.update(settings.to_env())
    env.update(settings.rasa_env())
    env.update(settings.profile_env())
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    # The action server (rasa_sdk) binds 0.0.0.0 unless told otherwise: only Rasa calls it.
    env["SANIC_HOST"] = "127.0.0.1"
    return env


def rasa_command(settings: Settings, endpoints: Path, credentials: Path) -> list[str]:
    """The Rasa server command line."""
    cmd = [
        sys.executable, "-m", "rasa", "run",
        "--model", str(settings.model_path),
        "--endpoints", str(endpoints),
        "--credentials", str(credentials),
        "--interface", settings.host,
        "--port", str(settings.rasa_port),
        "--enable-api",
        "--log-file", str(settings.var_dir / "rasa.log"),
    ]  # fmt: skip
    if settings.rasa_api_token:
        cmd += ["--auth-token", settings.rasa_api_token]
    return cmd


def action_command(settings: Settings) -> list[str]:
    """The action server command line (always on loopback: only Rasa calls it)."""
    return [
        sys.executable, "-m", "rasa_sdk",
        "--actions", "actions",
        "--port", str(settings.action_port),
    ]  # fmt: skip


def _get(url: str, timeout: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (loopback URL)
            return int(resp.status)
    except (urllib.error.URLError, OSError, ValueError):
        return None


@dataclass
class Assistant:
    """The two server processes of one running assistant."""

    settings: Settings
    endpoints: Path | None = None  # default: the profile's endpoints file
    credentials: Path = ROOT / "credentials.yml"
    log: IO[str] | None = None
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def rasa_url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.rasa_port}"

    @property
    def action_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.action_port}"

    def check(self) -> None:
        """Refuse to start with a clear message when something is missing or in the way."""
        if not self.settings.model_path.is_file():
            raise StartError(
                f"No trained model at {self.settings.model_path}. Run `make train` (or `make run`)."
            )
        for name, host, port in (
            ("Rasa server", self.settings.host, self.settings.rasa_port),
            ("action server", "127.0.0.1", self.settings.action_port),
        ):
            if port_in_use(host, port):
                variable = "RASA_PORT" if name == "Rasa server" else "ACTION_PORT"
                raise StartError(
                    f"Port {port} on {host} is already in use, so the {name} cannot start. "
                    f"Stop whatever uses it (`ss -ltnp 'sport = :{port}'` shows it) or choose "
                    f"another port, e.g. `{variable}={port + 1} make run`."
                )

    def start(self) -> None:
        """Start both servers (action server first: Rasa calls it)."""
        self.check()
        self.settings.var_dir.mkdir(parents=True, exist_ok=True)
        env = child_env(self.settings)
        out = self.log if self.log is not None else subprocess.DEVNULL
        # Own process groups: Ctrl-C reaches us once and we stop the children in order.
        self.processes["actions"] = subprocess.Popen(
            action_command(self.settings), cwd=ROOT, env=env, stdout=out, stderr=out,
            start_new_session=True,
        )  # fmt: skip
        self.processes["rasa"] = subprocess.Popen(
            rasa_command(
                self.settings, self.endpoints or self.settings.endpoints_file, self.credentials
            ),
            cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True,
        )  # fmt: skip

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Wait (bounded) until both servers answer; raise with the reason otherwise."""
        deadline = time.monotonic() + timeout
        # Rasa answers on / only once the model is loaded.
        pending = {"actions": f"{self.action_url}/health", "rasa": f"{self.rasa_url}/"}
        while pending:
            for name, url in list(pending.items()):
                proc = self.processes[name]
                if proc.poll() is not None:
                    raise StartError(
                        f"The {name} server exited with status {proc.returncode} while "
                        f"starting; see {self.settings.var_dir / 'rasa.log'} and the output above."
                    )
                if _get(url) == 200:
                    del pending[name]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise StartError(f"Timed out after {timeout:.0f}s waiting for {', '.join(pending)}")
            time.sleep(0.5)

    def stop(self) -> None:
        """Stop Rasa, then the action server; kill what does not stop in time."""
        for name in ("rasa", "actions"):
            proc = self.processes.get(name)
            if proc is None or proc.poll() is not None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for name in ("rasa", "actions"):
            proc = self.processes.get(name)
            if proc is None:
                continue
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=STOP_TIMEOUT_S)

    def died(self) -> str | None:
        """Name of a server that has exited, if any."""
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                return name
        return None


def playground_line(settings: Settings) -> str:
    """Where the playground page is, or why there is none."""
    if not settings.playground_enabled:
        if settings.profile == "prod":
            why = "never in the production profile"
        elif settings.playground.lower() == "auto":
            why = "messaging platforms are configured; PLAYGROUND=on to have it anyway"
        else:
            why = f"PLAYGROUND={settings.playground}"
        return f"  Playground      off ({why})"
    # Only a browser on this machine may use it: it must be reachable on loopback.
    if settings.host not in ("0.0.0.0", "::", "localhost") and not settings.host.startswith("127."):
        return f"  Playground      unreachable: HOST={settings.host} is not loopback"
    url = f"http://127.0.0.1:{settings.rasa_port}/webhooks/playground/"
    return f"  Playground      {url}   (in a browser: a phone and the mediators' desk)"


def banner(assistant: Assistant) -> str:
    """What a person needs to know once the assistant runs."""
    s = assistant.settings
    lines = [
        "",
        "PRIM assistant is running.",
        f"  Rasa server     {assistant.rasa_url}   (HTTP API enabled"
        + (", token required)" if s.rasa_api_token else ", loopback only)"),
        f"  Action server   {assistant.action_url}",
        playground_line(s),
        "  Webhooks:",
        f"    REST (local chat, tests)  POST {assistant.rasa_url}/webhooks/rest/webhook",
        f"    WhatsApp (Twilio)         POST {assistant.rasa_url}/webhooks/whatsapp/webhook"
        + ("" if s.has_whatsapp else "   [not configured: TWILIO_* unset]"),
        f"    Telegram                  POST {assistant.rasa_url}/webhooks/telegram/webhook"
        + ("" if s.has_telegram else "   [not configured: TELEGRAM_BOT_TOKEN unset]"),
        f'  Parse a message: POST {assistant.rasa_url}/model/parse  {{"text": "bonjour"}}',
        f"  Logs: {s.var_dir / 'rasa.log'}",
        "Press Ctrl-C to stop.",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the assistant until Ctrl-C (or, with --check, start, report and stop)."""
    parser = argparse.ArgumentParser(prog="python -m bot.runner", description=__doc__)
    parser.add_argument(
        "--no-chat", action="store_true", help="do not open the terminal chat, just serve"
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2

    assistant = Assistant(settings)
    stop_requested = False

    def _on_signal(signum: int, _frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True
        raise KeyboardInterrupt

    # SIGINT too: a runner started in the background by a script inherits SIGINT ignored,
    # and Python then never raises KeyboardInterrupt on Ctrl-C.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _on_signal)
    try:
        print("Starting the action server and the Rasa server (loading the model takes ~20 s)...")
        assistant.start()
        assistant.wait_ready()
        print(banner(assistant))
        interactive = sys.stdin.isatty() and not args.no_chat
        if interactive:
            from bot.terminal_chat import chat

            chat(f"{assistant.rasa_url}/webhooks/rest/webhook", should_stop=assistant.died)
        else:
            while not stop_requested and not assistant.died():
                time.sleep(1.0)
        dead = assistant.died()
        if dead:
            print(f"The {dead} server stopped unexpectedly; see {settings.var_dir / 'rasa.log'}.")
            return 1
        return 0
    except StartError as exc:
        print(f"Cannot start: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping...")
        return 0
    finally:
        assistant.stop()
        print("Stopped.")


if __name__ == "__main__":
    sys.exit(main())
