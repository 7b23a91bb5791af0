"""Thin Rasa SDK actions: read slots, call one function of ``bot``, dispatch a response."""

# Phone numbers never reach a log line of the action server either (docs/privacy.md): the
# SDK has configured logging by the time it imports this package.
from bot.privacy import install_log_masking_everywhere

install_log_masking_everywhere()
