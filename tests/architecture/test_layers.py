"""The import rules of docs/architecture.md, enforced in a fresh interpreter.

* Rasa and Sanic stay at the edge: importing every ``bot`` module outside ``bot/rasa/``
  loads neither (a deferred import inside a function is allowed: it runs only at the edge).
* The hand-off imports nothing from the channels: both speak ``bot.messaging``.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EDGE = ("bot.rasa",)
# Alembic's scripts, run by the migration tool only; __main__ modules run on import.
SKIP = ("bot.migrations",)


def _modules(package: str = "bot") -> list[str]:
    names = []
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if not name.startswith(EDGE + SKIP) and parts[-1] != "__main__":
            names.append(name)
    return names


def test_the_product_never_loads_rasa_or_sanic() -> None:
    code = (
        "import importlib, json, sys\n"
        f"for name in {_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "edge = [m for m in sys.modules if m.split('.')[0] in ('rasa', 'sanic')]\n"
        "print(json.dumps(sorted(edge)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert not loaded, f"outside bot/rasa/, these got loaded: {loaded[:10]}"


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_only_the_edge_imports_rasa_or_sanic() -> None:
    offenders = {}
    for path in sorted((ROOT / "bot").rglob("*.py")):
        if path.is_relative_to(ROOT / "bot" / "rasa"):
            continue
        names = {n for n in _imports(path) if n.split(".")[0] in ("rasa", "sanic")}
        if names:
            offenders[path.relative_to(ROOT).as_posix()] = sorted(names)[:3]
    assert not offenders, f"move these into bot/rasa/: {offenders}"


def _offenders(package: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names = {n for n in _imports(path) if n.startswith(forbidden)}
        if names:
            found[path.relative_to(ROOT).as_posix()] = sorted(names)[:3]
    return found


def test_the_handoff_imports_nothing_from_the_channels() -> None:
    """Deferred imports count too: the channels depend on the hand-off, never back."""
    assert not _offenders("bot/handoff", ("bot.channels", "bot.rasa"))


def test_the_shared_vocabulary_depends_on_no_layer_above_it() -> None:
    names = _imports(ROOT / "bot" / "messaging.py")
    assert not {n for n in names if n.startswith(("bot.channels", "bot.handoff", "bot.rasa"))}


def test_the_playground_is_wired_at_the_composition_root_only() -> None:
    """The hand-off's relay no longer knows about the playground (bot.app installs it)."""
    assert "playground" not in (ROOT / "bot/handoff/relay.py").read_text(encoding="utf-8")


def test_the_desk_changes_no_ticket_itself() -> None:
    """The desk parses and words; the service changes tickets, one transaction each."""
    writes = {"transfer", "set_current", "add_note", "offer", "take", "close", "assign"}
    tree = ast.parse((ROOT / "bot/handoff/desk.py").read_text(encoding="utf-8"))
    called = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "store"
    }
    assert not called & writes, sorted(called & writes)


def test_no_module_keeps_a_service_registry_but_the_composition_root() -> None:
    """Process-wide state lives in bot/app.py only: no module-level ``_x: dict = {}`` of
    services elsewhere in bot/, and no ``lru_cache`` singletons in the actions."""
    # Sanic's app is process-wide itself: the body limits of its routes go with it.
    allowed = {"bot/rasa/common.py:_BODY_LIMITS"}
    found = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        if path == ROOT / "bot" / "app.py":
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            target = node.target if isinstance(node, ast.AnnAssign) else None
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
            value = getattr(node, "value", None)
            if (
                isinstance(target, ast.Name)
                and isinstance(value, ast.Dict)
                and not value.keys
                and target.id.startswith("_")
            ):
                found.append(f"{path.relative_to(ROOT)}:{target.id}")
    assert set(found) <= allowed, sorted(set(found) - allowed)
    for path in sorted((ROOT / "actions").glob("*.py")):
        assert "lru_cache" not in path.read_text(encoding="utf-8"), path.name
