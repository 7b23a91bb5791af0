"""Chat with the running assistant from a terminal, through Rasa's REST channel.

Buttons are shown as a numbered menu and a number typed back is sent as that button's
payload, the way a channel without buttons (WhatsApp) behaves.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

REQUEST_TIMEOUT_S = 30.0


def numbered_menu(buttons: list[dict[str, Any]]) -> str:
    """Buttons as lines '1. Title'."""
    return "\n".join(f"  {i}. {b.get('title', '')}" for i, b in enumerate(buttons, start=1))


def resolve_choice(text: str, buttons: list[dict[str, Any]]) -> str:
    """A number that picks one of the last buttons becomes its payload; anything else stays."""
    stripped = text.strip()
    if stripped.isdigit() and 1 <= int(stripped) <= len(buttons):
        return str(buttons[int(stripped) - 1].get("payload") or stripped)
    return text


def send(url: str, sender: str, text: str) -> list[dict[str, Any]]:
    """Post one message to the REST webhook and return the bot's messages."""
    body = json.dumps({"sender": sender, "message": text}).encode("utf-8")
    request = urllib.request.Request(  # noqa: S310 (loopback URL built by the runner)
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as resp:  # noqa: S310
        return list(json.loads(resp.read().decode("utf-8") or "[]"))


def chat(url: str, should_stop: Callable[[], str | None] = lambda: None) -> None:
    """Read lines from the terminal until EOF or Ctrl-C and print the bot's answers."""
    sender = f"terminal-{uuid.uuid4().hex[:8]}"
    buttons: list[dict[str, Any]] = []
    print("Type a message (in any language) and press Enter. Ctrl-D or Ctrl-C to quit.\n")
    while not should_stop():
        try:
            line = input("you> ")
        except EOFError:
            return
        if not line.strip():
            continue
        try:
            replies = send(url, sender, resolve_choice(line, buttons))
        except (urllib.error.URLError, OSError, ValueError) as exc:
            print(f"(the assistant did not answer: {exc})")
            continue
        buttons = []
        for reply in replies:
            if reply.get("text"):
                print(f"bot> {reply['text']}")
            if reply.get("image"):
                print(f"bot> [image] {reply['image']}")
            if reply.get("buttons"):
                buttons = list(reply["buttons"])
                print(numbered_menu(buttons))
        print()
