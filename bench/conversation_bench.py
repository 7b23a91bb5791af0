"""Conversation simulator, bench mode (issue 15): thousands of random conversations through
the real pipeline with Rasa in the loop; results in bench/results/conversations.json.

The simulator lives with the tests (tests/simulator/); this is its entry for run_all.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.simulator.bench import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
