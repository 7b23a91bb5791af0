"""Pseudonyms: a keyed hash stands for a phone number or a Telegram id everywhere but the
contacts table (which the channels need to reply, and which erasure deletes).

Rasa's tracker store, analytics and logs only ever see the pseudonym.
"""

from __future__ import annotations

import hashlib
import hmac
import re

# Shown in logs instead of digits that look like a phone number or an account id.
_NUMBER_RE = re.compile(r"(?<![\w])\+?\d[\d \-.()]{5,}\d")


def pseudonym(channel: str, address: str, key: str) -> str:
    """Stable pseudonym for ``address`` on ``channel``, e.g. ``wa-3f9c...`` (keyed HMAC-SHA256)."""
    if not key:
        raise ValueError("PSEUDONYM_KEY is empty: set it (a long random string) before use")
    digest = hmac.new(key.encode(), f"{channel}:{address}".encode(), hashlib.sha256).hexdigest()
    prefix = {"whatsapp": "wa", "telegram": "tg"}.get(channel, channel[:5] or "x")
    return f"{prefix}-{digest[:24]}"


def mask_numbers(text: str) -> str:
    """Replace phone-number-like digit runs by their last two digits (for log lines)."""
    return _NUMBER_RE.sub(lambda m: "…" + re.sub(r"\D", "", m.group(0))[-2:], text)


def key_for(configured: str, var_dir, profile: str = "dev") -> str:  # noqa: ANN001
    """The pseudonym key: PSEUDONYM_KEY, else (dev profile only) one kept in var/.

    Production must set PSEUDONYM_KEY: losing the key breaks the link between a person and
    their past pseudonyms, which is also how a key rotation erases that link on purpose.
    """
    import os
    import secrets
    from pathlib import Path

    if configured:
        return configured
    if profile != "dev":
        raise ValueError("PSEUDONYM_KEY must be set in the production profile")
    path = Path(var_dir) / "pseudonym.key"
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key)
    return key
