"""Bench mode of the conversation simulator: thousands of random conversations.

``python -m tests.simulator.bench --conversations 2000`` (``make bench`` through
bench/run_all.py) plays random conversations through the real pipeline with Rasa in the loop
and writes ``bench/results/conversations.json``: how many conversations and steps were
checked, how many broke each invariant, and each failure shrunk to a short sequence printed
as code to paste into tests/simulator/test_regressions.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import tempfile
import time
from collections import Counter
from pathlib import Path

from bot.settings import ROOT
from tests.simulator.conversations import KINDS, LANGUAGES, TOWNS, Step, as_code, run_conversation
from tests.simulator.harness import Harness, has_danger_interceptor

RESULTS = ROOT / "bench" / "results" / "conversations.json"
MODEL = ROOT / "models" / "current.tar.gz"


def random_steps(rng: random.Random, max_steps: int = 12) -> list[Step]:
    """A random conversation (the same vocabulary as the hypothesis strategy)."""
    towns = sorted(TOWNS)
    steps: list[Step] = []
    for _ in range(rng.randint(1, max_steps)):
        kind = rng.choices(
            KINDS,
            weights=[6, 10, 6, 4, 10, 4, 3, 3, 3, 4, 3, 3, 3, 2, 2, 3, 2],  # in the order of KINDS
        )[0]
        arg = None
        if kind == "topic":
            arg = rng.randrange(5)
        elif kind in ("town", "topic_town", "location"):
            arg = rng.choice(towns)
        elif kind == "number":
            arg = rng.randint(1, 8)
        elif kind == "media":
            arg = rng.choice(["voice", "image", "document", "sticker"])
        elif kind == "switch":
            arg = rng.choice(LANGUAGES)
        elif kind == "delete":
            arg = rng.choice([None, "command"])
        steps.append(Step(kind, arg))
    return steps


async def shrink(
    harness: Harness, steps: list[Step], language: str, invariant: str, tag: str
) -> list[Step]:
    """Drop steps one at a time while the same invariant still breaks (bounded)."""
    counter = 0
    changed = True
    while changed and counter < 200:
        changed = False
        for i in range(len(steps)):
            candidate = steps[:i] + steps[i + 1 :]
            if not candidate:
                continue
            counter += 1
            broken = await run_conversation(
                harness, candidate, f"wa-shrink-{tag}-{counter}", language
            )
            if any(v.invariant == invariant for v in broken):
                steps, changed = candidate, True
                break
    return steps


async def bench(conversations: int, seed: int, model: Path, budget_s: float) -> dict:
    """Run the conversations; the results document."""
    logging.disable(logging.WARNING)
    try:
        import structlog

        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    except ImportError:
        pass
    rng = random.Random(seed)
    workdir = Path(tempfile.mkdtemp(prefix="simulator-"))
    harness = await Harness(model, workdir).start()
    started = time.monotonic()
    broken: Counter[str] = Counter()
    examples: dict[str, dict] = {}
    checked = steps_total = failed = 0
    for n in range(conversations):
        if time.monotonic() - started > budget_s:
            break
        language = rng.choice(LANGUAGES)
        steps = random_steps(rng)
        violations = await run_conversation(harness, steps, f"wa-bench-{seed}-{n}", language)
        checked += 1
        steps_total += len(steps)
        failed += bool(violations)
        for invariant in sorted({v.invariant for v in violations}):
            broken[invariant] += 1
            if invariant not in examples:
                first = next(v for v in violations if v.invariant == invariant)
                small = await shrink(harness, steps, language, invariant, f"{n}")
                again = await run_conversation(harness, small, f"wa-bench-{seed}-{n}-min", language)
                detail = next((v.detail for v in again if v.invariant == invariant), first.detail)
                examples[invariant] = {"sequence": as_code(small, language), "detail": detail}
                print(f"broken: {invariant}\n  {as_code(small, language)}\n  {detail}", flush=True)
        if (n + 1) % 100 == 0:
            print(f"{n + 1} conversations, {sum(broken.values())} broken", flush=True)
    elapsed = time.monotonic() - started
    await harness.stop()
    return {
        "conversations_checked": checked,
        "steps_checked": steps_total,
        "conversations_breaking_an_invariant": failed,
        "broken_by_invariant": dict(broken),
        "failures": examples,
        "seed": seed,
        "seconds": round(elapsed, 1),
        "conversations_per_second": round(checked / elapsed, 2) if elapsed else None,
        "model": str(model),
        "danger_steps": "checked"
        if has_danger_interceptor(harness.pipeline)
        else "skipped: bot/safety has no interceptor yet",
    }


def main() -> int:
    """Command line: run, write the JSON, exit 1 when an invariant broke."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--budget-seconds", type=float, default=3600.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    result = asyncio.run(bench(args.conversations, args.seed, args.model, args.budget_seconds))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "failures"}, indent=2))
    return 1 if result["broken_by_invariant"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
