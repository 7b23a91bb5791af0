"""Random conversations through the real pipeline (hypothesis), invariants after each step.

A bounded number of conversations for CI (``SIMULATOR_EXAMPLES``, default 60, about a
minute); ``python -m tests.simulator.bench`` runs thousands. A failing conversation is
shrunk by hypothesis and printed (``as_code``) so that it can be added to
test_regressions.py.
"""

from __future__ import annotations

import itertools
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.simulator.conversations import LANGUAGES, TOWNS, Step, as_code, run_conversation

pytestmark = pytest.mark.e2e
EXAMPLES = int(os.environ.get("SIMULATOR_EXAMPLES", "60"))
_people = itertools.count()

towns = st.sampled_from(sorted(TOWNS))
steps = st.one_of(
    st.builds(
        Step,
        st.sampled_from(
            [
                "greet",
                "more",
                "mediator",
                "accept",
                "decline",
                "delete",
                "danger",
                "desk_take",
                "desk_reply",
                "desk_close",
            ]
        ),
    ),
    st.builds(Step, st.just("topic"), st.integers(0, 4)),
    st.builds(Step, st.sampled_from(["town", "topic_town", "location"]), towns),
    st.builds(Step, st.just("number"), st.integers(1, 8)),
    st.builds(Step, st.just("delete"), st.just("command")),
    st.builds(Step, st.just("media"), st.sampled_from(["voice", "image", "document"])),
    st.builds(Step, st.just("switch"), st.sampled_from(LANGUAGES)),
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(language=st.sampled_from(LANGUAGES), conversation=st.lists(steps, min_size=1, max_size=10))
def test_every_conversation_keeps_the_invariants(simulated, language, conversation) -> None:
    person = f"wa-hypothesis-{next(_people)}"
    violations = simulated.run(run_conversation(simulated.harness, conversation, person, language))
    assert not violations, f"{as_code(conversation, language)}\n{violations}"
