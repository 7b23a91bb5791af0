"""Hand-off to community mediators over Telegram or WhatsApp, and back (no rasa import).

Tickets, relayed messages and pending notifications live in our own database
(``models.py``); mediators are registered in a YAML file (``mediators.py``); the relay
interceptor (``relay.py``) decides before Rasa whether a message belongs to a hand-off.
"""
