"""``python -m bot.rasa.server run ...``: Rasa's own command line, with the HTTP API switched
by the settings (``RASA_API``; off in prod by default) and the API token added inside the
process, so that it never appears in ``ps`` or /proc/<pid>/cmdline.

Rasa 3.6 takes the token only as ``--auth-token`` (no environment variable); the runner, or
systemd's ``EnvironmentFile``, hands it over in the environment (readable by its owner only)
and this wrapper appends it to ``sys.argv`` after the process has started. An adapter.
"""

from __future__ import annotations

import sys

from bot.settings import load_settings


def rasa_argv(argv: list[str], api_enabled: bool, token: str) -> list[str]:
    """``argv`` with ``--enable-api`` and ``--auth-token`` as the settings say."""
    args, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--auth-token":
            skip = True
            continue
        if arg == "--enable-api" or arg.startswith("--auth-token="):
            continue
        args.append(arg)
    if api_enabled:
        args.append("--enable-api")
        if token:
            args += ["--auth-token", token]
    return args


def main() -> None:
    """Run Rasa's CLI with the API (and its token) only when the settings enable it."""
    settings = load_settings()
    sys.argv = rasa_argv(sys.argv, settings.api_enabled, settings.rasa_api_token)
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
