"""``python -m bot.rasa_server run ...``: Rasa's own command line, with the API token added
inside the process, so that it never appears in ``ps`` or /proc/<pid>/cmdline.

Rasa 3.6 takes the token only as ``--auth-token`` (no environment variable); the runner
hands it over in the child's environment (readable by its owner only) and this wrapper
appends it to ``sys.argv`` after the process has started. An adapter: it imports Rasa.
"""

from __future__ import annotations

import sys

from bot.settings import load_settings


def main() -> None:
    """Run Rasa's CLI with ``--auth-token`` from the settings when its API is enabled."""
    settings = load_settings()
    if settings.rasa_api_token and "--enable-api" in sys.argv:
        sys.argv += ["--auth-token", settings.rasa_api_token]
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
