"""The playground page in Debian's headless chromium: whole conversations in French and in
Darija, Arabic right to left on a phone-sized screen, and a hand-off taken, answered and
closed from the desk pane. Screenshots go to tests/artifacts/ (gitignored)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, RunningPlayground, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

ENTRIES_JS = """
return [...document.querySelectorAll(arguments[0] + ' li.msg')].map((li) => ({
  id: Number(li.dataset.id), role: li.classList[1],
  text: (li.querySelector('.text') || {}).textContent || '',
  media: (li.querySelector('.media') || {}).textContent || '',
  buttons: [...li.querySelectorAll('.buttons button')].map((b) => [b.textContent, b.dataset.data]),
}));
"""


class Page:
    """The playground page as a person and a mediator use it."""

    def __init__(self, driver: Any, running: RunningPlayground) -> None:
        self.driver = driver
        self.running = running
        self.person_start = 0
        self.desk_start = 0

    # --- setting up ---------------------------------------------------------------------------
    def open(
        self, mode: str, lang: str, first_name: str = "", width: int = 1280, height: int = 900
    ) -> None:
        """A fresh conversation with the chosen platform behaviour and language."""
        from selenium.webdriver.support.ui import Select

        self.driver.set_window_size(width, height)
        self.driver.get(self.running.page_url)
        assert wait_for(lambda: self.js("return document.body.dataset.ready") == "true", 30)
        before = self.session()
        name = self.el("first-name")
        name.clear()
        if first_name:
            name.send_keys(first_name)
        Select(self.el("lang-select")).select_by_value(lang)
        mode_select = Select(self.el("mode-select"))
        if mode_select.first_selected_option.get_attribute("value") != mode:
            mode_select.select_by_value(mode)
        else:
            self.el("new-session").click()
        assert wait_for(lambda: self.session() not in (None, before), 20)
        assert self.js("return document.getElementById('phone').dataset.mode") == mode
        self.desk_start = max([e["id"] for e in self.desk()] or [0])

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def el(self, element_id: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.ID, element_id)

    def session(self) -> str | None:
        return self.js(
            "const s = sessionStorage.getItem('prim-playground');"
            "return s ? JSON.parse(s).session : null;"
        )

    def shot(self, name: str) -> None:
        path = ARTIFACTS / f"{name}.png"
        assert self.driver.save_screenshot(str(path)), path

    # --- the person ----------------------------------------------------------------------------
    def person(self) -> list[dict[str, Any]]:
        return self.js(ENTRIES_JS, "#person-log")

    def type(self, text: str) -> None:
        self.person_start = len(self.person())
        box = self.el("person-input")
        box.send_keys(text)
        self.el("person-send").click()

    def bot_says(self, needle: str, timeout: float = 60.0) -> dict[str, Any]:
        """The first bot message since the last action that contains ``needle``."""

        def found() -> dict[str, Any] | None:
            new = self.person()[self.person_start :]
            return next((e for e in new if e["role"] == "bot" and needle in e["text"]), None)

        entry = wait_for(found, timeout)
        assert entry, (needle, [e["text"][:90] for e in self.person()[-5:]])
        return entry

    def press(self, data: str) -> None:
        """Press the newest button whose payload is ``data`` (Telegram-like only)."""
        from selenium.webdriver.common.by import By

        self.person_start = len(self.person())
        buttons = self.driver.find_elements(By.CSS_SELECTOR, "#person-log .buttons button")
        matching = [b for b in buttons if b.get_attribute("data-data") == data]
        assert matching, (data, [b.get_attribute("data-data") for b in buttons])
        matching[-1].click()

    # --- the mediator ------------------------------------------------------------------------
    def desk(self) -> list[dict[str, Any]]:
        return self.js(ENTRIES_JS, "#desk-log")

    def desk_says(self, needle: str, timeout: float = 60.0) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            new = [e for e in self.desk() if e["id"] > self.desk_start and e["role"] == "bot"]
            return next((e for e in new if needle in e["text"]), None)

        entry = wait_for(found, timeout)
        assert entry, (needle, [e["text"][:90] for e in self.desk()[-5:]])
        return entry

    def desk_type(self, text: str) -> None:
        self.desk_start = max([e["id"] for e in self.desk()] or [0])
        self.el("desk-input").send_keys(text)
        self.el("desk-send").click()

    def desk_click(self, element_id: str) -> None:
        self.desk_start = max([e["id"] for e in self.desk()] or [0])
        self.el(element_id).click()


@pytest.fixture
def page(browser: Any, playground: RunningPlayground) -> Page:
    return Page(browser, playground)


def test_french_conversation_whatsapp_like(page: Page) -> None:
    page.open("whatsapp", "fr", first_name="Awa")
    page.type("Bonjour")
    greeting = page.bot_says("PRIM")
    assert "\n1. " in greeting["text"] and greeting["buttons"] == []  # a numbered menu
    # One numbered menu per turn: the privacy notice comes with the next answer.
    page.type("Je cherche un médecin à Agadir")
    results = page.bot_says("Agadir")
    assert "Centre" in results["text"] and "1. " in results["text"]
    page.bot_says("/delete")  # the privacy notice, a numbered list too
    page.type("1")  # typing the number accepts, as on WhatsApp
    question = page.bot_says("5. ")
    page.type("5")  # "skip" the optional question
    # The person's own messages are shown on their side, in order (once the page has drawn
    # the last one: the click returns before the page appends it).
    expected = ["Bonjour", "Je cherche un médecin à Agadir", "1", "5"]

    def mine() -> list[str]:
        return [e["text"] for e in page.person() if e["role"] == "person"]

    wait_for(lambda: mine() == expected, 20)
    assert mine() == expected, (mine(), question)
    page.shot("playground-french-whatsapp")


def test_darija_conversation_telegram_like(page: Page) -> None:
    page.open("telegram", "ary-Latn", first_name="Youssef")
    page.type("salam")
    greeting = page.bot_says("PRIM")
    assert greeting["buttons"] and "\n1. " not in greeting["text"]  # inline buttons instead
    page.type("bghit tbib f agadir")
    results = page.bot_says("Agadir")
    # Answered in Darija, the entries' own Darija names included (every entry has one).
    assert "Sbitar" in results["text"] or "Markaz" in results["text"]
    assert "l9it" in results["text"] or "Hada" in results["text"]
    notice = page.bot_says("/delete")  # the notice with the first answer without a menu
    assert notice["buttons"][0][1] == "/privacy_accept"
    page.press("/privacy_accept")
    question = page.bot_says("?")
    skip_title, skip_data = question["buttons"][-1]
    page.press(skip_data)  # skip the optional question
    # A pressed button shows its title on the person's side, like a Telegram reply.
    assert wait_for(
        lambda: [e for e in page.person() if e["role"] == "person"][-1]["text"] == skip_title, 10
    )
    page.shot("playground-darija-telegram")


def test_arabic_right_to_left_on_a_phone_sized_screen(page: Page) -> None:
    page.open("whatsapp", "ar", width=375, height=812)
    assert page.js("return document.documentElement.scrollWidth") <= 375
    assert page.el("person-input").get_attribute("dir") == "rtl"
    page.type("مرحبا")
    greeting = page.bot_says("PRIM")
    assert any("\u0600" <= ch <= "\u06ff" for ch in greeting["text"])  # answered in Arabic
    direction = page.js(
        "const t = [...document.querySelectorAll('#person-log li.msg.bot .text')];"
        "return getComputedStyle(t[t.length - 1]).direction;"
    )
    assert direction == "rtl"
    assert page.js("return document.documentElement.scrollWidth") <= 375  # nothing overflows
    assert page.el("person-input").is_displayed() and not page.el("desk-log").is_displayed()
    page.shot("playground-arabic-phone")
    page.el("tab-desk").click()  # one pane at a time: the desk behind a tab
    assert wait_for(lambda: page.el("desk-log").is_displayed(), 5)
    assert not page.el("person-log").is_displayed()
    page.el("tab-phone").click()


def test_handoff_taken_answered_and_closed_from_the_desk(page: Page) -> None:
    page.open("telegram", "fr", first_name="Amina")
    # Mediators read what people write: the notice comes before the hand-off.
    page.type("Je veux parler à une personne")
    page.bot_says("/delete")
    page.press("/privacy_accept")
    page.bot_says("médiateur")
    offer = page.desk_says("Nouvelle demande")
    assert "Amina" in offer["text"]
    take_title, take_command = offer["buttons"][0]
    ticket = take_command.split()[-1]
    page.desk_click("desk-queue")
    assert f"#{ticket} Amina" in page.desk_says("attente")["text"]
    page.person_start = len(page.person())
    page.desk_start = max(e["id"] for e in page.desk())
    from selenium.webdriver.common.by import By

    buttons = page.driver.find_elements(By.CSS_SELECTOR, "#desk-log .buttons button")
    [b for b in buttons if b.get_attribute("data-data") == take_command][-1].click()
    page.desk_says(f"Vous avez la demande #{ticket}")
    page.bot_says("a pris votre demande")

    page.desk_type("Bonjour Amina, je suis Sara. Que puis-je faire pour vous ?")
    page.person_start = len(page.person())
    page.bot_says("Que puis-je faire pour vous ?")
    page.type("J'ai besoin d'un rendez-vous chez le médecin")
    page.desk_says("J'ai besoin d'un rendez-vous")
    page.shot("playground-handoff-open")

    page.person_start = len(page.person())
    page.desk_click("desk-close")
    page.desk_says(f"Demande #{ticket} terminée")
    page.bot_says("est terminée")
    rating = page.bot_says("5")
    assert rating["buttons"]  # Telegram-like: the rating is a row of buttons
    page.press(rating["buttons"][-1][1])
    page.bot_says("Merci pour votre note")
    time.sleep(0.5)
    page.type("Bonjour")
    page.bot_says("PRIM")  # the assistant answers again
    page.shot("playground-handoff-closed")
