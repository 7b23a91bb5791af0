"""Thin Rasa SDK actions: read slots, call one function of ``bot``, dispatch a response."""
