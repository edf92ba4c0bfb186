"""The standard catalogue's names and synonyms, matched against a sentence — with no Django and no database.

The plan-document parser runs as plain Python (its benchmark imports no settings), so this module reads the
catalogue file itself and only its names; ``indicators.catalogue`` (which checks and installs entries) and the
parser both match names through :func:`match`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CATALOGUE_PATH = Path(__file__).resolve().parent / "catalogue" / "catalogue.json"
# Full-width ASCII (Ａ-ｚ, ０-９, ％ …) to half-width, as plans are often typed.
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}


@dataclass(frozen=True)
class Names:
    """One entry's code, its folded name and synonyms, and whether it waits for an aggregation."""

    code: str
    names: tuple[str, ...]
    requires: str


def fold(text: str) -> str:
    """Text compared without spaces, full-width letters and digits made half-width, lower case."""
    return "".join((text or "").split()).translate(_FULL_WIDTH).lower()


@lru_cache(maxsize=1)
def entries() -> tuple[Names, ...]:
    """Every entry of the shipped catalogue file (read once per process)."""
    data = json.loads(CATALOGUE_PATH.read_text(encoding="utf-8"))
    return tuple(
        Names(
            code=str(raw["code"]),
            names=tuple(fold(name) for name in (raw.get("name", ""), *raw.get("synonyms", [])) if fold(name)),
            requires=str(raw.get("requires", "")),
        )
        for raw in data.get("entries", [])
        if isinstance(raw, dict) and "code" in raw
    )


def match(text: str, *, installable_only: bool = False) -> list[str]:
    """Codes of the entries whose name or a synonym occurs in ``text``, the longest match first.

    "学前三年幼儿毛入园率达到92%以上" finds 学前三年毛入园率 through its synonym; an entry found through a longer name
    outranks one found through a shorter one; entries waiting for an aggregation come last (or not at all).
    """
    folded = fold(text)
    if not folded:
        return []
    scored = []
    for entry in entries():
        if installable_only and entry.requires:
            continue
        lengths = [len(name) for name in entry.names if name in folded]
        if lengths:
            scored.append((-max(lengths), bool(entry.requires), entry.code))
    return [code for _length, _requires, code in sorted(scored)]
