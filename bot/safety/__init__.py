"""Safety: recognise a person in danger in any message, and answer with the right help first.

``assess(text, language)`` (assess.py) runs on every inbound text, before Rasa; the help
(help.py) comes from sourced directory entries. No Rasa import. See docs/safety.md.
"""

from bot.safety.assess import IMMINENT, KINDS, URGENT, Danger, assess

__all__ = ["IMMINENT", "KINDS", "URGENT", "Danger", "assess"]
