"""The two server processes of one assistant: their command lines, environment and ports.

No Rasa import here: the action server and the Rasa server are child processes, started
in their own process groups (:class:`Assistant`); the tests and benchmarks start them on
free loopback ports (:func:`free_port`). :mod:`bot.runner` is what ``make run`` calls.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from bot.settings import ROOT, Settings, deployment_problem

READY_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 15.0
# Sanic reads SANIC_REQUEST_MAX_SIZE and refuses a larger body from its Content-Length,
# before reading it (Sanic's default is 100 MB). Our largest webhook check is 256 KB
# (Telegram); replacing a model through PUT /model is therefore refused: restart instead.
REQUEST_MAX_BYTES = 256 * 1024


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
