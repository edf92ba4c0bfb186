"""The standard catalogue of figures and indicators (national statistics definitions), shipped as data.

``indicators/catalogue/catalogue.json`` holds a ``version``, the figures the entries read and the entries
themselves (an indicator: formula, unit filter, 口径说明, Chinese synonyms for the document importer, English
name). :func:`load` parses and checks the file — every formula is parsed by ``portal.expressions`` against
the figure codes of its entry — and :func:`install_entry` creates what a bureau lacks of one entry: the
figures through the figure form's validation, the indicator through ``indicators.services.save_indicator``,
in one transaction. Installing twice changes nothing; an existing figure or indicator with the same code
but another definition is refused with a translated :class:`ServiceError`, nothing written.

An entry may name an aggregation the engine does not have yet (``"requires": "cv"``): it is listed but
skipped by the loader and refused by :func:`install_entry` until ``indicators.models.Aggregation`` has it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from indicators import catalogue_names, services
from indicators.models import Aggregation, Indicator
from portal import expressions, scope
from portal.errors import ServiceError
from portal.expressions import ExpressionError
from schools.models import Level, Ownership, SchoolType
from submissions.forms import FigureForm
from submissions.models import Figure, TimeAggregation, UnitAggregation, ValueType

if TYPE_CHECKING:
    from portal.scope import AnyUser

CATALOGUE_PATH = catalogue_names.CATALOGUE_PATH
CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,59}$")

# The figure fields that say what is measured and how it adds up: an existing figure with the same code must
# agree on all of them (its name, help text, range or order may differ: those are the bureau's wording).
FIGURE_DEFINITION_FIELDS = (
    "unit",
    "value_type",
    "time_aggregation",
    "unit_aggregation",
    "reported_by_levels",
    "reported_by_school_types",
    "reported_by_central_only",
    "reported_by_top_areas",
)
# The indicator fields that decide its values (as ``services.COMPUTED_FIELDS``, without the on/off switch).
INDICATOR_DEFINITION_FIELDS = (
    "numerator",
    "denominator",
    "factor",
    "aggregation",
    "condition",
    "unit_filter_levels",
    "unit_filter_school_types",
    "unit_filter_ownership",
    "unit_filter_central_only",
)


def _indicator_has(name: str) -> bool:
    """Whether the Indicator model has field ``name`` (the catalogue may describe fields the engine adds later)."""
    return any(field.name == name for field in Indicator._meta.get_fields())


class CatalogueError(ValueError):
    """The catalogue file is malformed; ``problems`` lists every problem found (for its maintainers)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class FigureDef:
    """A figure as the catalogue defines it: model field values, ready for the figure form."""

    code: str
    fields: Mapping[str, Any]

    @property
    def name(self) -> str:
        return str(self.fields["name"])

    @property
    def name_en(self) -> str:
        return str(self.fields["name_en"])


@dataclass(frozen=True)
class Entry:
    """One indicator of the catalogue with the figures it reads."""

    code: str
    name: str
    name_en: str
    synonyms: tuple[str, ...]
    definition: str
    unit: str
    figures: tuple[FigureDef, ...]
    numerator: str
    denominator: str
    factor: Decimal
    aggregation: str
    decimals: int
    condition: str
    unit_filter: Mapping[str, Any]
    requires: str = ""
    # The coefficient of variation's weight (per school: its enrolment); stored once the model has the field.
    weight: str = ""

    @property
    def supported(self) -> bool:
        """Whether the engine has this entry's aggregation (a ``requires`` entry waits for it)."""
        return self.aggregation in Aggregation.values

    def indicator_fields(self) -> dict[str, Any]:
        """The Indicator model values this entry installs."""
        return {
            "code": self.code,
            "name": self.name,
            "name_en": self.name_en,
            "definition": self.definition,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "factor": self.factor,
            "decimals": self.decimals,
            "unit": self.unit,
            "aggregation": self.aggregation,
            "condition": self.condition,
            "unit_filter_levels": list(self.unit_filter["levels"]),
            "unit_filter_school_types": list(self.unit_filter["school_types"]),
            "unit_filter_ownership": list(self.unit_filter["ownership"]),
            "unit_filter_central_only": bool(self.unit_filter["central_only"]),
            **({"weight": self.weight} if _indicator_has("weight") else {}),
        }


@dataclass(frozen=True)
class Catalogue:
    version: str
    entries: dict[str, Entry]
    figures: dict[str, FigureDef] = field(default_factory=dict)


@dataclass(frozen=True)
class InstallResult:
    """What one install created: figure codes, and whether the indicator was new."""

    code: str
    figures_created: tuple[str, ...]
    indicator_created: bool

    @property
    def changed(self) -> bool:
        return bool(self.figures_created) or self.indicator_created


# --- Reading and checking the file ---


def _choices(values: Any, allowed: Iterable[str], where: str, problems: list[str]) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        problems.append(f"{where}: expected a list of codes")
        return []
    allowed = set(allowed)
    unknown = [value for value in values if value not in allowed]
    if unknown:
        problems.append(f"{where}: unknown codes {', '.join(unknown)}")
    return list(values)


def _text(raw: Mapping[str, Any], key: str, where: str, problems: list[str], *, required: bool = False) -> str:
    value = raw.get(key, "")
    if not isinstance(value, str):
        problems.append(f"{where}.{key}: expected text")
        return ""
    if required and not value.strip():
        problems.append(f"{where}.{key}: required")
    return value.strip()


def _figure(raw: Any, problems: list[str]) -> FigureDef | None:
    if not isinstance(raw, dict):
        problems.append("figures: every figure is an object")
        return None
    code = raw.get("code")
    if not isinstance(code, str) or not CODE_RE.match(code):
        problems.append(f"figure {code!r}: the code must be lower-case letters, digits and _")
        return None
    where = f"figure {code}"
    reported = raw.get("reported_by", {})
    if not isinstance(reported, dict):
        problems.append(f"{where}.reported_by: expected an object")
        reported = {}
    fields = {
        "code": code,
        "name": _text(raw, "name", where, problems, required=True),
        "name_en": _text(raw, "name_en", where, problems),
        "unit": _text(raw, "unit", where, problems),
        "help_text": _text(raw, "help_text", where, problems),
        "group": _text(raw, "group", where, problems),
        "reported_by_levels": _choices(reported.get("levels", []), Level.values, f"{where}.levels", problems),
        "reported_by_school_types": _choices(
            reported.get("school_types", []), SchoolType.values, f"{where}.school_types", problems
        ),
        "reported_by_central_only": bool(reported.get("central_only", False)),
        "reported_by_top_areas": bool(reported.get("top_areas", False)),
        # Optional figures (graduates: filled in the graduation quarter only) say "required": false.
        "required": raw.get("required", True) is not False,
    }
    for key, choices in (
        ("value_type", ValueType.values),
        ("time_aggregation", TimeAggregation.values),
        ("unit_aggregation", UnitAggregation.values),
    ):
        value = raw.get(key)
        if value not in choices:
            problems.append(f"{where}.{key}: {value!r} is not one of {', '.join(choices)}")
        fields[key] = value
    return FigureDef(code=code, fields=fields)


def _check_formula(
    code: str, aggregation: str, formula: Mapping[str, str], known: set[str], problems: list[str]
) -> None:
    """Parse each expression the aggregation uses against the entry's own figure codes."""
    if aggregation == Aggregation.COUNT_DESIGNATIONS:
        problems.append(f"entry {code}: designation counts are not catalogue entries")
        return
    used: list[tuple[str, bool]] = []
    if aggregation == Aggregation.COUNT_UNITS_WHERE:
        used.append(("condition", True))
    else:
        used.append(("numerator", False))
        if aggregation not in (Aggregation.SUM, Aggregation.MAX, Aggregation.MIN):
            used.append(("denominator", False))  # a ratio, or the per-school ratio a coefficient of variation spreads
        elif formula["denominator"]:
            problems.append(f"entry {code}: only a ratio has a denominator")
    if formula.get("weight"):
        used.append(("weight", False))
    for key, is_condition in used:
        try:
            expressions.parse(formula[key], known, condition=is_condition)
        except ExpressionError as error:
            problems.append(f"entry {code}.{key}: {error.detail} (at {error.position}) in {formula[key]!r}")


def _entry(raw: Any, figures: Mapping[str, FigureDef], problems: list[str]) -> Entry | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("code"), str) or not CODE_RE.match(raw["code"]):
        problems.append(f"entry {raw.get('code') if isinstance(raw, dict) else raw!r}: missing or invalid code")
        return None
    code = raw["code"]
    where = f"entry {code}"
    before = len(problems)
    figure_codes = raw.get("figures", [])
    if not isinstance(figure_codes, list) or not figure_codes:
        problems.append(f"{where}.figures: expected a non-empty list of figure codes")
        figure_codes = []
    missing = [c for c in figure_codes if c not in figures]
    if missing:
        problems.append(f"{where}.figures: not defined in the catalogue: {', '.join(map(str, missing))}")
    formula = raw.get("formula", {})
    if not isinstance(formula, dict):
        problems.append(f"{where}.formula: expected an object")
        formula = {}
    keys = ("numerator", "denominator", "condition", "weight")
    texts = {key: _text(formula, key, f"{where}.formula", problems) for key in keys}
    requires = _text(raw, "requires", where, problems)
    aggregation = formula.get("aggregation", Aggregation.RATIO)
    if aggregation not in Aggregation.values and aggregation != requires:
        problems.append(f'{where}: aggregation {aggregation!r} is unknown (mark it with "requires")')
    _check_formula(code, aggregation, texts, {c for c in figure_codes if c in figures}, problems)
    try:
        factor = Decimal(str(formula.get("factor", 1)))
        if not factor > 0:
            raise InvalidOperation
    except InvalidOperation:
        problems.append(f"{where}.factor: a positive number")
        factor = Decimal(1)
    decimals = formula.get("decimals", 1)
    if not isinstance(decimals, int) or not 0 <= decimals <= 6:
        problems.append(f"{where}.decimals: a whole number from 0 to 6")
        decimals = 1
    unit_filter = raw.get("unit_filter", {})
    if not isinstance(unit_filter, dict):
        problems.append(f"{where}.unit_filter: expected an object")
        unit_filter = {}
    filters = {
        "levels": _choices(unit_filter.get("levels", []), Level.values, f"{where}.levels", problems),
        "school_types": _choices(
            unit_filter.get("school_types", []), SchoolType.values, f"{where}.school_types", problems
        ),
        "ownership": _choices(unit_filter.get("ownership", []), Ownership.values, f"{where}.ownership", problems),
        "central_only": bool(unit_filter.get("central_only", False)),
    }
    synonyms = raw.get("synonyms", [])
    if not isinstance(synonyms, list) or not all(isinstance(s, str) and s.strip() for s in synonyms):
        problems.append(f"{where}.synonyms: expected a list of names")
        synonyms = []
    entry = Entry(
        code=code,
        name=_text(raw, "name", where, problems, required=True),
        name_en=_text(raw, "name_en", where, problems, required=True),
        synonyms=tuple(s.strip() for s in synonyms),
        definition=_text(raw, "definition", where, problems, required=True),
        unit=_text(raw, "unit", where, problems),
        figures=tuple(figures[c] for c in figure_codes if c in figures),
        numerator=texts["numerator"],
        denominator=texts["denominator"],
        factor=factor,
        aggregation=str(aggregation),
        decimals=decimals,
        condition=texts["condition"],
        unit_filter=filters,
        requires=requires,
        weight=texts["weight"],
    )
    return entry if len(problems) == before else None


def parse(data: Any) -> Catalogue:
    """A checked catalogue from the decoded JSON document; CatalogueError lists every problem."""
    problems: list[str] = []
    if not isinstance(data, dict):
        raise CatalogueError(["the catalogue is a JSON object"])
    version = data.get("version")
    if not isinstance(version, str) or not version.strip():
        problems.append("version: required (text)")
    figures: dict[str, FigureDef] = {}
    for raw in data.get("figures", []) if isinstance(data.get("figures"), list) else []:
        figure = _figure(raw, problems)
        if figure is not None:
            if figure.code in figures:
                problems.append(f"figure {figure.code}: defined twice")
            figures[figure.code] = figure
    entries: dict[str, Entry] = {}
    raw_entries = data.get("entries")
    if not isinstance(raw_entries, list) or not raw_entries:
        problems.append("entries: expected a non-empty list")
        raw_entries = []
    for raw in raw_entries:
        entry = _entry(raw, figures, problems)
        if entry is not None:
            if entry.code in entries:
                problems.append(f"entry {entry.code}: defined twice")
            entries[entry.code] = entry
    if problems:
        raise CatalogueError(problems)
    return Catalogue(version=str(version).strip(), entries=entries, figures=figures)


def load(path: Path | str | None = None) -> Catalogue:
    """The catalogue file (default: the one shipped with the app, read once per process)."""
    if path is None:
        return _shipped()
    return _read(Path(path))


def _read(path: Path) -> Catalogue:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CatalogueError([f"{path.name}: {error}"]) from None
    return parse(data)


@lru_cache(maxsize=1)
def _shipped() -> Catalogue:
    return _read(CATALOGUE_PATH)


# --- Comparing with what the bureau has ---


def _normalised(name: str, value: Any) -> Any:
    if isinstance(value, list):
        return sorted(value)
    if name in ("numerator", "denominator", "condition", "weight"):
        text = (value or "").strip()
        if not text:
            return ""
        try:
            return expressions.to_text(expressions.parse(text, None, condition=name == "condition"))
        except ExpressionError:
            return text
    if name == "factor":
        return Decimal(value).normalize()
    return value


def _differences(instance: Any, wanted: Mapping[str, Any], names: Iterable[str]) -> list[str]:
    """The verbose names of the fields where ``instance`` and ``wanted`` disagree."""
    model = type(instance)
    return [
        str(model._meta.get_field(name).verbose_name)
        for name in names
        if _normalised(name, getattr(instance, name)) != _normalised(name, wanted[name])
    ]


def _figure_conflict(figure: Figure, wanted: FigureDef) -> str:
    fields = _differences(figure, wanted.fields, FIGURE_DEFINITION_FIELDS)
    if not fields:
        return ""
    return _("已有代码为 {code} 的填报项，但定义不同（{fields}）：请改用其他代码或先核对该填报项。").format(
        code=figure.code, fields="、".join(fields)
    )


def _indicator_conflict(indicator: Indicator, entry: Entry) -> str:
    names = [*INDICATOR_DEFINITION_FIELDS, *(["weight"] if _indicator_has("weight") else [])]
    fields = _differences(indicator, entry.indicator_fields(), names)
    if not fields:
        return ""
    message = _("已有代码为 {code} 的统计指标，但定义不同（{fields}）。")
    return message.format(code=indicator.code, fields="、".join(fields))


def conflicts(entry: Entry) -> list[str]:
    """Why ``entry`` cannot be installed as defined (translated), [] when it can (or already is)."""
    problems = []
    existing = {f.code: f for f in Figure.objects.filter(code__in=[d.code for d in entry.figures])}
    for wanted in entry.figures:
        if wanted.code in existing and (message := _figure_conflict(existing[wanted.code], wanted)):
            problems.append(message)
    indicator = Indicator.objects.filter(code=entry.code).first()
    if indicator is not None and (message := _indicator_conflict(indicator, entry)):
        problems.append(message)
    return problems


@dataclass(frozen=True)
class EntryState:
    """An entry as the catalogue page and the API show it: installed, installable, or why not."""

    entry: Entry
    installed: bool
    missing_figures: tuple[str, ...]
    problems: tuple[str, ...]

    @property
    def installable(self) -> bool:
        return self.entry.supported and not self.installed and not self.problems


def states(catalogue: Catalogue | None = None) -> list[EntryState]:
    """Every entry with its state in this database (three queries whatever the size)."""
    catalogue = catalogue or load()
    figures = {f.code: f for f in Figure.objects.filter(code__in=list(catalogue.figures))}
    indicators = {i.code: i for i in Indicator.objects.filter(code__in=list(catalogue.entries))}
    result = []
    for entry in catalogue.entries.values():
        problems = [m for d in entry.figures if d.code in figures and (m := _figure_conflict(figures[d.code], d))]
        indicator = indicators.get(entry.code)
        if indicator is not None and (message := _indicator_conflict(indicator, entry)):
            problems.append(message)
        if not entry.supported:
            problems.append(unsupported_message(entry))
        result.append(
            EntryState(
                entry=entry,
                installed=indicator is not None and not problems,
                missing_figures=tuple(d.code for d in entry.figures if d.code not in figures),
                problems=tuple(problems),
            )
        )
    return result


def unsupported_message(entry: Entry) -> str:
    return _("该目录项需要“{requires}”汇总方式，本系统尚未提供，暂不能安装。").format(
        requires=entry.requires or entry.aggregation
    )


# --- Installing ---


def _figure_form_data(definition: FigureDef, order: int) -> dict[str, Any]:
    return {
        **definition.fields,
        "min_value": "0",
        "max_value": "",
        "change_warning_share": "",
        "order": str(order),
        "is_active": True,
    }


def _create_figure(definition: FigureDef, order: int) -> Figure:
    """A new figure through the figure form's validation (the same checks as the web page)."""
    # National definitions: a school type this bureau has not loaded yet is no reason to refuse the install.
    form = FigureForm(data=_figure_form_data(definition, order), require_units=False)
    if not form.is_valid():
        errors = {f"{definition.code}.{name}": [str(m) for m in messages] for name, messages in form.errors.items()}
        raise ServiceError(errors)
    return form.save()


def install_entry(code: str, user: AnyUser) -> InstallResult:
    """Create what is missing of catalogue entry ``code`` (bureau admin only) in one transaction.

    Figures already present with the same definition are reused; a figure or indicator with the same code
    and another definition refuses the whole install. Installing an installed entry changes nothing.
    """
    scope.require(user, scope.Perm.ADMIN)
    entry = load().entries.get(code)
    if entry is None:
        raise ServiceError({"code": [_("标准目录中没有代码为 {code} 的指标。").format(code=code)]})
    if not entry.supported:
        raise ServiceError({"code": [unsupported_message(entry)]})
    with transaction.atomic():
        problems = conflicts(entry)
        if problems:
            raise ServiceError({"code": problems})
        existing = set(Figure.objects.filter(code__in=[d.code for d in entry.figures]).values_list("code", flat=True))
        order = (Figure.objects.aggregate(top=Max("order"))["top"] or 0) + 1
        created: list[str] = []
        for definition in entry.figures:
            if definition.code not in existing:
                _create_figure(definition, order)
                created.append(definition.code)
                order += 1
        indicator_created = False
        if not Indicator.objects.filter(code=entry.code).exists():
            services.save_indicator(Indicator(**entry.indicator_fields()), user)
            indicator_created = True
    return InstallResult(code=entry.code, figures_created=tuple(created), indicator_created=indicator_created)


# --- Matching names (the document importer) ---


def match_names(text: str) -> list[Entry]:
    """Entries whose name or a synonym occurs in ``text``, the best guess first (see ``catalogue_names.match``)."""
    entries = load().entries
    return [entries[code] for code in catalogue_names.match(text) if code in entries]
