"""What the directory answers where: best scope per town and topic, stale and unreachable entries.

Measured through ``Directory.search`` itself, so the report shows what a person would get, not
what the files seem to hold.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

from bot.directory.model import Entry
from bot.directory.schema import STALE_AFTER_DAYS
from bot.directory.search import Directory

# The topics a person asks about; emergency numbers are national on purpose, so left out.
TOPICS: tuple[str, ...] = (
    "health",
    "civil_status",
    "schooling",
    "work",
    "residence",
    "social",
    "legal_aid",
    "women",
    "orientation",
)
# Seat (chef-lieu) of each province or prefecture of the two regions, as a places.yml city id.
CAPITALS: dict[str, str] = {
    "agadir-ida-ou-tanane": "agadir",
    "inezgane-ait-melloul": "inezgane",
    "chtouka-ait-baha": "biougra",
    "taroudant": "taroudant",
    "tiznit": "tiznit",
    "tata": "tata",
    "oujda-angad": "oujda",
    "nador": "nador",
    "berkane": "berkane",
    "taourirt": "taourirt",
    "jerada": "jerada",
    "figuig": "bouarfa",
    "driouch": "driouch",
    "guercif": "guercif",
}
# Best first. "nearby" is a town within 60 km but in another province.
SCOPE_ORDER: tuple[str, ...] = ("town", "province", "nearby", "region", "national", "none")
LOCAL_SCOPES = frozenset({"town", "province"})


@dataclass(frozen=True)
class Cell:
    """What a search for one topic in one town reaches first, and with how many entries."""

    scope: str
    count: int

    def __str__(self) -> str:
        return self.scope if self.scope == "none" else f"{self.scope} {self.count}"


@dataclass(frozen=True)
class Coverage:
    """The town × topic table plus the entries admins should look at."""

    towns: tuple[str, ...]
    topics: tuple[str, ...]
    cells: dict[tuple[str, str], Cell]
    stale: tuple[Entry, ...]
    unreachable: tuple[Entry, ...]
    total_entries: int

    def local_pairs(self, towns: tuple[str, ...] | None = None) -> int:
        """Number of (town, topic) pairs answered in the town itself or its province."""
        towns = towns or self.towns
        return sum(
            1
            for (town, _), cell in self.cells.items()
            if town in towns and cell.scope in LOCAL_SCOPES
        )

    def summary(self) -> str:
        """One line for ``make validate``."""
        capitals = tuple(t for t in self.towns if t in CAPITALS.values())
        pairs = len(capitals) * len(self.topics)
        return (
            f"coverage: {self.local_pairs(capitals)}/{pairs} capital × topic pairs answered in the "
            f"town or province; {len(self.stale)} entries past 12 months; "
            f"{len(self.unreachable)} with no phone, address, website or hours "
            f"(python -m bot directory coverage)"
        )


def _scope_of(directory: Directory, entry: Entry, town: str, search_scope: str) -> str:
    province = directory.places.province_of(town)
    if search_scope == "city":
        return "town"
    entry_province = entry.province or (
        directory.places.province_of(entry.city) if entry.city else None
    )
    if entry_province and entry_province == province:
        return "province"
    if search_scope == "nearby":
        return "nearby"
    return search_scope


def cell_for(directory: Directory, town: str, topic: str) -> Cell:
    """Best scope the search reaches for ``topic`` in ``town`` and the entries at that scope."""
    result = directory.search(topic, city=town, limit=10_000)
    scopes = [
        _scope_of(directory, entry, town, scope)
        for entry, scope in zip(result.entries, result.scopes, strict=True)
    ]
    if not scopes:
        return Cell("none", 0)
    best = min(scopes, key=SCOPE_ORDER.index)
    return Cell(best, scopes.count(best))


def reachable(entry: Entry) -> bool:
    """True when a person can reach the service: a phone, WhatsApp, address, website or hours."""
    return bool(entry.phones or entry.whatsapp or entry.address or entry.website or entry.hours)


def build_coverage(
    directory: Directory,
    towns: tuple[str, ...] | None = None,
    today: dt.date | None = None,
) -> Coverage:
    """Compute the coverage table for ``towns`` (default: the 14 provincial capitals)."""
    towns = towns or tuple(CAPITALS.values())
    today = today or dt.date.today()
    cells = {(town, topic): cell_for(directory, town, topic) for town in towns for topic in TOPICS}
    stale = tuple(e for e in directory.entries if (today - e.verified).days > STALE_AFTER_DAYS)
    unreachable = tuple(e for e in directory.entries if not reachable(e))
    return Coverage(towns, TOPICS, cells, stale, unreachable, len(directory.entries))


def to_csv(coverage: Coverage) -> str:
    """The table as CSV: one row per town, a scope and a count column per topic."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["town", "local_topics"]
    for topic in coverage.topics:
        header += [f"{topic}_scope", f"{topic}_count"]
    writer.writerow(header)
    for town in coverage.towns:
        row: list[object] = [town, coverage.local_pairs((town,))]
        for topic in coverage.topics:
            cell = coverage.cells[(town, topic)]
            row += [cell.scope, cell.count]
        writer.writerow(row)
    return out.getvalue()


def _where(entry: Entry) -> str:
    # Paths relative to the working directory read better in a terminal and in a commit.
    try:
        return str(Path(entry.file).resolve().relative_to(Path.cwd()))
    except ValueError:
        return entry.file


def to_table(coverage: Coverage) -> str:
    """The table for a terminal, then the stale and unreachable entries."""
    short = {
        "health": "health",
        "civil_status": "civil",
        "schooling": "school",
        "work": "work",
        "residence": "resid.",
        "social": "social",
        "legal_aid": "legal",
        "women": "women",
        "orientation": "orient.",
    }
    heads = ["town", *(short.get(t, t) for t in coverage.topics), "local"]
    rows = [
        [
            town,
            *(str(coverage.cells[(town, t)]) for t in coverage.topics),
            f"{coverage.local_pairs((town,))}/{len(coverage.topics)}",
        ]
        for town in coverage.towns
    ]
    widths = [max(len(str(r[i])) for r in [heads, *rows]) for i in range(len(heads))]
    lines = [
        "  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()
        for r in [heads, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(coverage.summary())
    lines.append("")
    lines.append(f"Entries past their 12-month freshness limit ({len(coverage.stale)}):")
    lines += [f"  {e.id} (verified {e.verified}, {_where(e)})" for e in coverage.stale] or [
        "  none"
    ]
    lines.append("")
    lines.append(
        f"Entries with no phone, address, website or hours ({len(coverage.unreachable)} of "
        f"{coverage.total_entries}):"
    )
    lines += [f"  {e.id} ({_where(e)})" for e in coverage.unreachable] or ["  none"]
    return "\n".join(lines)
