"""Fixtures of the playground tests: one running assistant with the playground on (shared by
every test of this folder) and, for the browser tests, Debian's headless chromium.

The browser is installed by ``make browser-deps`` (called by ``make test``); without it, or
without selenium, the browser tests are skipped with the reason (``-ra`` prints it).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.runner import Assistant
from bot.settings import ROOT, Settings
from tests.conftest import _tail, serving, trained_settings

ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = (
    os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver"
)
# A turn of the assistant takes well under a second here; two cores shared with the rest of
# the suite can make it much slower.
TURN_TIMEOUT_S = 60.0


@dataclass
class RunningPlayground:
    """The assistant with the playground, and where its page and API are."""

    assistant: Assistant
    settings: Settings
    log_path: Path
    _http: requests.Session | None = None

    @property
    def http(self) -> requests.Session:
        """HTTP calls as the page's script makes them: with the page's token."""
        if self._http is None:
            page = requests.get(self.page_url, timeout=10)
            found = re.search(r'name="playground-token" content="([^"]+)"', page.text)
            assert found, "the playground page carries no token"
            self._http = requests.Session()
            self._http.headers["X-Playground-Token"] = found.group(1)
        return self._http

    @property
    def page_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.rasa_port}/webhooks/playground/"

    @property
    def api(self) -> str:
        return f"{self.page_url}api"

    def log(self) -> str:
        return _tail(self.log_path, 200)


@pytest.fixture(scope="package")
def playground(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlayground]:
    """Rasa + action server with the playground on, no platform, no mediators' file."""
    var_dir = tmp_path_factory.mktemp("playground-var")
    settings = trained_settings(
        var_dir,
        # Only the playground's mediator: a developer's var/mediators.yml stays out of it.
        mediators_file=var_dir / "mediators.yml",
        playground="on",
    )
    log_path = var_dir / "servers.log"
    with serving(settings, log_path) as running:
        yield RunningPlayground(running, settings, log_path)


def wait_for(predicate: Callable[[], Any], timeout: float = TURN_TIMEOUT_S, every: float = 0.2):
    """``predicate()`` once it is truthy; its last value after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


class ApiPerson:
    """A person using the playground's JSON API (what the page does)."""

    def __init__(self, running: RunningPlayground, mode: str = "whatsapp", **body: Any) -> None:
        self.api = running.api
        self.http = running.http
        resp = self.http.post(f"{self.api}/sessions", json={"mode": mode, **body}, timeout=10)
        assert resp.status_code == 201, resp.text
        self.session = resp.json()["session"]
        self.cursor = 0
        self.seen: list[dict[str, Any]] = []

    def send(self, **body: Any) -> requests.Response:
        return self.http.post(f"{self.api}/sessions/{self.session}/messages", json=body, timeout=10)

    def poll(self, wait: float = 0) -> list[dict[str, Any]]:
        resp = self.http.get(
            f"{self.api}/sessions/{self.session}/messages",
            params={"after": self.cursor, "wait": wait},
            timeout=wait + 10,
        )
        assert resp.status_code == 200, resp.text
        found = resp.json()["messages"]
        if found:
            self.cursor = found[-1]["id"]
            self.seen.extend(found)
        return found

    def say(self, text: str, needle: str, **extra: Any) -> list[dict[str, Any]]:
        """Send ``text`` and wait for a bot message containing ``needle``; the bot's replies."""
        start = len(self.seen)
        resp = self.send(kind=extra.pop("kind", "text"), text=text, **extra)
        assert resp.status_code == 202, resp.text
        return self.wait(needle, start)

    def wait(self, needle: str, start: int = 0) -> list[dict[str, Any]]:
        def found() -> bool:
            self.poll(wait=2)
            return any(needle in e["text"] for e in self.seen[start:] if e["role"] == "bot")

        assert wait_for(found), (needle, [e["text"][:80] for e in self.seen[-6:]])
        return [e for e in self.seen[start:] if e["role"] == "bot"]


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Headless Debian chromium through its chromedriver, one for every browser test."""
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed (make install installs the dev extra)")
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not Path(path).is_file()]
    if missing:
        pytest.skip(
            f"no {' and no '.join(missing)}: `make browser-deps` installs chromium and "
            "chromium-driver (apt-get, as root)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,900",
        "--lang=fr-FR",
        "--disable-extensions",
        "--no-first-run",
    ):
        options.add_argument(argument)
    try:
        driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    except WebDriverException as exc:
        pytest.skip(f"chromium did not start: {exc.msg or exc}"[:400])
    driver.set_page_load_timeout(60)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()
