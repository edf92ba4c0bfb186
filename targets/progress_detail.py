"""The typed ``Progress.detail``: what a progress row says besides its numbers and status.

``targets.progress`` writes it, the reports, the plan pages, the target form's preview and the API read
it. Both sides go through this module only: writers build a :class:`ProgressDetail` and store
``to_json()``; readers call :func:`from_json` (or ``Progress.typed_detail``) and never index the raw
JSON. Database lookups on the JSON (``detail__contribution``) are built here too.

Versions: the stored JSON carries ``"version"``. Rows written before the version existed have none
and are read as version 1 (the same keys). A later version may add keys but never change what an
existing key means; a row of an unknown (newer) version is read key by key like any other, and every
value of the wrong type is dropped rather than trusted, so a reader never fails on a stored row.

Keys (all optional; absent when they do not apply):

- ``reason``: why the row has no status (``no_indicator``, ``no_target_value``, ``no_designation_kind``,
  ``no_qualifying_units``, ``no_baseline``, :data:`BEFORE_ASSESSMENT`); ``assess_from``: the target's 起评季度 with
  the last of these.
- ``contribution``: a child unit's share of a scope-wide quantity or count (no status of its own).
- ``judged_by``: ``"projection"`` when the year-end projection made the status worse.
- per-unit checks (threshold for each unit, limit, frequency): ``failing_units`` (at most
  ``FAILING_LIMIT`` units), ``failing_count`` (all of them), ``units_checked`` or ``units_qualifying``,
  ``units_complying``; frequency adds ``per_unit_minimum`` and ``semester`` (``H1`` / ``H2``). A failing unit's
  ``value``: a frequency's ref stores it (the semester total); a threshold's or limit's ref is stored without it
  (rows written since issue 17) — it is the unit's own indicator value of the row's quarter, and readers that
  show it call ``targets.queries.fill_failing_values`` (one query for many rows), which puts it back where it
  was. So an approval that moves a listed school's value without changing whether it fails leaves the list as is.
- count_units: ``units`` (the designated schools with their grant date).
- a parent target: ``sub_targets`` (code, actual and status of each part).
- improves ("有一定提高"): ``baseline`` (the value to beat), ``baseline_period`` (its quarter's code; absent for an
  explicit baseline value without a quarter), ``change`` (actual − baseline); ``reason`` ``no_baseline`` when
  the baseline has no value yet.
- milestone: ``milestone_status`` (as of the quarter), ``due_date`` (written even when null), ``start_date``,
  ``completed_on``, ``awaiting_review`` (a "done" note not yet accepted), ``overdue``, ``notes`` and
  ``evidence_count`` (of the quarter the notes report on), ``reason`` ``before_start``; narrative: ``notes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, TypedDict, cast

from django.db.models import Q

CURRENT_VERSION = 1
# ``reason`` of a quarter before the target's 起评季度 (Target.assess_from): the value is kept, no status.
BEFORE_ASSESSMENT = "before_assessment"
JUDGED_BY_PROJECTION = "projection"


class UnitRef(TypedDict, total=False):
    """A school named in a detail: a failing one (with its ``value``) or a designated one (``granted_on``)."""

    code: str
    name: str
    value: float | None
    granted_on: str


class SubTargetRef(TypedDict):
    """A part of a parent target ("其中外来生…") with its own actual and status."""

    code: str
    actual: float | None
    status: str


class NoteRef(TypedDict):
    """A progress note of a milestone or narrative, shortened."""

    id: int
    date: str
    text: str
    review_status: str
    has_evidence: bool


@dataclass
class ProgressDetail:
    """``Progress.detail`` as a typed value; ``None`` (or an empty list where noted) means "does not apply"."""

    version: int = CURRENT_VERSION
    reason: str | None = None
    assess_from: str | None = None
    contribution: bool | None = None
    judged_by: str | None = None
    failing_units: list[UnitRef] | None = None
    failing_count: int | None = None
    units_checked: int | None = None
    units_qualifying: int | None = None
    units_complying: int | None = None
    per_unit_minimum: float | None = None
    semester: str | None = None
    units: list[UnitRef] | None = None
    sub_targets: list[SubTargetRef] | None = None
    milestone_status: str | None = None
    due_date: str | None = None
    start_date: str | None = None
    completed_on: str | None = None
    awaiting_review: bool | None = None
    overdue: bool | None = None
    notes: list[NoteRef] | None = None
    evidence_count: int | None = None
    baseline: float | None = None
    baseline_period: str | None = None
    change: float | None = None
    # Keys a newer version wrote that this code does not know: kept so a rewrite does not lose them.
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    # --- What readers ask ---

    @property
    def is_contribution(self) -> bool:
        return bool(self.contribution)

    @property
    def before_assessment_from(self) -> str:
        """The target's 起评季度 when the row's quarter comes before it (no status yet), else ""."""
        return (self.assess_from or "") if self.reason == BEFORE_ASSESSMENT else ""

    @property
    def failing_total(self) -> int:
        """How many units fail the per-unit check (also those beyond the stored list's limit)."""
        if self.failing_count is not None:
            return self.failing_count
        return len(self.failing_units or [])

    @property
    def checked(self) -> int | None:
        """How many units the per-unit check looked at (checked for thresholds and limits, qualifying for
        frequencies); None when the target is not checked unit by unit."""
        return self.units_checked if self.units_checked is not None else self.units_qualifying

    # --- Storage ---

    def to_json(self) -> dict[str, Any]:
        """The JSON stored in ``Progress.detail`` and shown by the API: the keys that apply, and the version."""
        data: dict[str, Any] = {"version": self.version}
        for item in fields(self):
            if item.name in ("version", "extra"):
                continue
            value = getattr(self, item.name)
            if value is not None or (item.name == "due_date" and self.milestone_status is not None):
                data[item.name] = value
        return {**self.extra, **data}


_TYPES: dict[str, type | tuple[type, ...]] = {
    "reason": str,
    "assess_from": str,
    "contribution": bool,
    "judged_by": str,
    "failing_units": list,
    "failing_count": int,
    "units_checked": int,
    "units_qualifying": int,
    "units_complying": int,
    "per_unit_minimum": (int, float),
    "semester": str,
    "units": list,
    "sub_targets": list,
    "milestone_status": str,
    "due_date": str,
    "start_date": str,
    "completed_on": str,
    "awaiting_review": bool,
    "overdue": bool,
    "notes": list,
    "evidence_count": int,
    "baseline": (int, float),
    "baseline_period": str,
    "change": (int, float),
}


def _typed(name: str, value: Any) -> Any:
    """``value`` when it has the key's type, else None (bool is not an int here)."""
    expected = _TYPES[name]
    if isinstance(value, bool) and expected is not bool:
        return None
    return value if isinstance(value, expected) else None


_REF_KEYS = frozenset({"code", "name", "value", "granted_on"})
_REF_VALUE_TYPES = (int, float, type(None))


def _unit_refs(items: list[Any]) -> list[UnitRef]:
    """Units as dicts with a code: a bare code string becomes ``{"code": …}``, anything else is dropped."""
    refs: list[UnitRef] = []
    for item in items:
        # The common case, a ref as this module writes it, is copied whole; anything else key by key. A listed
        # failing unit ({code, name}: the most frequent ref by far, 200 a row) is checked first, cheaply.
        if type(item) is dict and len(item) == 2 and type(item.get("code")) is str and type(item.get("name")) is str:
            if item["code"]:
                refs.append(cast(UnitRef, dict(item)))
                continue
        if (
            type(item) is dict
            and item.keys() <= _REF_KEYS
            and type(item.get("code")) is str
            and item["code"]
            and type(item.get("name", "")) is str
            and type(item.get("granted_on", "")) is str
            and type(item.get("value")) in _REF_VALUE_TYPES
        ):
            refs.append(cast(UnitRef, dict(item)))
        elif isinstance(item, str) and item:
            refs.append({"code": item})
        elif isinstance(item, dict) and isinstance(item.get("code"), str) and item["code"]:
            ref: UnitRef = {"code": item["code"]}
            if isinstance(item.get("name"), str):
                ref["name"] = item["name"]
            if "value" in item and (item["value"] is None or isinstance(item["value"], int | float)):
                ref["value"] = item["value"]
            if isinstance(item.get("granted_on"), str):
                ref["granted_on"] = item["granted_on"]
            refs.append(ref)
    return refs


def from_json(raw: Any) -> ProgressDetail:
    """Read a stored ``Progress.detail`` of any version; never raises (see the module docstring)."""
    if not isinstance(raw, dict):
        return ProgressDetail()
    version = raw.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        version = 1
    values: dict[str, Any] = {name: _typed(name, raw.get(name)) for name in _TYPES}
    for name in ("failing_units", "units"):
        if values[name] is not None:
            values[name] = _unit_refs(values[name])
    for name in ("sub_targets", "notes"):
        if values[name] is not None:
            values[name] = [item for item in values[name] if isinstance(item, dict)]
    extra = {key: value for key, value in raw.items() if key not in _TYPES and key != "version"}
    return ProgressDetail(version=version, extra=extra, **values)


# --- Database lookups on the stored JSON (the only place its keys appear in a query) ---


def contribution_q(prefix: str = "") -> Q:
    """Rows whose detail marks a child unit's contribution."""
    return Q(**{f"{prefix}detail__contribution": True})


def before_assessment_q(prefix: str = "") -> Q:
    """Rows of a quarter before the target's 起评季度."""
    return Q(**{f"{prefix}detail__reason": BEFORE_ASSESSMENT})
