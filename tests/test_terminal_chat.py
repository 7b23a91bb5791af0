"""The terminal chat shows buttons as a numbered menu and maps numbers back."""

from bot.terminal_chat import numbered_menu, resolve_choice

BUTTONS = [
    {"title": "Santé", "payload": "/ask_health"},
    {"title": "Travail", "payload": "/ask_work"},
]


def test_numbered_menu() -> None:
    assert numbered_menu(BUTTONS) == "  1. Santé\n  2. Travail"


def test_number_maps_to_payload() -> None:
    assert resolve_choice(" 2 ", BUTTONS) == "/ask_work"


def test_other_text_and_out_of_range_numbers_pass_through() -> None:
    assert resolve_choice("3", BUTTONS) == "3"
    assert resolve_choice("0", BUTTONS) == "0"
    assert resolve_choice("bonjour", BUTTONS) == "bonjour"
    assert resolve_choice("1", []) == "1"
