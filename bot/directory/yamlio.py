"""YAML reading that keeps line numbers and turns every syntax problem into a Problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.directory.model import Problem

LINE_KEY = "__line__"
# Plain-language hints for the YAML mistakes admins make most often.
SYNTAX_HINTS = (
    ("mapping values are not allowed", 'text that contains ": " must be put in "quotes"'),
    ("flow mapping", "inside {...} a comma separates fields: quote text with commas"),
    ("flow sequence", "inside [...] a comma separates items: quote text with commas"),
    ("could not find expected ':'", "a line is missing its ': ' or a quote is not closed"),
)
LINES_KEY = "__lines__"


# The libyaml parser is about ten times faster; the pure-Python one gives the same marks.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LineLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """SafeLoader that records, in every mapping, its own line and the line of each key."""

    def __init__(self, stream: str, filename: str):
        super().__init__(stream)
        self.filename = filename
        self.problems: list[Problem] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Build the mapping, add ``__line__``/``__lines__`` and report duplicate keys."""
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            line = key_node.start_mark.line + 1
            if key_node.value in seen:
                # PyYAML silently keeps the last value; an admin would lose data without knowing.
                self.problems.append(
                    Problem(
                        self.filename,
                        line,
                        None,
                        str(key_node.value),
                        f"duplicate key (first written on line {seen[key_node.value]})",
                    )
                )
            else:
                seen[key_node.value] = line
        mapping = super().construct_mapping(node, deep=deep)
        mapping[LINE_KEY] = node.start_mark.line + 1
        mapping[LINES_KEY] = {k: v for k, v in seen.items()}
        return mapping


def _tab_problems(text: str, filename: str) -> list[Problem]:
    """Report tabs used for indentation, which YAML forbids but editors insert silently."""
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            problems.append(
                Problem(filename, number, None, None, "tab character in indentation: use spaces")
            )
    return problems


def read_yaml(path: Path, display: str | None = None) -> tuple[Any, list[Problem]]:
    """Parse one YAML file; return (data or None, problems) and never raise on bad input."""
    data, problems, _ = read_yaml_items(path, display)
    return data, problems


def read_yaml_items(path: Path, display: str | None = None) -> tuple[Any, list[Problem], list[int]]:
    """Like read_yaml, plus the line of each item when the document is a list."""
    filename = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(filename, 1, None, None, f"not UTF-8 text ({exc.reason})")], []
    except OSError as exc:
        return None, [Problem(filename, 1, None, None, f"cannot read file: {exc.strerror}")], []
    tabs = _tab_problems(text, filename)
    if tabs:
        return None, tabs, []
    loader = LineLoader(text, filename)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        reason = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        hints = [hint for needle, hint in SYNTAX_HINTS if needle in reason]
        if hints:
            reason += f" (hint: {hints[0]})"
        return None, [Problem(filename, line, None, None, f"YAML syntax error: {reason}")], []
    except yaml.YAMLError as exc:
        return None, [Problem(filename, 1, None, None, f"YAML error: {exc}")], []
    finally:
        loader.dispose()
    item_lines = (
        [child.start_mark.line + 1 for child in node.value]
        if isinstance(node, yaml.SequenceNode)
        else []
    )
    return data, loader.problems, item_lines


def line_of(mapping: Any, key: str | None = None, default: int = 1) -> int:
    """Return the line of ``key`` in a loaded mapping, or of the mapping itself."""
    if not isinstance(mapping, dict):
        return default
    if key is not None:
        line = mapping.get(LINES_KEY, {}).get(key)
        if line:
            return int(line)
    return int(mapping.get(LINE_KEY, default))


def clean(mapping: dict[Any, Any]) -> dict[Any, Any]:
    """Return the mapping without the bookkeeping keys added by LineLoader."""
    return {k: v for k, v in mapping.items() if k not in (LINE_KEY, LINES_KEY)}
