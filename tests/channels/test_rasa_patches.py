"""The speed-ups of stock Rasa keep its behaviour (bot/rasa/patches.py)."""

from __future__ import annotations

import time

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from bot.rasa import patches as rasa_patches

VALID = [
    {},
    {"events": [], "responses": []},
    {
        "events": [{"event": "slot", "name": "city", "value": "nador", "timestamp": None}],
        "responses": [{"text": "hi", "buttons": [{"title": "1", "payload": "/affirm"}]}],
    },
]
INVALID = [
    {"events": "not a list"},
    {"events": [{"name": "no event key"}]},
    {"responses": {"text": "not a list"}},
    [],
]


@pytest.fixture(scope="module")
def action() -> RemoteAction:
    rasa_patches.install()
    return RemoteAction("action_x", None)  # type: ignore[arg-type]


def test_the_patch_is_installed_once(action: RemoteAction) -> None:
    assert RemoteAction._validate_action_result.__module__ == rasa_patches.__name__
    patched = RemoteAction._validate_action_result
    rasa_patches.install()
    assert RemoteAction._validate_action_result is patched


@pytest.mark.parametrize("result", VALID)
def test_valid_answers_pass(action: RemoteAction, result: dict) -> None:
    jsonschema.validate(result, RemoteAction.action_response_format_spec())  # stock agrees
    assert action._validate_action_result(result) is True


@pytest.mark.parametrize("result", INVALID)
def test_invalid_answers_raise_what_stock_rasa_raises(action: RemoteAction, result) -> None:  # noqa: ANN001
    with pytest.raises(jsonschema.ValidationError) as stock:
        jsonschema.validate(result, RemoteAction.action_response_format_spec())
    with pytest.raises(jsonschema.ValidationError) as ours:
        action._validate_action_result(result)
    assert ours.value.message.startswith(stock.value.message)
    assert ours.value.message.endswith("/custom-actions")
    assert list(ours.value.path) == list(stock.value.path)


def test_it_is_much_faster_than_revalidating_the_schema(action: RemoteAction) -> None:
    result = VALID[2]
    started = time.perf_counter()
    for _ in range(20):
        action._validate_action_result(result)
    ours = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(20):
        jsonschema.validate(result, RemoteAction.action_response_format_spec())
    stock = time.perf_counter() - started
    assert ours * 5 < stock


PARSE_SCRIPT = """
import asyncio, json, logging, sys
from bot.rasa import patches as rasa_patches
if sys.argv[2] == "patched":
    rasa_patches.install()
from rasa.core.agent import load_agent
logging.disable(logging.CRITICAL)
agent = asyncio.run(load_agent(model_path=sys.argv[1]))
out = {}
for text in json.loads(sys.argv[3]):
    parsed = asyncio.run(agent.parse_message(text))
    out[text] = [parsed["intent"]["name"], round(parsed["intent"]["confidence"], 6),
                 sorted((e["entity"], e["value"]) for e in parsed["entities"])]
rss = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print("RESULT" + json.dumps({"parses": out, "peak_rss_mb": int(rss) // 1024}))
"""
TEXTS = [
    "salam",
    "bghit tbib f nador",
    "hello",
    "i need a doctor in nador",
    "gracias",
    "necesito un médico en nador",
    "bonjour je cherche un médecin à nador",
    "merci",
    "ana f oujda bghit nkhdem",
    "بغيت طبيب فالناظور",
    "qsdkjh zzkq wxcv",
]


@pytest.mark.e2e
def test_the_lighter_model_loading_predicts_exactly_as_rasa() -> None:
    import json
    import subprocess
    import sys

    from tests.conftest import MODEL, ROOT

    if not MODEL.is_file():
        pytest.fail(f"no trained model at {MODEL}: run `make train`")

    def parse(mode: str) -> dict:
        done = subprocess.run(
            [sys.executable, "-c", PARSE_SCRIPT, str(MODEL), mode, json.dumps(TEXTS)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
        line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT"))
        return json.loads(line[len("RESULT") :])

    stock, patched = parse("stock"), parse("patched")
    assert patched["parses"] == stock["parses"]
    # The traced training step was about 360 MB of the 1.4 GB.
    assert patched["peak_rss_mb"] < stock["peak_rss_mb"] - 200, (stock, patched)
