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
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from bot.settings import ROOT, Settings, SettingsError, deployment_problem, load_settings

READY_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 15.0
# Sanic reads SANIC_REQUEST_MAX_SIZE and refuses a larger body from its Content-Length,
# before reading it (Sanic's default is 100 MB). Our largest webhook check is 256 KB
# (Telegram); replacing a model through PUT /model is therefore refused: restart instead.
REQUEST_MAX_BYTES = 256 * 1024
# Supervision: a crashed server is started again after 1, 2, 4... s (at most 10 s); more
# than CRASH_LIMIT crashes within CRASH_WINDOW_S stops everything.
RESTART_BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 10.0)
CRASH_LIMIT = 5
CRASH_WINDOW_S = 300.0
NAMES = {"actions": "action server", "rasa": "Rasa server"}
# Retention is applied once the servers are up, then once a day.
RETENTION_INTERVAL_S = 24 * 3600.0


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
    env["SANIC_REQUEST_MAX_SIZE"] = str(REQUEST_MAX_BYTES)
    return env


def secure_var_dir(var_dir: Path) -> list[str]:
    """Create ``var_dir`` 0700; tighten it and the files in it to owner-only; what was
    tightened (SQLite databases, logs and the mediators' file hold personal data)."""
    var_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    tightened = []
    for path in [var_dir, *var_dir.rglob("*")]:
        try:
            mode = path.lstat().st_mode
        except OSError:
            continue
        if stat.S_ISLNK(mode):
            continue
        wanted = 0o700 if stat.S_ISDIR(mode) else stat.S_IMODE(mode) & 0o700
        if stat.S_IMODE(mode) & 0o077:
            try:
                path.chmod(wanted)
            except OSError:
                continue
            tightened.append(str(path))
    return tightened


def rasa_command(settings: Settings, endpoints: Path, credentials: Path) -> list[str]:
    """The Rasa server command line."""
    # bot.rasa.server switches the API by the settings and adds --auth-token inside the
    # process: ps shows no token. The REST channel's policy is in bot/rasa/rest_auth.py.
    cmd = [
        sys.executable,
        "-m",
        "bot.rasa.server",
        "run",
        "--model",
        str(settings.model_path),
        "--endpoints",
        str(endpoints),
        "--credentials",
        str(credentials),
        "--interface",
        settings.host,
        "--port",
        str(settings.rasa_port),
        "--log-file",
        str(settings.var_dir / "rasa.log"),
    ]
    if settings.api_enabled:
        cmd.append("--enable-api")
    return cmd


def action_command(settings: Settings) -> list[str]:
    """The action server command line (always on loopback: only Rasa calls it)."""
    return [
        sys.executable,
        "-m",
        "rasa_sdk",
        "--actions",
        "actions",
        "--port",
        str(settings.action_port),
    ]


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
        if not self.settings.host_is_loopback and not self.settings.rasa_api_token:
            raise StartError(str(deployment_problem(self.settings)))
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
        # Databases, logs and the mediators' file hold personal data: owner only (the
        # children create their files with umask 077).
        for path in secure_var_dir(self.settings.var_dir):
            print(f"Warning: {path} was readable by other users; now owner-only.", file=sys.stderr)
        self.spawn("actions")
        self.spawn("rasa")

    def spawn(self, name: str) -> None:
        """Start (or start again) one server: "actions" or "rasa"."""
        env = child_env(self.settings)
        out = self.log if self.log is not None else subprocess.DEVNULL
        if name == "actions":
            cmd = action_command(self.settings)
        else:
            cmd = rasa_command(
                self.settings, self.endpoints or self.settings.endpoints_file, self.credentials
            )
        # Own process groups: Ctrl-C reaches us once and we stop the children in order.
        self.processes[name] = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True, umask=0o077
        )

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


class Supervisor:
    """Starts a crashed server again with backoff, logging each restart; gives up (and
    says why) after more than ``crash_limit`` crashes within ``window_s``.

    While the action server is down, Rasa still answers and our channels send the apology
    (bot/channels/action_errors.py); while the Rasa server is down, webhooks are refused
    and the platforms retry (docs/deployment.md).
    """

    def __init__(
        self,
        assistant: Assistant,
        backoff: Sequence[float] = RESTART_BACKOFF_S,
        crash_limit: int = CRASH_LIMIT,
        window_s: float = CRASH_WINDOW_S,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.assistant = assistant
        self.backoff = tuple(backoff)
        self.crash_limit = crash_limit
        self.window_s = window_s
        self.say = say or (lambda text: print(text, file=sys.stderr, flush=True))
        self.crashes: dict[str, list[float]] = {"actions": [], "rasa": []}
        self.restarts = 0
        self.gave_up: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check_once(self) -> None:
        """Restart every server that exited (blocking through the backoff)."""
        for name, proc in list(self.assistant.processes.items()):
            if self._stop.is_set() or self.gave_up or proc.poll() is None:
                continue
            now = time.monotonic()
            recent = [t for t in self.crashes[name] if now - t < self.window_s] + [now]
            self.crashes[name] = recent
            what = NAMES.get(name, name)
            if len(recent) > self.crash_limit:
                self.gave_up = (
                    f"The {what} crashed {len(recent)} times within "
                    f"{self.window_s:.0f} s (last exit status {proc.returncode}); "
                    f"stopping. See {self.assistant.settings.var_dir / 'rasa.log'} and the "
                    "server output, fix the cause, then `make run` again."
                )
                self.say(self.gave_up)
                return
            delay = self.backoff[min(len(recent) - 1, len(self.backoff) - 1)]
            self.say(
                f"The {what} stopped unexpectedly (exit status {proc.returncode}); "
                f"restarting it in {delay:.0f} s (crash {len(recent)} of at most "
                f"{self.crash_limit} in {self.window_s:.0f} s)."
            )
            if self._stop.wait(delay):
                return
            self.assistant.spawn(name)
            self.restarts += 1
            self.say(f"The {what} was started again (pid {self.assistant.processes[name].pid}).")

    def start(self, interval: float = 0.5) -> Supervisor:
        """Watch the servers in a background thread."""

        def loop() -> None:
            while not self._stop.wait(interval) and not self.gave_up:
                self.check_once()

        self._thread = threading.Thread(target=loop, name="supervisor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching (before the servers are stopped on purpose)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_TIMEOUT_S)

    def failed(self) -> str | None:
        """The sentence said when giving up, if it did."""
        return self.gave_up


class Retention:
    """Applies retention (what ``python -m bot privacy purge`` does) once the servers are
    up, then every ``interval_s``: a one-desk deployment has no cron or systemd timer, and
    personal data must not outlive RETENTION_DAYS because nobody scheduled the purge.
    Running it beside a timer does no harm (the purge is idempotent)."""

    def __init__(
        self,
        settings: Settings,
        interval_s: float = RETENTION_INTERVAL_S,
        purge: Callable[[Settings], dict[str, int]] | None = None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.interval_s = interval_s
        self.purge = purge or _purge
        self.say = say or (lambda text: print(text, file=sys.stderr, flush=True))
        self.runs = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> None:
        """One purge; a failure is said (with what to run by hand), never raised."""
        try:
            removed = self.purge(self.settings)
        except Exception as exc:  # noqa: BLE001 - the assistant keeps serving
            self.say(
                f"Retention purge failed ({type(exc).__name__}: {exc}); it will be tried "
                "again in a day, or run `python -m bot privacy purge` by hand."
            )
            return
        self.runs += 1
        total = sum(removed.values())
        if total:
            days = self.settings.retention_days
            self.say(f"Retention: removed {total} rows older than {days} days.")

    def start(self) -> Retention:
        def loop() -> None:
            self.run_once()
            while not self._stop.wait(self.interval_s):
                self.run_once()

        self._thread = threading.Thread(target=loop, name="retention", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_TIMEOUT_S)


def _purge(settings: Settings) -> dict[str, int]:
    """Retention with the deployment's own databases (as the privacy CLI does)."""
    from datetime import timedelta

    from bot import privacy
    from bot.db import make_engine, migrate

    engine = make_engine(settings.effective_database_url)
    migrate(engine)
    tracker = make_engine(privacy.tracker_store_url(settings))
    try:
        older_than = timedelta(days=settings.retention_days)
        return dict(privacy.purge(engine, tracker, older_than).rows)
    finally:
        engine.dispose()
        tracker.dispose()


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
    if not s.api_enabled:
        api = "HTTP API off"
    elif s.rasa_api_token:
        api = "HTTP API enabled, token required"
    else:
        api = "HTTP API enabled, loopback only"
    if not s.rest_enabled:
        rest = "off (REST_CHANNEL)"
    else:
        rest = f"POST {assistant.rasa_url}/webhooks/rest/webhook" + (
            "   [token required]" if s.rasa_api_token else ""
        )
    lines = [
        "",
        "PRIM assistant is running.",
        f"  Rasa server     {assistant.rasa_url}   ({api})",
        f"  Action server   {assistant.action_url}",
        playground_line(s),
        "  Webhooks:",
        f"    REST (local chat, tests)  {rest}",
        f"    WhatsApp (Twilio)         POST {assistant.rasa_url}/webhooks/whatsapp/webhook"
        + ("" if s.has_whatsapp else "   [not configured: TWILIO_* unset]"),
        f"    Telegram                  POST {assistant.rasa_url}/webhooks/telegram/webhook"
        + ("" if s.has_telegram else "   [not configured: TELEGRAM_BOT_TOKEN unset]"),
        *(
            [f'  Parse a message: POST {assistant.rasa_url}/model/parse  {{"text": "bonjour"}}']
            if s.api_enabled
            else []
        ),
        "  A server that crashes is started again (and said so here).",
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
    parser.add_argument(
        "--check",
        action="store_true",
        help="only check the configuration (systemd ExecStartPre): exit 2 with the reason",
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    problem = deployment_problem(settings)
    if problem:
        print(f"Unsafe configuration, not starting: {problem}.", file=sys.stderr)
        return 2
    if args.check:
        # Under systemd (ExecStartPre) this is the only step before the servers: files
        # left readable by others (an old install, a copy) are tightened here too.
        for path in secure_var_dir(settings.var_dir):
            print(f"Warning: {path} was readable by other users; now owner-only.", file=sys.stderr)
        print("Configuration OK.")
        return 0
    os.umask(0o077)  # var/ and what the runner writes there: owner only

    assistant = Assistant(settings)
    supervisor = Supervisor(assistant)
    retention = Retention(settings)
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
        supervisor.start()
        retention.start()
        print(banner(assistant))
        interactive = sys.stdin.isatty() and not args.no_chat and settings.rest_enabled
        if interactive:
            from bot.terminal_chat import chat

            url = f"{assistant.rasa_url}/webhooks/rest/webhook"
            if settings.rasa_api_token:
                url += "?" + urllib.parse.urlencode({"token": settings.rasa_api_token})
            chat(url, should_stop=supervisor.failed)
        else:
            while not stop_requested and not supervisor.failed():
                time.sleep(1.0)
        return 1 if supervisor.failed() else 0
    except StartError as exc:
        print(f"Cannot start: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping...")
        return 0
    finally:
        retention.stop()
        supervisor.stop()
        assistant.stop()
        print("Stopped.")


if __name__ == "__main__":
    sys.exit(main())
