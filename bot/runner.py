"""Start the action server and the Rasa server together, and stop both on Ctrl-C.

``make run`` calls ``python -m bot.runner``. No Rasa import here: the servers are child
processes (bot/servers.py), watched and started again after a crash, with retention applied
daily (bot/supervision.py); their names are importable from here too, so this module also
serves the tests, which start them on free loopback ports.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import urllib.parse
from collections.abc import Sequence

from bot.servers import (
    READY_TIMEOUT_S,
    REQUEST_MAX_BYTES,
    STOP_TIMEOUT_S,
    Assistant,
    StartError,
    action_command,
    child_env,
    free_port,
    port_in_use,
    rasa_command,
    secure_var_dir,
)
from bot.servers import _get as _get  # the tests poll the servers with it
from bot.settings import Settings, SettingsError, deployment_problem, load_settings
from bot.supervision import (
    CRASH_LIMIT,
    CRASH_WINDOW_S,
    NAMES,
    RESTART_BACKOFF_S,
    RETENTION_INTERVAL_S,
    Retention,
    Supervisor,
)

__all__ = [
    "CRASH_LIMIT",
    "CRASH_WINDOW_S",
    "NAMES",
    "READY_TIMEOUT_S",
    "REQUEST_MAX_BYTES",
    "RESTART_BACKOFF_S",
    "RETENTION_INTERVAL_S",
    "STOP_TIMEOUT_S",
    "Assistant",
    "Retention",
    "StartError",
    "Supervisor",
    "action_command",
    "banner",
    "child_env",
    "free_port",
    "main",
    "playground_line",
    "port_in_use",
    "rasa_command",
    "secure_var_dir",
]


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
