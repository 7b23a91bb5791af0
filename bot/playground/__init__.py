"""The local playground: a person's phone and the mediators' desk in one browser page.

A development tool, never in production: for people without Twilio or Telegram credentials
(an association deciding, a mediator in training, an admin checking a directory edit).
Loopback only; enabled by ``Settings.playground_enabled`` (never in the production
profile), and wired at the composition root (``bot/app.py``: its desk's mediator and
sender). The page's messages go through the same pipeline as the platforms'; its Rasa/Sanic
input channel is ``bot/rasa/playground.py``, and no module here imports Rasa.

- ``hub.py``: constants and bounds, the desk's mediator, mailboxes, sessions, the hub;
- ``delivery.py``: replies rendered as WhatsApp or Telegram would, into the panes;
- ``parsing.py``: reading what the page posts;
- ``core.py``: :class:`Playground`, what the page talks to, on the pipeline and hand-off;
- ``access.py``: who may use it (loopback, per-page token, JSON only) and the page's files,
  served from ``static/``.
"""

from bot.playground.access import (
    CSRF_HEADER,
    CSRF_PLACEHOLDER,
    SECURITY_HEADERS,
    STATIC_DIR,
    STATIC_TYPES,
    CsrfTokens,
    is_json_request,
    load_static,
    local_request_problem,
)
from bot.playground.core import Playground, build_playground
from bot.playground.delivery import DeskNotices, PlaygroundDelivery, PlaygroundMediatorSender
from bot.playground.hub import (
    CHANNEL,
    MAX_BODY_BYTES,
    MAX_WAIT_S,
    MEDIATOR_ID,
    MEDIATOR_NAME,
    TELEGRAM,
    WHATSAPP,
    Mailbox,
    PlaygroundError,
    PlaygroundHub,
    Session,
    playground_mediator,
    with_playground,
)

__all__ = [
    "CHANNEL",
    "CSRF_HEADER",
    "CSRF_PLACEHOLDER",
    "MAX_BODY_BYTES",
    "MAX_WAIT_S",
    "MEDIATOR_ID",
    "MEDIATOR_NAME",
    "SECURITY_HEADERS",
    "STATIC_DIR",
    "STATIC_TYPES",
    "TELEGRAM",
    "WHATSAPP",
    "CsrfTokens",
    "DeskNotices",
    "Mailbox",
    "Playground",
    "PlaygroundDelivery",
    "PlaygroundError",
    "PlaygroundHub",
    "PlaygroundMediatorSender",
    "Session",
    "build_playground",
    "is_json_request",
    "load_static",
    "local_request_problem",
    "playground_mediator",
    "with_playground",
]
