"""The safety bench never prints a benchmark message, not even through Rasa's debug logs.

On 2026-12-06 the baseline (the Rasa intent alone) printed every held-out text through
structlog's default debug output; the bench now silences both kinds of log.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "current.tar.gz"


@pytest.mark.skipif(not MODEL.is_file(), reason="needs the trained model (make train)")
def test_the_baseline_prints_no_message() -> None:
    marker = "zq marker message never to be printed 4711"
    code = (
        "import sys; sys.path.insert(0, 'bench'); import safety_bench as b\n"
        f"detect = b.baseline([{{'text': {marker!r}}}])\n"
        f"print('intent', detect({marker!r}, 'fr'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "intent " in done.stdout
    assert marker not in done.stdout + done.stderr
