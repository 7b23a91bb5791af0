"""One in-process assistant (Rasa agent loaded once) for the simulator's tests."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest

from tests.conftest import MODEL
from tests.simulator.harness import Harness


class Running:
    """The harness and the event loop it lives in (hypothesis tests are synchronous)."""

    def __init__(self, harness: Harness, loop: asyncio.AbstractEventLoop) -> None:
        self.harness = harness
        self.loop = loop

    def run(self, coroutine):  # noqa: ANN001, ANN201
        """Run ``coroutine`` in the harness's loop."""
        return self.loop.run_until_complete(coroutine)


@pytest.fixture(scope="session")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """The real pipeline with the trained model in the loop, in this process."""
    if not MODEL.is_file():
        pytest.fail(f"no trained model at {MODEL}: run `make train` (make test does it first)")
    try:
        import structlog

        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    except ImportError:
        pass
    loop = asyncio.new_event_loop()
    harness = loop.run_until_complete(Harness(MODEL, tmp_path_factory.mktemp("sim")).start())
    yield Running(harness, loop)
    loop.run_until_complete(harness.stop())
    loop.close()
