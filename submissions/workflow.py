"""The submission workflow: open, edit, submit, approve, return, reopen — one set of rules for every channel.

Web views, the API, the Excel import (``save_batch``) and tasks all call these functions. Each one:

- checks the caller's scope with ``portal.scope`` (PermissionDenied → 403);
- checks the state machine (StateError → 409) and the period's dates (ServiceError → 400);
- checks the version the caller read (VersionConflict → 409), so a stale save never overwrites;
- validates every value (ServiceError naming the field → 400) and writes nothing on any error;
- bumps ``Submission.version`` once per operation that changes something (a save that changes
  nothing leaves the version alone) and records who/when/channel/old → new in ``SubmissionHistory``
  (values, explanations, the 零报告 flag and every workflow step).

State machine::

    draft ──submit──▶ submitted ──approve──▶ approved
      ▲                  │                       │
      │               return (reason)        reopen (reason, bureau admin)
      │                  ▼                       │
      └──(edit)──── returned ◀───────────────────┘ (reopen goes back to draft)

Values can be edited in draft and returned; approving (and reopening) asks the indicator engine
to recompute the unit and its ancestors after commit.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Model, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import scope
from portal.errors import ServiceError, StateError, VersionConflict
from portal.scope import Perm
from schools.models import OrgUnit
from submissions import bulk_sql, events
from submissions.models import (
    Channel,
    Figure,
    HistoryAction,
    Period,
    PeriodException,
    Submission,
    SubmissionHistory,
    SubmissionStatus,
    ValidationRule,
    Value,
)
from submissions.validation import (
    CHANGE_KEY_PREFIX,
    FieldError,
    Issue,
    RuleSet,
    active_figures,
    figures_for_unit,
    figures_for_units,
    parse_value,
    submit_errors,
)

if TYPE_CHECKING:
    from portal.scope import AnyUser

EDITABLE = (SubmissionStatus.DRAFT, SubmissionStatus.RETURNED)
MAX_EXPLANATION_LENGTH = 2000
MAX_EXPLANATION_KEY_LENGTH = 100
# More explanations in one request than this is not a form anyone filled in (keys must be rule codes).
MAX_EXPLANATIONS = 200
# NUL and the other C0 controls but tab, newline and carriage return: PostgreSQL's jsonb cannot hold \u0000,
# and none of them belongs in a rule code or a written explanation.
_CONTROL_CHARACTERS = {chr(c) for c in range(32)} - {"\t", "\n", "\r"}
# A lone UTF-16 surrogate (JSON "\ud800") is not text: it cannot be encoded to store it.
_SURROGATES = re.compile("[\ud800-\udfff]")


def _clean_text(text: str) -> bool:
    return not _CONTROL_CHARACTERS.intersection(text) and _SURROGATES.search(text) is None


def explanation_keys() -> set[str]:
    """Keys an explanation may have: a validation rule's code, or ``change_<figure>`` (a change warning)."""
    rules = ValidationRule.objects.values_list("code", flat=True)
    figures = Figure.objects.values_list("code", flat=True)
    return set(rules) | {f"{CHANGE_KEY_PREFIX}{code}" for code in figures}


MAX_REASON_LENGTH = 2000
NON_FIELD = "non_field_errors"


# --- Periods ---


def today() -> datetime.date:
    return timezone.localdate()


def previous_period(period: Period) -> Period | None:
    year, quarter = (period.year, period.quarter - 1) if period.quarter > 1 else (period.year - 1, 4)
    return Period.objects.filter(year=year, quarter=quarter).first()


def parse_period_code(code: str) -> tuple[int, int]:
    """ "2023Q1" → (2023, 1); ServiceError otherwise."""
    text = (code or "").strip().upper()
    if len(text) == 6 and text[:4].isdigit() and text[4] == "Q" and text[5] in "1234":
        return int(text[:4]), int(text[5])
    raise ServiceError({"period": [_("周期代码格式应为 2023Q1")]})


def is_locked(period: Period, on: datetime.date | None = None) -> bool:
    return (on or today()) > period.locks_on


def _exception_units(period: Period, unit_ids: Iterable[int], on: datetime.date) -> set[int]:
    """Units allowed to edit a locked period (an exception with no end date, or one not yet expired)."""
    return set(
        PeriodException.objects.filter(period=period, org_unit_id__in=list(unit_ids))
        .filter(Q(until__isnull=True) | Q(until__gte=on))
        .values_list("org_unit_id", flat=True)
    )


def period_edit_error(period: Period, unit: OrgUnit, on: datetime.date | None = None) -> str | None:
    """Why ``unit`` cannot edit ``period`` today, or None."""
    on = on or today()
    if on < period.opens_on:
        return _("{period} 尚未开放填报（{date} 开始）").format(period=period.code, date=period.opens_on)
    if is_locked(period, on) and unit.pk not in _exception_units(period, [unit.pk], on):
        return _("{period} 已于 {date} 锁定，不能再修改").format(period=period.code, date=period.locks_on)
    return None


# --- Reading a submission ---


def values_of(submission_ids: Iterable[int]) -> dict[int, dict[str, Decimal | None]]:
    """{submission_id: {figure_code: value}} in one query (a 不适用 figure's value is None)."""
    return read_values(submission_ids)[0]


def read_values(
    submission_ids: Iterable[int],
) -> tuple[dict[int, dict[str, Decimal | None]], dict[int, set[str]]]:
    """({submission_id: {figure_code: value}}, {submission_id: {不适用 figure codes}}) in one query."""
    result: dict[int, dict[str, Decimal | None]] = {}
    not_applicable: dict[int, set[str]] = {}
    rows = Value.objects.filter(submission_id__in=list(submission_ids)).values_list(
        "submission_id", "figure__code", "value", "not_applicable"
    )
    for submission_id, code, value, is_na in rows:
        result.setdefault(submission_id, {})[code] = value
        if is_na:
            not_applicable.setdefault(submission_id, set()).add(code)
    return result, not_applicable


def previous_values(period: Period, unit_ids: Iterable[int]) -> dict[int, dict[str, Decimal | None]]:
    """{unit_id: {figure_code: value}} of the quarter before ``period`` (hints and change warnings)."""
    before = previous_period(period)
    if before is None:
        return {}
    result: dict[int, dict[str, Decimal | None]] = {}
    rows = Value.objects.filter(submission__period=before, submission__org_unit_id__in=list(unit_ids)).values_list(
        "submission__org_unit_id", "figure__code", "value"
    )
    for unit_id, code, value in rows:
        result.setdefault(unit_id, {})[code] = value
    return result


@dataclass
class Snapshot:
    """Everything a form, the reviewer screen or the API shows for one submission."""

    submission: Submission
    figures: list[Figure]
    values: dict[str, Decimal | None]
    previous: dict[str, Decimal | None]
    issues: list[Issue]
    # Figures the unit answered 不适用 (their value is None): answered, never summed.
    not_applicable: set[str] = field(default_factory=set)
    # A preview (see ``preview``) carries the typed explanations and zero-report flag; None: the stored ones.
    typed_explanations: dict[str, str] | None = None
    typed_zero_report: bool | None = None

    @property
    def explanations(self) -> dict[str, str]:
        return self.submission.explanations if self.typed_explanations is None else self.typed_explanations

    @property
    def is_zero_report(self) -> bool:
        return self.submission.is_zero_report if self.typed_zero_report is None else self.typed_zero_report

    @property
    def blocking(self) -> dict[str, list[str]]:
        return submit_errors(
            self.values, self.figures, self.issues, self.explanations, self.is_zero_report, self.not_applicable
        )

    @property
    def is_clean(self) -> bool:
        """No rule or change warning at all: eligible for bulk approval."""
        return not self.issues and not self.blocking


def snapshots(
    submissions: Sequence[Submission], figures: list[Figure] | None = None, rules: RuleSet | None = None
) -> list[Snapshot]:
    """Snapshots of many submissions of possibly several periods in a fixed number of queries."""
    figures = active_figures() if figures is None else figures
    rules = RuleSet.load() if rules is None else rules
    values, not_applicable = read_values(s.pk for s in submissions)
    by_period: dict[int, list[Submission]] = {}
    for submission in submissions:
        by_period.setdefault(submission.period_id, []).append(submission)
    previous: dict[tuple[int, int], dict[str, Decimal | None]] = {}
    for group in by_period.values():
        prev = previous_values(group[0].period, (s.org_unit_id for s in group))
        for unit_id, unit_values in prev.items():
            previous[(group[0].period_id, unit_id)] = unit_values
    figures_of = figures_for_units([(s.org_unit, s.period) for s in submissions], figures)
    result = []
    for submission, unit_figures in zip(submissions, figures_of, strict=True):
        current = values.get(submission.pk, {})
        before = previous.get((submission.period_id, submission.org_unit_id), {})
        issues = rules.check(current, unit_figures, before)
        na = not_applicable.get(submission.pk, set())
        result.append(Snapshot(submission, unit_figures, current, before, issues, not_applicable=na))
    return result


def snapshot(submission: Submission) -> Snapshot:
    return snapshots([submission])[0]


def _set_explanation(explanations: dict[str, str], key: object, text: str) -> None:
    """A typed explanation is stored trimmed; a blank one removes the explanation (save and preview alike)."""
    if text.strip():
        explanations[str(key)] = text.strip()
    else:
        explanations.pop(str(key), None)


def preview(
    submission: Submission,
    values: Mapping[str, object],
    *,
    explanations: Mapping[str, object] | None = None,
    is_zero_report: bool | None = None,
    not_applicable: Iterable[str] | None = None,
) -> Snapshot:
    """The snapshot as it would be after ``save_values`` with these inputs, without writing anything.

    A form refused by save or submit is shown again with what the user typed; its rule messages,
    explanation boxes and "N left" count must describe those values, not the stored ones. The same
    checks as a save run on them (``parse_value``, ``RuleSet.check``, ``submit_errors``); a value that
    cannot be parsed counts as not filled in (the caller shows its own error).
    """
    rules = RuleSet.load()
    stored = snapshots([submission], rules=rules)[0]
    by_code = {figure.code: figure for figure in stored.figures}
    current = dict(stored.values)
    typed_na = set(stored.not_applicable)
    for code, raw in values.items():
        if code in by_code:
            typed_na.discard(code)
            try:
                current[code] = parse_value(by_code[code], raw)
            except FieldError:
                current[code] = None
    for code in not_applicable or ():
        if code in by_code and by_code[code].allows_not_applicable:
            typed_na.add(code)
            current[code] = None
    typed = dict(submission.explanations)
    for key, text in (explanations or {}).items():
        if isinstance(text, str):
            _set_explanation(typed, key, text)
    return Snapshot(
        submission,
        stored.figures,
        current,
        stored.previous,
        rules.check(current, stored.figures, stored.previous),
        not_applicable=typed_na,
        typed_explanations=typed,
        typed_zero_report=is_zero_report,
    )


@dataclass
class Check:
    """What a save of typed values would say, computed without writing: ``errors`` a save would refuse
    ({figure code: [message]}), ``issues`` the rule messages and change warnings the page shows after it, and
    ``blocking`` what a submit would still refuse. ``open`` is the page's "N left" count."""

    snapshot: Snapshot
    errors: dict[str, list[str]]

    @property
    def issues(self) -> list[Issue]:
        return self.snapshot.issues

    @property
    def blocking(self) -> dict[str, list[str]]:
        return self.snapshot.blocking

    @property
    def open(self) -> int:
        return len(set(self.blocking) | set(self.errors))


def check_values(
    submission: Submission,
    user: AnyUser,
    values: Mapping[str, object],
    *,
    explanations: Mapping[str, object] | None = None,
    is_zero_report: bool | None = None,
    not_applicable: Iterable[str] = (),
) -> Check:
    """Validate typed values as ``save_values`` would (the same ``parse_value``, 不适用 check, rules and change
    warnings) and as ``submit`` would, writing nothing: the submission form checks as the principal types.

    PermissionDenied without SUBMIT on the unit; StateError when the submission cannot be edited now.
    A fixed number of queries, whatever the number of units or figures.
    """
    scope.require(user, Perm.SUBMIT, submission.org_unit)
    if submission.status not in EDITABLE:
        raise StateError(
            {NON_FIELD: [_("当前状态为“{status}”，不能修改数据").format(status=submission.get_status_display())]}
        )
    problem = period_edit_error(submission.period, submission.org_unit)
    if problem:
        raise StateError({NON_FIELD: [problem]})
    snap = preview(
        submission, values, explanations=explanations, is_zero_report=is_zero_report, not_applicable=not_applicable
    )
    by_code = {figure.code: figure for figure in snap.figures}
    reported = set(by_code)
    errors: dict[str, list[str]] = {}
    parsed: dict[str, Decimal | None] = {}
    for code, raw in values.items():
        if code not in by_code:
            errors.setdefault(code, []).append(_("本单位不填报此项"))
            continue
        try:
            parsed[code] = parse_value(by_code[code], raw)
        except FieldError as exc:
            errors.setdefault(code, []).append(str(exc))
    for code in not_applicable:
        problem = _not_applicable_error(by_code.get(code), reported, parsed.get(code))
        if problem:
            errors.setdefault(str(code), []).append(problem)
    return Check(snap, errors)


# --- Opening a submission ---


def open_submission(user: AnyUser, org_unit: OrgUnit, period: Period, channel: str = Channel.WEB) -> Submission:
    """The unit's submission for the period, created as a draft if it does not exist yet."""
    scope.require(user, Perm.SUBMIT, org_unit)
    existing = Submission.objects.filter(org_unit=org_unit, period=period).select_related("org_unit", "period").first()
    if existing is not None:
        return existing
    if not figures_for_unit(org_unit, period=period):
        raise ServiceError({"org_unit": [_("{unit} 没有需要填报的项目").format(unit=org_unit.name)]})
    problem = period_edit_error(period, org_unit)
    if problem:
        raise ServiceError({"period": [problem]})
    try:
        with transaction.atomic():
            submission = Submission.objects.create(org_unit=org_unit, period=period)
    except IntegrityError:
        # Someone opened it at the same moment: use theirs.
        return Submission.objects.select_related("org_unit", "period").get(org_unit=org_unit, period=period)
    SubmissionHistory.objects.create(
        submission=submission,
        action=HistoryAction.VALUE,
        note=_("创建填报"),
        channel=channel,
        user=_user(user),
    )
    return submission


# --- Editing values ---


@dataclass
class Edit:
    """One unit's changes; ``ref`` is the caller's locator (e.g. an Excel row), echoed in errors."""

    org_unit: OrgUnit
    values: Mapping[str, object] = field(default_factory=dict)
    explanations: Mapping[str, str] | None = None
    version: int | None = None  # None: the caller did not read a version (an Excel template without one)
    is_zero_report: bool | None = None
    ref: object = None
    # Figure codes answered 不适用; a code in ``values`` but not here is a number or empty (its 不适用 is cleared).
    not_applicable: Iterable[str] = ()


# One validated edit: (edit, its submission or None, the unit's figures, new values, explanations, 不适用 flags).
Planned = tuple[Edit, Submission | None, list[Figure], dict[str, Decimal | None], dict[str, str], dict[str, bool]]


@dataclass(frozen=True)
class BatchItem:
    ref: object
    field: str
    message: str


class BatchError(ServiceError):
    """Errors of a batch save, each naming the edit (``ref``) and the field (figure code); nothing written."""

    def __init__(self, items: list[BatchItem], conflict: bool = False) -> None:
        self.items = items
        errors: dict[str, list[str]] = {}
        for item in items:
            key = item.field if item.ref is None else f"{item.ref}.{item.field}"
            errors.setdefault(key, []).append(item.message)
        super().__init__(errors)
        if conflict:
            self.status_code = 409


@dataclass
class SaveResult:
    submission: Submission
    issues: list[Issue]
    changed: list[str]  # figure codes whose value changed


def save_values(
    submission: Submission,
    user: AnyUser,
    values: Mapping[str, object],
    *,
    version: int | None,
    explanations: Mapping[str, str] | None = None,
    is_zero_report: bool | None = None,
    channel: str = Channel.WEB,
    not_applicable: Iterable[str] = (),
) -> SaveResult:
    """Partial update of one submission's values (absent codes are left alone; null/"" clears a value).

    Raises ServiceError({figure_code: [message]}) for a bad value, VersionConflict for a stale
    ``version``, StateError when the submission is not editable. Rule violations do not block a
    draft save; they come back as ``issues`` and block ``submit``.
    """
    if version is None:
        raise ServiceError({"version": [_("缺少版本号")]})
    edit = Edit(submission.org_unit, values, explanations, version, is_zero_report, not_applicable=not_applicable)
    try:
        return save_batch(user, submission.period, [edit], channel=channel)[0]
    except BatchError as exc:
        if exc.status_code == 409:
            raise VersionConflict() from None
        states = [item for item in exc.items if item.field == "status"]
        if states:
            raise StateError({NON_FIELD: [states[0].message]}) from None
        errors: dict[str, list[str]] = {}
        for item in exc.items:
            errors.setdefault(item.field, []).append(item.message)
        raise ServiceError(errors) from None


def save_batch(
    user: AnyUser,
    period: Period,
    edits: Sequence[Edit],
    *,
    channel: str,
    strict: bool = False,
) -> list[SaveResult]:
    """Save many units' values for one period atomically: every edit is stored, or none is.

    Used by the Excel import for a whole district (one row per unit) and by ``save_values`` for one.
    Creates missing submissions as drafts. Every unit needs Perm.SUBMIT (PermissionDenied otherwise).
    With ``strict``, error-severity rule violations are refused too (instead of only blocking submit).
    Query count does not depend on the number of edits except for the final bulk writes.
    """
    if channel not in Channel.values:
        raise ValueError(f"unknown channel {channel!r}")
    units = [edit.org_unit for edit in edits]
    if len({unit.pk for unit in units}) != len(units):
        raise ServiceError({"org_unit": [_("同一单位出现多次")]})
    for unit in units:
        scope.require(user, Perm.SUBMIT, unit)
    on = today()
    figures = active_figures()
    by_code = {figure.code: figure for figure in figures}
    rules = RuleSet.load()
    items: list[BatchItem] = []
    conflict = False
    known_keys = explanation_keys() if any(edit.explanations for edit in edits) else set()

    with transaction.atomic():
        locked_ok = _exception_units(period, (u.pk for u in units), on) if is_locked(period, on) else set()
        # Row locks (PostgreSQL) so two saves of the same submission serialize; the version check
        # below then sees the committed version of the other one.
        existing = {
            s.org_unit_id: s
            for s in Submission.objects.select_for_update().filter(period=period, org_unit_id__in=[u.pk for u in units])
        }
        stored: dict[int, dict[str, Decimal | None]] = {s.pk: {} for s in existing.values()}
        read, stored_na = read_values(s.pk for s in existing.values())
        stored |= read
        before_values = previous_values(period, (u.pk for u in units))

        planned: list[Planned] = []
        results_issues: list[list[Issue]] = []
        for edit in edits:
            unit = edit.org_unit
            submission = existing.get(unit.pk)
            unit_figures = figures_for_unit(unit, figures, period)
            reported = {figure.code for figure in unit_figures}
            if on < period.opens_on:
                items.append(BatchItem(edit.ref, "period", _("{period} 尚未开放填报").format(period=period.code)))
                continue
            if is_locked(period, on) and unit.pk not in locked_ok:
                items.append(BatchItem(edit.ref, "period", _("{period} 已锁定，不能再修改").format(period=period.code)))
                continue
            if submission is not None:
                if edit.version is not None and submission.version != edit.version:
                    conflict = True
                    items.append(BatchItem(edit.ref, "version", _("数据已被他人修改，请刷新后重试。")))
                    continue
                if submission.status not in EDITABLE:
                    items.append(
                        BatchItem(
                            edit.ref,
                            "status",
                            _("当前状态为“{status}”，不能修改数据").format(status=submission.get_status_display()),
                        )
                    )
                    continue
            elif not unit_figures:
                items.append(BatchItem(edit.ref, "org_unit", _("{unit} 没有需要填报的项目").format(unit=unit.name)))
                continue
            current = dict(stored.get(submission.pk, {})) if submission else {}
            new_values: dict[str, Decimal | None] = {}
            for code, raw in edit.values.items():
                if code not in by_code:
                    items.append(BatchItem(edit.ref, code, _("未知的填报项：{code}").format(code=code)))
                    continue
                if code not in reported:
                    items.append(BatchItem(edit.ref, code, _("本单位不填报此项")))
                    continue
                try:
                    new_values[code] = parse_value(by_code[code], raw)
                except FieldError as exc:
                    items.append(BatchItem(edit.ref, code, str(exc)))
            new_na = dict.fromkeys(new_values, False)
            for code in edit.not_applicable:
                problem = _not_applicable_error(by_code.get(code), reported, new_values.get(code))
                if problem:
                    items.append(BatchItem(edit.ref, str(code), problem))
                    continue
                new_values[code], new_na[code] = None, True
            explanations = dict(submission.explanations) if submission else {}
            typed = edit.explanations or {}
            if len(typed) > MAX_EXPLANATIONS:
                items.append(BatchItem(edit.ref, "explanations", _("说明条数过多")))
                typed = {}
            for key, text in typed.items():
                # A stored key stays editable (clearable) after its rule was deleted.
                if str(key) not in known_keys and str(key) not in explanations:
                    items.append(BatchItem(edit.ref, "explanations", _("说明对应的规则代码无效")))
                elif not isinstance(text, str) or len(text) > MAX_EXPLANATION_LENGTH:
                    items.append(BatchItem(edit.ref, f"explanations.{key}", _("说明须为不超过 2000 字的文字")))
                elif not _clean_text(str(key)) or len(str(key)) > MAX_EXPLANATION_KEY_LENGTH:
                    items.append(BatchItem(edit.ref, "explanations", _("说明对应的规则代码无效")))
                elif not _clean_text(text):
                    items.append(BatchItem(edit.ref, f"explanations.{key}", _("说明含有无法保存的控制字符")))
                else:
                    _set_explanation(explanations, key, text)
            current.update(new_values)
            issues = rules.check(current, unit_figures, before_values.get(unit.pk, {}))
            if strict:
                items.extend(BatchItem(edit.ref, issue.field, issue.message) for issue in issues if issue.is_error)
            planned.append((edit, submission, unit_figures, new_values, explanations, new_na))
            results_issues.append(issues)

        if items:
            raise BatchError(items, conflict=conflict)
        results = _write(user, period, planned, stored, stored_na, by_code, channel)
    for result, issues in zip(results, results_issues, strict=True):
        result.issues = issues
    return results


def _not_applicable_error(figure: Figure | None, reported: set[str], value: Decimal | None) -> str | None:
    """Why a figure cannot be answered 不适用 here (translated), or None."""
    if figure is None:
        return _("未知的填报项")
    if figure.code not in reported:
        return _("本单位不填报此项")
    if not figure.allows_not_applicable:
        return _("此项不允许填“不适用”")
    if value is not None:
        return _("“不适用”的项目不能同时填写数值")
    return None


def _insert_rows(model: type[Model], columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """Bulk INSERT of a batch's rows (values, then history): see ``bulk_sql.insert_rows``."""
    bulk_sql.insert_rows(model, columns, rows)


def _in_chunks(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    return bulk_sql.in_chunks(ids, size)


def _create_submissions(period: Period, units: list[OrgUnit], now: datetime.datetime) -> list[Submission]:
    """New draft submissions for ``units`` (in that order), in one statement where the database allows."""
    if not units:
        return []
    template = Submission(period=period, created_at=now, updated_at=now)
    try:
        with transaction.atomic():
            ids = bulk_sql.insert_returning_ids(
                Submission, template, "org_unit_id", [u.pk for u in units], {"period": period}
            )
    except IntegrityError:
        # Another request created one of these submissions after we looked: treat as a stale read.
        raise BatchError([BatchItem(None, "version", _("数据已被他人修改，请刷新后重试。"))], conflict=True) from None
    created = []
    for unit in units:
        submission = Submission(pk=ids[unit.pk], org_unit=unit, period=period, created_at=now, updated_at=now)
        submission._state.adding = False
        created.append(submission)
    return created


def _write(
    user: AnyUser,
    period: Period,
    planned: list[Planned],
    stored: dict[int, dict[str, Decimal | None]],
    stored_na: dict[int, set[str]],
    by_code: dict[str, Figure],
    channel: str,
) -> list[SaveResult]:
    """Write a validated batch inside the caller's transaction, in a fixed number of statements.

    New values are inserted and changed ones updated in place, in one set-based statement each on
    PostgreSQL (``bulk_sql``); history rows are one insert. Query count does not grow with the batch
    on PostgreSQL (beyond one statement per 10,000 rows) and grows by one per 500 rows elsewhere.
    """
    now = timezone.now()
    stamp = connection.ops.adapt_datetimefield_value(now)
    actor = _user(user)
    actor_id = actor.pk if actor is not None else None
    fresh = iter(_create_submissions(period, [edit.org_unit for edit, sub, *_rest in planned if sub is None], now))

    existing_ids = {
        (submission_id, figure_id): pk
        for pk, submission_id, figure_id in Value.objects.filter(
            submission_id__in=[sub.pk for _e, sub, *_r in planned if sub is not None]
        ).values_list("pk", "submission_id", "figure_id")
    }
    value_rows: list[tuple[Any, ...]] = []
    value_updates: list[tuple[int, Decimal | None]] = []
    na_updates: dict[bool, list[int]] = {True: [], False: []}
    na_on_note, na_off_note = _("不适用"), _("取消不适用")
    history: list[tuple[Any, ...]] = []
    bumped: list[int] = []
    zero_report: dict[bool, list[int]] = {True: [], False: []}
    explained: list[Submission] = []
    results: list[SaveResult] = []
    created_note = _("创建填报")
    zero_on_note, zero_off_note = _("标记为零报告"), _("取消零报告")
    value_action = HistoryAction.VALUE
    figure_ids = {code: figure.pk for code, figure in by_code.items()}
    for edit, submission, _figures, new_values, explanations, new_na in planned:
        is_new = submission is None
        if submission is None:
            submission = next(fresh)
            history.append((submission.pk, value_action, None, None, None, created_note, channel, actor_id, 1, stamp))
        submission_id = submission.pk
        old_values = stored.get(submission_id, {})
        old_na = stored_na.get(submission_id, set())
        version = submission.version if is_new else submission.version + 1
        changed = []
        for code, new in new_values.items():
            old = old_values.get(code)
            was_na, is_na = code in old_na, new_na.get(code, False)
            if old == new and was_na == is_na and (code in old_values or new is None):
                continue
            figure_id = figure_ids[code]
            row_id = existing_ids.get((submission_id, figure_id))
            if row_id is not None:
                value_updates.append((row_id, new))
                if was_na != is_na:
                    na_updates[is_na].append(row_id)
            else:
                value_rows.append((submission_id, figure_id, new, is_na, stamp))
            # History shows 不适用 in words: the note says it (its old/new values are empty).
            note = na_on_note if is_na and not was_na else na_off_note if was_na and not is_na else ""
            history.append((submission_id, value_action, figure_id, old, new, note, channel, actor_id, version, stamp))
            changed.append(code)
        for key in sorted(set(explanations) | set(submission.explanations)):
            if explanations.get(key) != submission.explanations.get(key):
                note = f"{key}: {explanations.get(key, '')}"
                history.append(
                    (submission_id, HistoryAction.EXPLAIN, None, None, None, note, channel, actor_id, version, stamp)
                )
        explanations_changed = explanations != submission.explanations
        if explanations_changed:
            submission.explanations = explanations
            explained.append(submission)
        zero_changed = edit.is_zero_report is not None and bool(edit.is_zero_report) != submission.is_zero_report
        if zero_changed:
            submission.is_zero_report = bool(edit.is_zero_report)
            zero_report[submission.is_zero_report].append(submission_id)
            note = zero_on_note if submission.is_zero_report else zero_off_note
            history.append((submission_id, value_action, None, None, None, note, channel, actor_id, version, stamp))
        # A save that changes nothing is not a new version (and leaves no history row).
        if is_new or changed or explanations_changed or zero_changed:
            submission.updated_at = now
            if not is_new:
                submission.version = version
                bumped.append(submission_id)
        results.append(SaveResult(submission, [], changed))

    # Every changed submission of the batch moves on by exactly one version (checked under the row lock).
    for ids in _in_chunks(bumped):
        Submission.objects.filter(pk__in=ids).update(version=F("version") + 1, updated_at=now)
    for flag, ids in zero_report.items():
        for chunk in _in_chunks(ids):
            Submission.objects.filter(pk__in=chunk).update(is_zero_report=flag, updated_at=now)
    for submission in explained:  # rare in bulk (Excel has no explanations column): one UPDATE each
        Submission.objects.filter(pk=submission.pk).update(explanations=submission.explanations, updated_at=now)
    # Rare: a 不适用 ticked or cleared. Cleared before the new numbers land and set after the value is emptied,
    # so the check constraint (不适用 ⇒ no value) holds after every statement.
    for chunk in _in_chunks(na_updates[False]):
        Value.objects.filter(pk__in=chunk).update(not_applicable=False)
    bulk_sql.update_values(Value, value_updates, stamp)
    for chunk in _in_chunks(na_updates[True]):
        Value.objects.filter(pk__in=chunk).update(not_applicable=True)
    _insert_rows(Value, ["submission_id", "figure_id", "value", "not_applicable", "updated_at"], value_rows)
    _insert_rows(
        SubmissionHistory,
        ["submission_id", "action", "figure_id", "old_value", "new_value", "note", "channel", "user_id", "version",
         "created_at"],
        history,
    )  # fmt: skip
    return results


# --- Workflow steps ---


def _user(user: AnyUser) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


def _lock(submission: Submission, version: int | None) -> Submission:
    """Re-read the row under a lock and check the caller's version."""
    current = Submission.objects.select_for_update().select_related("org_unit", "period").get(pk=submission.pk)
    if version is not None and current.version != version:
        raise VersionConflict()
    return current


def _step(
    submission: Submission,
    user: AnyUser,
    *,
    perm: Perm,
    allowed: Iterable[str],
    to: str,
    action: str,
    version: int | None,
    channel: str,
    note: str = "",
    extra: Mapping[str, Any] | None = None,
    check: Any = None,
) -> Submission:
    scope.require(user, perm, submission.org_unit)
    with transaction.atomic():
        current = _lock(submission, version)
        if current.status not in allowed:
            raise StateError(
                {"status": [_("当前状态为“{status}”，不能执行此操作").format(status=current.get_status_display())]}
            )
        if check is not None:
            check(current)
        current.status = to
        current.version += 1
        fields = ["status", "version", "updated_at"]
        for name, value in (extra or {}).items():
            setattr(current, name, value)
            fields.append(name)
        current.save(update_fields=fields)
        SubmissionHistory.objects.create(
            submission=current,
            action=action,
            note=note,
            channel=channel,
            user=_user(user),
            version=current.version,
        )
        if action in (HistoryAction.APPROVE, HistoryAction.REOPEN):
            events.figures_changed.send(
                sender=Submission, org_unit_id=current.org_unit_id, period_id=current.period_id, action=action
            )
        events.submission_transitioned.send(
            sender=Submission, submission=current, action=action, note=note, user=_user(user)
        )
    submission.__dict__.update({k: v for k, v in current.__dict__.items() if not k.startswith("_")})
    return current


def submit(
    submission: Submission, user: AnyUser, *, version: int | None = None, channel: str = Channel.WEB
) -> Submission:
    """Principal sends the submission for review: every value present, no error rule, warnings explained."""

    def check(current: Submission) -> None:
        problem = period_edit_error(current.period, current.org_unit)
        if problem:
            raise ServiceError({"period": [problem]})
        errors = snapshot(current).blocking
        if errors:
            raise ServiceError(errors)

    return _step(
        submission,
        user,
        perm=Perm.SUBMIT,
        allowed=EDITABLE,
        to=SubmissionStatus.SUBMITTED,
        action=HistoryAction.SUBMIT,
        version=version,
        channel=channel,
        check=check,
        extra={"submitted_at": timezone.now(), "submitted_by": _user(user)},
    )


def approve(
    submission: Submission, user: AnyUser, *, version: int | None = None, channel: str = Channel.WEB
) -> Submission:
    """Reviewer accepts the figures; the indicator engine recomputes after commit."""
    return _step(
        submission,
        user,
        perm=Perm.REVIEW,
        allowed=(SubmissionStatus.SUBMITTED,),
        to=SubmissionStatus.APPROVED,
        action=HistoryAction.APPROVE,
        version=version,
        channel=channel,
        extra={"approved_at": timezone.now(), "approved_by": _user(user)},
    )


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise ServiceError({"reason": [_("请填写原因")]})
    if len(text) > MAX_REASON_LENGTH:
        raise ServiceError({"reason": [_("原因不能超过 2000 字")]})
    return text


def return_submission(
    submission: Submission,
    user: AnyUser,
    *,
    reason: str,
    version: int | None = None,
    channel: str = Channel.WEB,
) -> Submission:
    """Reviewer sends the figures back to the principal with a reason."""
    scope.require(user, Perm.REVIEW, submission.org_unit)
    text = _reason(reason)
    return _step(
        submission,
        user,
        perm=Perm.REVIEW,
        allowed=(SubmissionStatus.SUBMITTED,),
        to=SubmissionStatus.RETURNED,
        action=HistoryAction.RETURN,
        version=version,
        channel=channel,
        note=text,
        extra={"returned_at": timezone.now(), "returned_by": _user(user), "return_reason": text},
    )


def reopen(
    submission: Submission,
    user: AnyUser,
    *,
    reason: str,
    version: int | None = None,
    channel: str = Channel.WEB,
) -> Submission:
    """Bureau admin reopens an approved submission (back to draft) with a reason."""
    scope.require(user, Perm.ADMIN, submission.org_unit)
    text = _reason(reason)
    return _step(
        submission,
        user,
        perm=Perm.ADMIN,
        allowed=(SubmissionStatus.APPROVED,),
        to=SubmissionStatus.DRAFT,
        action=HistoryAction.REOPEN,
        version=version,
        channel=channel,
        note=text,
        extra={"reopened_at": timezone.now(), "reopened_by": _user(user), "reopen_reason": text},
    )


@dataclass
class BulkResult:
    approved: list[Submission]
    skipped: list[tuple[Submission, str]]


def bulk_approve(user: AnyUser, submissions: Sequence[Submission], *, channel: str = Channel.WEB) -> BulkResult:
    """Approve the clean ones (submitted, no rule or change warning); skip the rest with the reason."""
    result = BulkResult([], [])
    for snap in snapshots(list(submissions)):
        submission = snap.submission
        if not scope.has_perm(user, Perm.REVIEW, submission.org_unit):
            result.skipped.append((submission, _("无权审核")))
        elif submission.status != SubmissionStatus.SUBMITTED:
            result.skipped.append((submission, _("不是待审核状态")))
        elif not snap.is_clean:
            result.skipped.append((submission, _("有警告或说明，需逐一审核")))
        else:
            try:
                result.approved.append(approve(submission, user, version=submission.version, channel=channel))
            except ServiceError as exc:
                result.skipped.append((submission, "; ".join(m for ms in exc.errors.values() for m in ms)))
    return result
