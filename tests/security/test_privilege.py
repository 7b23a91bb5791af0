# ruff: noqa: F811, ANN001 (pytest fixtures imported from tests/handoff/conftest.py)
"""Low: a mediator could list (/queue) and take (/take) requests of any region or language,
including ones never offered to them. Now only their own, offered or widened ones; an admin
may take any, and that is logged."""

from __future__ import annotations

import logging

import pytest

from bot.handoff import tickets as store
from bot.handoff.mediators import parse_registry
from bot.handoff.relay import HandoffRuntime
from bot.handoff.tickets import TicketRequest
from tests.handoff.conftest import MEDIATORS_YAML, clock, engine, recorder, runtime  # noqa: F401

ADMIN = """\
  - id: nadia
    name: Nadia
    channel: telegram
    address: "1009"
    regions: [oriental]
    languages: [fr]
    hours: {mon-sun: "00:00-24:00"}
    admin: true
"""


@pytest.fixture
def registry():  # noqa: ANN201
    return parse_registry(MEDIATORS_YAML + ADMIN, "mediators.yml")


async def _open_souss_massa_arabic(runtime: HandoffRuntime) -> int:
    # Offered to Amina only (Souss-Massa, Arabic); Youssef is Oriental, Grace has no Arabic.
    result = runtime.handoff.open(
        TicketRequest(
            "p-1",
            "request_mediator",
            channel="telegram",
            language="ar",
            region="souss-massa",
            first_name="Awa",
        )
    )
    await runtime.flush()
    return result.ticket_id


def _takes(runtime: HandoffRuntime, registry, who: str, ticket_id: int) -> None:  # noqa: ANN001
    """``who`` takes the ticket, and it is assigned to them."""
    runtime.desk.handle(registry.get(who), f"/take {ticket_id}")
    assert _state(runtime, ticket_id) == ("assigned", who)


def _state(runtime: HandoffRuntime, ticket_id: int) -> tuple[str, str | None]:
    with runtime.handoff.engine.connect() as conn:
        ticket = store.get(conn, ticket_id)
    return ticket.state, ticket.mediator_id


async def test_a_mediator_cannot_list_or_take_another_regions_request(
    runtime: HandoffRuntime, recorder, registry
) -> None:
    ticket_id = await _open_souss_massa_arabic(runtime)
    youssef = registry.get("youssef")
    runtime.desk.handle(youssef, "/queue")
    await runtime.flush()
    assert not any("Awa" in text for text in recorder.to("youssef"))
    runtime.desk.handle(youssef, f"/take {ticket_id}")
    await runtime.flush()
    assert _state(runtime, ticket_id) == ("queued", None)
    assert not any("Awa" in text for text in recorder.to("youssef"))
    # The mediator it was offered to can.
    _takes(runtime, registry, "amina", ticket_id)


async def test_once_widened_to_everyone_anyone_on_duty_may_take_it(
    runtime: HandoffRuntime, registry, clock
) -> None:
    ticket_id = await _open_souss_massa_arabic(runtime)
    clock.advance(minutes=11)
    await runtime.tick()
    await runtime.tick()
    _takes(runtime, registry, "youssef", ticket_id)


async def test_an_admin_may_take_any_request_and_it_is_logged(
    runtime: HandoffRuntime, registry, caplog
) -> None:
    ticket_id = await _open_souss_massa_arabic(runtime)
    with caplog.at_level(logging.WARNING):
        runtime.desk.handle(registry.get("nadia"), "/queue")
        runtime.desk.handle(registry.get("nadia"), f"/take {ticket_id}")
    assert _state(runtime, ticket_id) == ("assigned", "nadia")
    overrides = [r.getMessage() for r in caplog.records if "admin override" in r.getMessage()]
    assert any("lists tickets" in m for m in overrides)
    assert any(f"takes ticket #{ticket_id}" in m for m in overrides)


async def test_a_mediator_cannot_list_or_take_a_request_in_a_language_they_lack(
    runtime: HandoffRuntime, recorder, registry
) -> None:
    """Grace covers every region but not Arabic: the Arabic request is not hers until it is
    widened to everyone."""
    ticket_id = await _open_souss_massa_arabic(runtime)
    grace = registry.get("grace")
    runtime.desk.handle(grace, "/queue")
    runtime.desk.handle(grace, f"/take {ticket_id}")
    await runtime.flush()
    assert _state(runtime, ticket_id) == ("queued", None)
    assert not any("Awa" in text for text in recorder.to("grace"))
