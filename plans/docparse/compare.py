"""Which proposed targets are which targets of a known plan: the one matching rule of the parser's measurements.

Pure Python, no Django. ``bench/bench_docparse.py`` scores the parser with it, and the plan-import journeys (the
API test and the browser journey) use it to act as a reviewer and to check the committed plan against the demo
plan built from the same document — one rule, so "found" means the same thing everywhere.

A target here is a mapping with ``text``, ``kind``, ``comparator``, ``target_value`` and ``target_value_max``
(numbers as numbers, decimal strings or ``Decimal``; a missing comparator is ``None`` or ``""``): a demo plan's
target, a parser proposal (``DraftTarget.to_dict()``), a draft row, or a committed ``Target``'s fields.

* Same sentence: one compact text (``textnorm.compact``: no punctuation or spaces, simplified characters)
  contains the other and the shorter covers at least half of the longer, or difflib's ratio ≥ 0.6. Pairs are
  taken best first; each target on either side is matched at most once.
* Same kind and numbers: the same kind and, for the measured kinds, the same comparator, target value and upper
  value (a proposal's ``improves`` counts for a demo target without a value). Milestone and narrative targets
  have no numbers to compare.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from difflib import SequenceMatcher
from typing import Any

from .textnorm import compact

MEASURED = frozenset({"threshold", "quantity", "count_units", "limit", "frequency"})
QUALITATIVE = frozenset({"milestone", "narrative"})
MIN_SCORE = 0.6

Target = Mapping[str, Any]


def text_score(demo: str, proposal: str) -> float:
    """How well two compact texts are the same sentence (0..1; a match needs ``MIN_SCORE``)."""
    if not demo or not proposal:
        return 0.0
    if demo in proposal or proposal in demo:
        shorter, longer = sorted((len(demo), len(proposal)))
        coverage = shorter / longer
        return 0.5 + coverage / 2 if (proposal in demo and coverage >= 0.5) or demo in proposal else coverage / 2
    return SequenceMatcher(None, demo, proposal, autojunk=False).ratio()


def decimal_or_none(value: object) -> Decimal | None:
    """A number (int, float, decimal string, Decimal) as a Decimal; ``None`` and ``""`` as None."""
    return None if value is None or value == "" else Decimal(str(value))


def numbers_match(demo: Target, proposal: Target) -> bool:
    """Comparator and values agree (kind-independent)."""
    value = decimal_or_none(demo.get("target_value"))
    value_max = decimal_or_none(demo.get("target_value_max"))
    if proposal.get("comparator") == "improves":
        return value is None
    if (demo.get("comparator") or "") != (proposal.get("comparator") or ""):
        return False
    got = decimal_or_none(proposal.get("target_value"))
    got_max = decimal_or_none(proposal.get("target_value_max"))
    return value == got and value_max == got_max


def same_kind_and_numbers(demo: Target, proposal: Target) -> bool:
    """The proposal has the demo target's kind and, for a measured kind, its comparator and values."""
    return proposal.get("kind") == demo.get("kind") and (
        demo.get("kind") in QUALITATIVE or numbers_match(demo, proposal)
    )


def match(demo_targets: Sequence[Target], proposals: Sequence[Target]) -> dict[int, int]:
    """Demo target index → proposal index, for the pairs that are the same sentence (best pairs first)."""
    demo_texts = [compact(str(target.get("text") or "")) for target in demo_targets]
    proposal_texts = [compact(str(target.get("text") or "")) for target in proposals]
    pairs = []
    for d_index, d_text in enumerate(demo_texts):
        for p_index, p_text in enumerate(proposal_texts):
            if not set(d_text[:6]) & set(p_text):
                continue
            score = text_score(d_text, p_text)
            if score >= MIN_SCORE:
                pairs.append((score, d_index, p_index))
    pairs.sort(key=lambda pair: (-pair[0], pair[1], pair[2]))
    matched: dict[int, int] = {}
    used: set[int] = set()
    for _score, d_index, p_index in pairs:
        if d_index in matched or p_index in used:
            continue
        matched[d_index] = p_index
        used.add(p_index)
    return matched


@dataclass
class Comparison:
    """Proposals against a known plan's targets (indices into the two sequences given)."""

    matched: dict[int, int]
    found: list[int] = field(default_factory=list)  # demo indices: same sentence, kind and numbers
    relaxed: list[int] = field(default_factory=list)  # found, or milestone/narrative taken as one kind
    wrong: list[int] = field(default_factory=list)  # same sentence, another kind or other numbers
    unmatched: list[int] = field(default_factory=list)  # demo indices no proposal is the sentence of
    extras: list[int] = field(default_factory=list)  # proposal indices matching no demo target
    measured_total: int = 0
    measured_found: int = 0
    missed: list[str] = field(default_factory=list)  # one line per demo target not found, for reports

    @property
    def misses(self) -> int:
        """Demo targets a reviewer must fix: proposed wrong, or not proposed as one sentence."""
        return len(self.wrong) + len(self.unmatched)


def compare_targets(demo_targets: Sequence[Target], proposals: Sequence[Target]) -> Comparison:
    """Match ``proposals`` with ``demo_targets`` and sort every demo target into found, wrong or unmatched."""
    result = Comparison(matched=match(demo_targets, proposals))
    for d_index, demo in enumerate(demo_targets):
        kind = demo.get("kind")
        if kind in MEASURED:
            result.measured_total += 1
        p_index = result.matched.get(d_index)
        if p_index is None:
            result.unmatched.append(d_index)
            result.missed.append(f"{demo.get('code')} (not proposed) {demo.get('text')}")
            continue
        proposal = proposals[p_index]
        if same_kind_and_numbers(demo, proposal):
            result.found.append(d_index)
            result.relaxed.append(d_index)
            if kind in MEASURED:
                result.measured_found += 1
            continue
        result.wrong.append(d_index)
        if kind in QUALITATIVE and proposal.get("kind") in QUALITATIVE:
            result.relaxed.append(d_index)
            result.missed.append(f"{demo.get('code')} (kind {proposal.get('kind')} ≠ {kind}) {demo.get('text')}")
        else:
            result.missed.append(
                f"{demo.get('code')} (got {proposal.get('kind')} {proposal.get('comparator')} "
                f"{proposal.get('target_value')} ≠ {kind} {demo.get('comparator')} {demo.get('target_value')}) "
                f"{demo.get('text')}"
            )
    used = set(result.matched.values())
    result.extras = [index for index in range(len(proposals)) if index not in used]
    return result
