"""The permission matrix: every URL pattern and API endpoint × persona × method, with objects on both sides.

The URL patterns are enumerated from the resolver (parameterised ones and DRF router/@action routes
included): a pattern without a row in ``RULES`` fails ``test_every_url_pattern_has_a_rule``, so a new
view cannot be forgotten. Each row states, for one URL name, method and side of the tree (A = D1/S1,
B = D2/S3, ``-`` = no scoped object in the URL), the outcome per persona, in this column order:

    anon  alice (principal S1)  bob (principal S3)  rita (reviewer D1)  rob (reviewer D2)  ivan (inspector)  bea (admin)

Outcome tokens:
    L      redirect to the log-in page (pages)
    NNN    exactly this status; for a write method a 2xx/3xx must also change the database
    NNN=   exactly this status, and the database must stay unchanged (GET-like or refused quietly)
    302    (without =) a redirect that is not to the log-in page
    4xx    refused: the database must stay unchanged, always

API contract (API.md): outside the scope, 404 for reads of one object, 403 for writes (the URL's
object); lists are silently filtered. A code in a *request body* that names an object outside the
caller's scope is a 400 ("does not exist or is not in your scope") — the same answer as for a code
that does not exist, so the API never confirms that another school exists.

Every successful GET of alice/rita must not show side B's texts, and bob's/rob's not side A's
(``Side.markers``): lists are filtered, not just detail pages.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.security.conftest import PLAN_TEXT, Side, World

PERSONAS = ("anon", "alice", "bob", "rita", "rob", "ivan", "bea")
# Which side each persona belongs to, for the leak check (ivan and bea see both sides by design).
HOME_SIDE = {"alice": "A", "rita": "A", "bob": "B", "rob": "B"}
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

Fill = Callable[[Side | None, World], dict[str, Any]]


@dataclass(frozen=True)
class Rule:
    name: str
    method: str
    side: str  # "A", "B" or "-"
    expect: tuple[str, ...]  # one token per persona, in PERSONAS order
    kwargs: Fill | None = None
    query: Fill | None = None
    data: Fill | None = None

    @property
    def label(self) -> str:
        return f"{self.method} {self.name} [{self.side}]"


def R(name: str, method: str, side: str, expect: str, **fill: Fill) -> list[Rule]:  # noqa: N802
    tokens = tuple(expect.split())
    assert len(tokens) == len(PERSONAS), f"{name} {method}: {len(tokens)} outcomes for {len(PERSONAS)} personas"
    return [Rule(name, method, side, tokens, **fill)]


def AB(name: str, method: str, a: str, b: str, **fill: Fill) -> list[Rule]:  # noqa: N802
    """The same URL filled with side A's object and with side B's (both columns written out)."""
    return R(name, method, "A", a, **fill) + R(name, method, "B", b, **fill)


# --- How parameters are filled ---


def _(**values: Callable[[Side, World], Any]) -> Fill:
    return lambda side, world: {key: fn(side, world) for key, fn in values.items()}


SUB = _(pk=lambda s, w: s.submitted.pk)
DRAFT = _(pk=lambda s, w: s.draft.pk)
APPROVED = _(pk=lambda s, w: s.approved.pk)
PLAN = _(code=lambda s, w: s.plan.code)
SECTION = _(code=lambda s, w: s.plan.code, section=lambda s, w: s.section.code)
WORK_ITEM = _(code=lambda s, w: s.plan.code, pk=lambda s, w: s.work_item.pk)
TARGET = _(code=lambda s, w: s.plan.code, target=lambda s, w: s.target.code)
MILESTONE = _(code=lambda s, w: s.plan.code, target=lambda s, w: s.milestone.code)
NOTE = _(code=lambda s, w: s.plan.code, target=lambda s, w: s.milestone.code, pk=lambda s, w: s.note.pk)
JOB = _(pk=lambda s, w: s.job.pk)
SCHOOL = _(code=lambda s, w: s.school.code)
DISTRICT = _(code=lambda s, w: s.district.code)
KIND = _(code=lambda s, w: w.kind.code)
DESIGNATION = _(pk=lambda s, w: s.designation.pk)
PK_DESIGNATION = _(pk=lambda s, w: s.designation.pk)
DESIGNATION_FILE = _(pk=lambda s, w: s.designation.pk, which=lambda s, w: "grant")
FIGURE = _(code=lambda s, w: w.figure.code)
RULE = _(pk=lambda s, w: w.rule.pk)
PERIOD = _(code=lambda s, w: w.q1.code)
INDICATOR = _(code=lambda s, w: w.indicator.code)
IND_VALUE = _(code=lambda s, w: w.indicator.code, unit=lambda s, w: s.school.code, period=lambda s, w: w.q1.code)
# Lists default to the current quarter (2023Q4, empty): the leak check needs the quarter with rows.
Q1 = _(period=lambda s, w: w.q1.code)
Q1_PK = _(period=lambda s, w: w.q1.pk)  # the submission list's filter takes the period's id
PLAN_DRAFT = _(pk=lambda s, w: w.plan_draft.pk)
CATALOGUE_ENTRY = _(code=lambda s, w: "kg_3yr_rate")  # reads figures the world does not define: no conflict
REPORT_TARGET = _(plan=lambda s, w: s.plan.code, code=lambda s, w: s.target.code)


# Users and memberships: side A's principal is alice (S1), side B's bob (S3).
def _principal(side: Side) -> str:
    return "alice" if side.school.code == "S1" else "bob"


def _principal_membership(side: Side) -> int:
    from schools.models import Membership

    return Membership.objects.get(user__username=_principal(side), org_unit=side.school).pk


_PRINCIPAL = _(username=lambda s, w: _principal(s))
_PRINCIPAL_MEMBERSHIP = _(username=lambda s, w: _principal(s), pk=lambda s, w: _principal_membership(s))
_MEMBERSHIP = _(pk=lambda s, w: _principal_membership(s))
_USER_NEW = _(username=lambda s, w: f"new_{s.school.code}", org_unit=lambda s, w: s.school.pk,
              role=lambda s, w: "principal", is_active=lambda s, w: "on")  # fmt: skip
_USER_EDIT = _(username=lambda s, w: _principal(s), name=lambda s, w: "改名校长", email=lambda s, w: "",
               is_active=lambda s, w: "on")  # fmt: skip


def _alice_note(side: Side | None, world: World) -> int:
    """An unread notification of alice's (made inside the cell's transaction, so each cell starts unread)."""
    from notifications.models import Kind, Notification

    note, _created = Notification.objects.get_or_create(
        user=world.users.alice, key="matrix", defaults={"kind": Kind.APPROVED, "title": "matrix"}
    )
    return note.pk


ALICE_NOTE = lambda s, w: {"pk": _alice_note(s, w)}  # noqa: E731
ALICE_UNREAD = lambda s, w: _alice_note(s, w) and {}  # noqa: E731


def _action(action: str, which: str) -> Fill:
    return lambda s, w: {"pk": getattr(s, which).pk, "action": action}


def _file(content: bytes, name: str) -> io.BytesIO:
    stream = io.BytesIO(content)
    stream.name = name
    return stream


def _values(s: Side, w: World) -> dict[str, Any]:
    return {"version": s.draft.version, "values": {"pri_new_entrants": 12, "pri_enrolled": 500}}


# --- The rule table ---
# fmt: off
RULES: list[Rule] = [
    # ---- project pages                      anon alice bob rita rob ivan bea
    *R("favicon", "GET", "-",                 "301= 301= 301= 301= 301= 301= 301="),
    *R("favicon", "POST", "-",                "405= 405= 405= 405= 405= 405= 405="),
    *R("home", "GET", "-",                    "L 200 200 200 200 200 200"),
    *R("home", "POST", "-",                   "L 200= 200= 200= 200= 200= 200="),
    *R("profile", "GET", "-",                 "L 200 200 200 200 200 200"),
    *R("profile", "POST", "-",                "L 200= 200= 200= 200= 200= 200="),
    *R("token_create", "GET", "-",            "L 405 405 405 405 405 405"),
    *R("token_create", "POST", "-",           "L 302 302 302 302 302 302"),
    *R("token_revoke", "GET", "-",            "L 405 405 405 405 405 405"),
    *R("token_revoke", "POST", "-",           "L 302 302 302 302 302 302"),
    *R("login", "GET", "-",                   "200 302 302 302 302 302 302"),
    *R("login", "POST", "-",                  "200= 302= 302= 302= 302= 302= 302=",
       data=_(username=lambda s, w: "alice", password=lambda s, w: "wrong-password")),
    *R("logout", "GET", "-",                  "405 405 405 405 405 405 405"),
    *R("logout", "POST", "-",                 "L L L L L L L"),
    *R("password_change", "GET", "-",         "L 200 200 200 200 200 200"),
    *R("password_change", "POST", "-",        "L 200= 200= 200= 200= 200= 200=",
       data=_(old_password=lambda s, w: "wrong", new_password1=lambda s, w: "x", new_password2=lambda s, w: "x")),
    *R("password_change_done", "GET", "-",    "L 200 200 200 200 200 200"),
    *R("password_change_done", "POST", "-",   "L 405 405 405 405 405 405"),
    *R("set_language", "GET", "-",            "302= 302= 302= 302= 302= 302= 302="),
    *R("set_language", "POST", "-",           "302= 302= 302= 302= 302= 302= 302=",
       data=_(language=lambda s, w: "en")),
    *R("api_schema", "GET", "-",              "401 200 200 200 200 200 200"),
    *R("api_schema", "POST", "-",             "401 405 405 405 405 405 405"),
    *R("api_docs", "GET", "-",                "401 200 200 200 200 200 200"),
    *R("api_docs", "POST", "-",               "401 405 405 405 405 405 405"),
    # Prometheus: a bureau-wide administrator (or the METRICS_TOKEN bearer), nobody else.
    *R("metrics", "GET", "-",                 "403 403 403 403 403 403 200"),
    *R("metrics", "POST", "-",                "405 405 405 405 405 405 405"),

    # ---- schools                             anon alice bob rita rob ivan bea
    *R("schools:orgunit_list", "GET", "-",    "L 200 200 200 200 200 200"),
    *R("schools:orgunit_list", "POST", "-",   "L 405 405 405 405 405 405"),
    # The unit pickers' search: every signed-in user, results filtered to their scope (the leak check).
    *R("schools:unit_search", "GET", "-",     "L 200 200 200 200 200 200", query=_(q=lambda s, w: "S")),
    *R("schools:unit_search", "POST", "-",    "L 405 405 405 405 405 405"),
    # Units: admins create under a unit they administer (bea, CITY's admin: under the district) and edit in scope.
    *R("schools:unit_create", "GET", "-",     "L 403 403 403 403 403 200"),
    *AB("schools:unit_create", "POST",
        a="L 403 403 403 403 403 302",
        b="L 403 403 403 403 403 302",
        data=_(code=lambda s, w: "NEWP", name=lambda s, w: "新学校", level=lambda s, w: "school",
               parent=lambda s, w: s.district.pk, school_type=lambda s, w: "primary")),
    *AB("schools:unit_edit", "GET",
        a="L 403 404 403 404 403 200",
        b="L 404 403 404 403 403 200", kwargs=SCHOOL),
    *AB("schools:unit_edit", "POST",
        a="L 403 404 403 404 403 302",
        b="L 404 403 404 403 403 302", kwargs=SCHOOL,
        data=lambda s, w: {"code": s.school.code, "name": "改名学校", "level": "school",
                           "parent": s.school.parent_id, "school_type": "primary", "is_active": "on"}),
    # Designations: everyone reads grants in scope and the kinds; kinds are written by bureau-wide admins,
    # grants and revocations by admins of the unit (a grant outside the reader's scope is a 404).
    *R("schools:designation_list", "GET", "-",  "L 200 200 200 200 200 200"),
    *R("schools:designation_list", "POST", "-", "L 405 405 405 405 405 405"),
    *R("schools:designation_kinds", "GET", "-", "L 200 200 200 200 200 200"),
    *R("schools:designation_kinds", "POST", "-", "L 403 403 403 403 403 302",
       data=_(code=lambda s, w: "kind-new", name=lambda s, w: "新类别")),
    *R("schools:designation_kind_edit", "GET", "-",  "L 403 403 403 403 403 200", kwargs=KIND),
    *R("schools:designation_kind_edit", "POST", "-", "L 403 403 403 403 403 302", kwargs=KIND,
       data=_(code=lambda s, w: w.kind.code, name=lambda s, w: "改名类别")),
    *R("schools:designation_grant", "GET", "-", "L 403 403 403 403 403 200"),
    *AB("schools:designation_grant", "POST",
        a="L 403 403 403 403 403 302",
        b="L 403 403 403 403 403 302",
        data=_(org_unit=lambda s, w: s.school.pk, kind=lambda s, w: w.kind.pk, granted_on=lambda s, w: "2023-06-01")),
    *AB("schools:designation_revoke", "GET",
        a="L 403 404 403 404 403 200",
        b="L 404 403 404 403 403 200", kwargs=DESIGNATION),
    *AB("schools:designation_revoke", "POST",
        a="L 403 404 403 404 403 302",
        b="L 404 403 404 403 403 302", kwargs=DESIGNATION, data=_(revoked_on=lambda s, w: "2023-09-01")),
    # The matrix's grants carry no file: 404 for everyone signed in (scope: tests/schools/test_designation_pages.py).
    *AB("schools:designation_evidence", "GET",
        a="L 404 404 404 404 404 404",
        b="L 404 404 404 404 404 404", kwargs=DESIGNATION_FILE),
    *AB("schools:designation_evidence", "POST",
        a="L 405 405 405 405 405 405",
        b="L 405 405 405 405 405 405", kwargs=DESIGNATION_FILE),
    *R("schools:designation_import", "GET", "-",  "L 403 403 403 403 403 200"),
    *R("schools:designation_import", "POST", "-", "L 403 403 403 403 403 200="),
    *R("schools:designation_import_template", "GET", "-",  "L 403 403 403 403 403 200"),
    *R("schools:designation_import_template", "POST", "-", "L 405 405 405 405 405 405"),

    # ---- plans (the document is public to signed-in users; editing needs admin of the owner unit)
    *R("plans:plan_list", "GET", "-",         "L 200 200 200 200 200 200"),
    *R("plans:plan_list", "POST", "-",        "L 405 405 405 405 405 405"),
    *R("plans:plan_create", "GET", "-",       "L 403 403 403 403 403 200"),
    *R("plans:plan_create", "POST", "-",      "L 403 403 403 403 403 302",
       data=_(code=lambda s, w: "plan-new", title=lambda s, w: "新计划", year=lambda s, w: 2024,
              owner_unit=lambda s, w: w.tree.city.pk, status=lambda s, w: "draft")),
    *R("plans:plan_import", "GET", "-",       "L 403 403 403 403 403 200"),
    *R("plans:plan_import", "POST", "-",      "L 403 403 403 403 403 200="),
    # Plan drafts: bureau admins only; a draft is its author's (bea's here).
    *R("plans:draft_create", "GET", "-",      "L 403 403 403 403 403 200"),
    *R("plans:draft_create", "POST", "-",     "L 403 403 403 403 403 302", data=_(text=lambda s, w: PLAN_TEXT)),
    *R("plans:draft_review", "GET", "-",      "L 403 403 403 403 403 200", kwargs=PLAN_DRAFT),
    *R("plans:draft_review", "POST", "-",     "L 403 403 403 403 403 302", kwargs=PLAN_DRAFT,
       data=lambda s, w: {"version": w.plan_draft.version, "title": "改名", "action": "save"}),
    *R("plans:my_targets", "GET", "-",        "L 200 200 200 200 200 200"),
    *R("plans:my_targets", "POST", "-",       "L 200= 200= 200= 200= 200= 200="),
    *AB("plans:plan_detail", "GET",
        a="L 200 200 200 200 200 200",
        b="L 200 200 200 200 200 200", kwargs=PLAN),
    *AB("plans:plan_detail", "POST",
        a="L 200= 200= 200= 200= 200= 200=",
        b="L 200= 200= 200= 200= 200= 200=", kwargs=PLAN),
    *AB("plans:plan_update", "GET",
        a="L 403 403 403 403 403 200",
        b="L 403 403 403 403 403 200", kwargs=PLAN),
    *AB("plans:plan_update", "POST",
        a="L 403 403 403 403 403 302",
        b="L 403 403 403 403 403 302", kwargs=PLAN,
        data=lambda s, w: {"code": s.plan.code, "title": "改名", "year": 2023, "owner_unit": s.district.pk,
                           "status": "draft"}),
    *AB("plans:plan_copy", "GET",
        a="L 403 403 403 403 403 200",
        b="L 403 403 403 403 403 200", kwargs=PLAN),
    *AB("plans:plan_copy", "POST",
        a="L 403 403 403 403 403 302",
        b="L 403 403 403 403 403 302", kwargs=PLAN,
        data=_(code=lambda s, w: "plan-copy", year=lambda s, w: 2024, title=lambda s, w: "下一年")),
    *AB("plans:plan_export", "GET",
        a="L 403 403 403 403 403 200",
        b="L 403 403 403 403 403 200", kwargs=PLAN),
    *AB("plans:plan_export", "POST",
        a="L 403 403 403 403 403 200=",
        b="L 403 403 403 403 403 200=", kwargs=PLAN),
    *AB("plans:section_create", "GET",
        a="L 403 403 403 403 403 200",
        b="L 403 403 403 403 403 200", kwargs=PLAN),
    *AB("plans:section_create", "POST",
        a="L 403 403 403 403 403 302",
        b="L 403 403 403 403 403 302", kwargs=PLAN,
        data=_(code=lambda s, w: "quality", title=lambda s, w: "教育质量", order=lambda s, w: 2)),
    *AB("plans:section_update", "GET",
        a="L 403 403 403 403 403 200",
        b="L 403 403 403 403 403 200", kwargs=SECTION),
    *AB("plans:section_update", "POST",
        a="L 403 403 403 403 403 302",
        b="L 403 403 403 403 403 302", kwargs=SECTION,
        data=_(code=lambda s, w: "equity", title=lambda s, w: "教育公平（改）", order=lambda s, w: 1)),
    *AB("plans:workitem_create", "GET",
        a="L 403 403 403 403 403 200",
        b="L 403 403 403 403 403 200", kwargs=PLAN),
    *AB("plans:workitem_create", "POST",
        a="L 403 403 403 403 403 302",
        b="L 403 403 403 403 403 302", kwargs=PLAN,
        data=_(section=lambda s, w: s.section.pk, number=lambda s, w: 2, title=lambda s, w: "新任务")),
    *AB("plans:workitem_update", "GET",
        a="L 403 403 403 403 403 200",
        b="L 403 403 403 403 403 200", kwargs=WORK_ITEM),
    *AB("plans:workitem_update", "POST",
        a="L 403 403 403 403 403 302",
        b="L 403 403 403 403 403 302", kwargs=WORK_ITEM,
        data=_(section=lambda s, w: s.section.pk, number=lambda s, w: 1, title=lambda s, w: "改名")),
    *AB("plans:target_create", "GET",
        a="L 403 403 403 403 403 200",
        b="L 403 403 403 403 403 200", kwargs=PLAN),
    *AB("plans:target_create", "POST",
        a="L 403 403 403 403 403 302",
        b="L 403 403 403 403 403 302", kwargs=PLAN,
        data=_(section=lambda s, w: s.section.pk, code=lambda s, w: "new-narrative", text=lambda s, w: "深入推进改革",
               kind=lambda s, w: "narrative", path_mode=lambda s, w: "linear", at_risk_margin=lambda s, w: "0.05",
               order=lambda s, w: 5)),
    *AB("plans:target_preview", "GET",
        a="L 403 403 403 403 403 200",
        b="L 403 403 403 403 403 200", kwargs=PLAN),
    *AB("plans:target_preview", "POST",
        a="L 403 403 403 403 403 200=",
        b="L 403 403 403 403 403 200=", kwargs=PLAN),
    *AB("plans:target_update", "GET",
        a="L 403 403 403 403 403 200",
        b="L 403 403 403 403 403 200", kwargs=TARGET),
    *AB("plans:target_update", "POST",
        a="L 403 403 403 403 403 200=",
        b="L 403 403 403 403 403 200=", kwargs=TARGET, data=_(preview=lambda s, w: "1")),
    *AB("plans:target_path", "GET",
        a="L 403 403 403 403 403 200",
        b="L 403 403 403 403 403 200", kwargs=TARGET),
    *AB("plans:target_path", "POST",
        a="L 403 403 403 403 403 200=",
        b="L 403 403 403 403 403 200=", kwargs=TARGET),
    # Progress notes: the owner school's principal writes, reviewers of the scope read, admins review.
    *AB("plans:target_notes", "GET",
        a="L 200 404 200 404 200 200",
        b="L 404 200 404 200 200 200", kwargs=MILESTONE),
    *AB("plans:target_notes", "POST",
        a="L 302 404 403 404 403 302",
        b="L 404 302 404 403 403 302", kwargs=MILESTONE, data=_(text=lambda s, w: "已完成主体结构")),
    *AB("plans:note_review", "GET",
        a="L 405 405 405 405 405 405",
        b="L 405 405 405 405 405 405", kwargs=NOTE),
    *AB("plans:note_review", "POST",
        a="L 403 403 403 403 403 302",
        b="L 403 403 403 403 403 302", kwargs=NOTE, data=_(decision=lambda s, w: "accept")),
    # The matrix's notes carry no file: 404 for everyone signed in (scope: tests/targets/test_note_evidence.py).
    *AB("plans:note_evidence", "GET",
        a="L 404 404 404 404 404 404",
        b="L 404 404 404 404 404 404", kwargs=NOTE),
    *AB("plans:note_evidence", "POST",
        a="L 405 405 405 405 405 405",
        b="L 405 405 405 405 405 405", kwargs=NOTE),

    # ---- submissions                         anon alice bob rita rob ivan bea
    *R("submissions:submission_list", "GET", "-",   "L 200 200 200 200 200 200", query=Q1_PK),
    *R("submissions:submission_list", "POST", "-",  "L 405 405 405 405 405 405"),
    *R("submissions:my_submissions", "GET", "-",    "L 200 200 200 200 200 200"),
    *R("submissions:my_submissions", "POST", "-",   "L 200= 200= 200= 200= 200= 200="),
    *AB("submissions:submission_open", "GET",
        a="L 405 405 405 405 405 405",
        b="L 405 405 405 405 405 405"),
    *AB("submissions:submission_open", "POST",
        a="L 302 403 403 403 403 302",
        b="L 403 302 403 403 403 302",
        data=_(org_unit=lambda s, w: s.school.code, period=lambda s, w: w.q4.code)),
    *R("submissions:review_list", "GET", "-",       "L 403 403 200 200 403 200", query=Q1_PK),
    *R("submissions:review_list", "POST", "-",      "L 403 403 405 405 403 405"),
    *AB("submissions:review_bulk_approve", "GET",
        a="L 405 405 405 405 405 405",
        b="L 405 405 405 405 405 405"),
    # Bulk approval filters the ticked ids by the review scope: an outsider's ids are silently dropped.
    *AB("submissions:review_bulk_approve", "POST",
        a="L 302= 302= 302 302= 302= 302",
        b="L 302= 302= 302= 302 302= 302", data=_(ids=lambda s, w: [s.submitted.pk])),
    *R("submissions:completeness", "GET", "-",      "L 200 200 200 200 200 200", query=Q1),
    *R("submissions:completeness", "POST", "-",     "L 200= 200= 200= 200= 200= 200="),
    *AB("submissions:submission_detail", "GET",
        a="L 200 404 200 404 200 200",
        b="L 404 200 404 200 200 200", kwargs=SUB),
    *AB("submissions:submission_detail", "POST",
        a="L 302 404 403 404 403 302",
        b="L 404 302 404 403 403 302", kwargs=DRAFT,
        data=lambda s, w: {"version": s.draft.version, "v_pri_new_entrants": "12", "v_pri_enrolled": "500"}),
    # Checking the form as one types: the same scope as a save, a 200 that writes nothing.
    *AB("submissions:submission_check", "GET",
        a="L 405 405 405 405 405 405",
        b="L 405 405 405 405 405 405", kwargs=DRAFT),
    *AB("submissions:submission_check", "POST",
        a="L 200= 404 403 404 403 200=",
        b="L 404 200= 404 403 403 200=", kwargs=DRAFT,
        data=lambda s, w: {"version": s.draft.version, "v_pri_new_entrants": "12", "v_pri_enrolled": "500"}),
    *AB("submissions:submission_action", "GET",
        a="L 405 405 405 405 405 405",
        b="L 405 405 405 405 405 405", kwargs=_action("approve", "submitted")),
    # Out of scope is a 404, as a missing id is (issue 16); visible but not allowed is a 403.
    *AB("submissions:submission_action", "POST",
        a="L 302 404 403 404 403 302",
        b="L 404 302 404 403 403 302", kwargs=_action("submit", "draft")),
    *AB("submissions:submission_action", "POST",
        a="L 403 404 302 404 403 302",
        b="L 404 403 404 302 403 302", kwargs=_action("approve", "submitted")),
    *AB("submissions:submission_action", "POST",
        a="L 403 404 302 404 403 302",
        b="L 404 403 404 302 403 302", kwargs=_action("return", "submitted"), data=_(reason=lambda s, w: "请核实")),
    *AB("submissions:submission_action", "POST",
        a="L 403 404 403 404 403 302",
        b="L 404 403 404 403 403 302", kwargs=_action("reopen", "approved"), data=_(reason=lambda s, w: "更正")),
    *AB("submissions:submission_action", "POST",
        a="L 403 404 403 404 403 403",
        b="L 404 403 404 403 403 403", kwargs=_action("delete", "submitted")),
    *R("submissions:figure_list", "GET", "-",       "L 403 403 403 403 403 200"),
    *R("submissions:figure_list", "POST", "-",      "L 403 403 403 403 403 405"),
    *R("submissions:figure_create", "GET", "-",     "L 403 403 403 403 403 200"),
    *R("submissions:figure_create", "POST", "-",    "L 403 403 403 403 403 302",
       data=_(code=lambda s, w: "new_fig", name=lambda s, w: "新填报项", value_type=lambda s, w: "integer",
              time_aggregation=lambda s, w: "flow", unit_aggregation=lambda s, w: "sum", order=lambda s, w: 9,
              is_active=lambda s, w: "on", min_value=lambda s, w: "0")),
    *R("submissions:figure_update", "GET", "-",     "L 403 403 403 403 403 200", kwargs=FIGURE),
    *R("submissions:figure_update", "POST", "-",    "L 403 403 403 403 403 302", kwargs=FIGURE,
       data=_(code=lambda s, w: w.figure.code, name=lambda s, w: "改名", value_type=lambda s, w: "integer",
              time_aggregation=lambda s, w: "flow", unit_aggregation=lambda s, w: "sum", order=lambda s, w: 1,
              is_active=lambda s, w: "on", reported_by_school_types=lambda s, w: ["primary"])),
    *R("submissions:rule_list", "GET", "-",         "L 403 403 403 403 403 200"),
    *R("submissions:rule_list", "POST", "-",        "L 403 403 403 403 403 405"),
    *R("submissions:rule_create", "GET", "-",       "L 403 403 403 403 403 200"),
    *R("submissions:rule_create", "POST", "-",      "L 403 403 403 403 403 302",
       data=_(code=lambda s, w: "new_rule", name=lambda s, w: "新规则", left=lambda s, w: "pri_enrolled",
              operator=lambda s, w: "<=", right=lambda s, w: "5000", severity=lambda s, w: "error",
              message=lambda s, w: "过大", is_active=lambda s, w: "on")),
    *R("submissions:rule_update", "GET", "-",       "L 403 403 403 403 403 200", kwargs=RULE),
    *R("submissions:rule_update", "POST", "-",      "L 403 403 403 403 403 302", kwargs=RULE,
       data=_(code=lambda s, w: w.rule.code, name=lambda s, w: "改名", left=lambda s, w: "pri_new_entrants",
              operator=lambda s, w: "<=", right=lambda s, w: "pri_enrolled", severity=lambda s, w: "error",
              message=lambda s, w: "新生数不能超过在校生数", is_active=lambda s, w: "on")),
    *R("submissions:period_list", "GET", "-",       "L 403 403 403 403 403 200"),
    *R("submissions:period_list", "POST", "-",      "L 403 403 403 403 403 405"),
    *R("submissions:period_create", "GET", "-",     "L 403 403 403 403 403 200"),
    *R("submissions:period_create", "POST", "-",    "L 403 403 403 403 403 302",
       data=_(code=lambda s, w: "2024Q1", opens_on=lambda s, w: "2024-01-01", due_on=lambda s, w: "2024-04-10",
              locks_on=lambda s, w: "2024-04-30")),
    *R("submissions:period_update", "GET", "-",     "L 403 403 403 403 403 200", kwargs=PERIOD),
    *R("submissions:period_update", "POST", "-",    "L 403 403 403 403 403 302", kwargs=PERIOD,
       data=_(code=lambda s, w: w.q1.code, opens_on=lambda s, w: "2023-01-01", due_on=lambda s, w: "2099-12-30",
              locks_on=lambda s, w: "2099-12-31")),
    *AB("submissions:period_exception_create", "GET",
        a="L 405 405 405 405 405 405",
        b="L 405 405 405 405 405 405", kwargs=PERIOD),
    *AB("submissions:period_exception_create", "POST",
        a="L 403 403 403 403 403 302",
        b="L 403 403 403 403 403 302", kwargs=PERIOD,
        data=_(org_unit=lambda s, w: s.school.code, reason=lambda s, w: "补报")),
    *AB("submissions:template_download", "GET",
        a="L 200 404 200 404 403 200",
        b="L 404 200 404 200 403 200", query=_(period=lambda s, w: w.q1.code, unit=lambda s, w: s.school.code)),
    *AB("submissions:template_download", "POST",
        a="L 405 405 405 405 405 405",
        b="L 405 405 405 405 405 405", query=_(period=lambda s, w: w.q1.code, unit=lambda s, w: s.school.code)),
    *AB("submissions:template_upload", "GET",
        a="L 200 404 200 404 200 200",
        b="L 404 200 404 200 200 200", query=_(unit=lambda s, w: s.school.code)),
    # The school's own signed template (one value filled in), uploaded without naming a unit: only a
    # user who may submit for that school stores it.
    *AB("submissions:template_upload", "POST",
        a="L 200 403 403 403 403 200",
        b="L 403 200 403 403 403 200",
        data=lambda s, w: {"period": w.q2.code, "file": _file(s.template, "t.xlsx")}),

    # ---- targets (indicator definitions are shared; values are scoped)
    *R("indicators:indicator_list", "GET", "-",        "L 200 200 200 200 200 200"),
    *R("indicators:indicator_list", "POST", "-",       "L 405 405 405 405 405 405"),
    *R("indicators:indicator_create", "GET", "-",      "L 403 403 403 403 403 200"),
    *R("indicators:indicator_create", "POST", "-",     "L 403 403 403 403 403 302",
       data=_(code=lambda s, w: "enrolled_sum", name=lambda s, w: "在校生数", aggregation=lambda s, w: "sum",
              numerator=lambda s, w: "pri_enrolled", factor=lambda s, w: "1", decimals=lambda s, w: "0",
              is_active=lambda s, w: "on")),
    *R("indicators:catalogue", "GET", "-",             "L 200 200 200 200 200 200"),
    *R("indicators:catalogue", "POST", "-",            "L 200= 200= 200= 200= 200= 200="),
    *R("indicators:catalogue_install", "GET", "-",     "L 405 405 405 405 405 405", kwargs=CATALOGUE_ENTRY),
    *R("indicators:catalogue_install", "POST", "-",    "L 403 403 403 403 403 302", kwargs=CATALOGUE_ENTRY),
    *R("indicators:indicator_detail", "GET", "-",      "L 200 200 200 200 200 200", kwargs=INDICATOR),
    *R("indicators:indicator_detail", "POST", "-",     "L 200= 200= 200= 200= 200= 200=", kwargs=INDICATOR),
    *R("indicators:indicator_update", "GET", "-",      "L 403 403 403 403 403 200", kwargs=INDICATOR),
    *R("indicators:indicator_update", "POST", "-",     "L 403 403 403 403 403 302", kwargs=INDICATOR,
       data=_(code=lambda s, w: w.indicator.code, name=lambda s, w: "新生占比（改）", aggregation=lambda s, w: "ratio",
              numerator=lambda s, w: "pri_new_entrants", denominator=lambda s, w: "pri_enrolled",
              factor=lambda s, w: "100", decimals=lambda s, w: "1", is_active=lambda s, w: "on")),
    *AB("indicators:indicator_value_detail", "GET",
        a="L 200 404 200 404 200 200",
        b="L 404 200 404 200 200 200", kwargs=IND_VALUE),
    *AB("indicators:indicator_value_detail", "POST",
        a="L 200= 404 200= 404 200= 200=",
        b="L 404 200= 404 200= 200= 200=", kwargs=IND_VALUE),

    # ---- reports                             anon alice bob rita rob ivan bea
    *AB("reports:dashboard", "GET",
        a="L 200 404 200 404 200 200",
        b="L 404 200 404 200 200 200", query=_(scope=lambda s, w: s.school.code)),
    *AB("reports:dashboard", "POST",
        a="L 200= 404 200= 404 200= 200=",
        b="L 404 200= 404 200= 200= 200=", query=_(scope=lambda s, w: s.school.code)),
    *AB("reports:unit_detail", "GET",
        a="L 200 404 200 404 200 200",
        b="L 404 200 404 200 200 200", kwargs=SCHOOL),
    *AB("reports:unit_detail", "POST",
        a="L 200= 404 200= 404 200= 200=",
        b="L 404 200= 404 200= 200= 200=", kwargs=SCHOOL),
    # The equity view is a county's (a district's): its principals' scope is their school, a 404.
    *AB("reports:unit_equity", "GET",
        a="L 404 404 200 404 200 200",
        b="L 404 404 404 200 200 200", kwargs=DISTRICT),
    *AB("reports:unit_equity", "POST",
        a="L 404 404 200= 404 200= 200=",
        b="L 404 404 404 200= 200= 200=", kwargs=DISTRICT),
    # A principal opens a district target at their own school; the other district's target is a 404.
    *AB("reports:target_detail", "GET",
        a="L 200 404 200 404 200 200",
        b="L 404 200 404 200 200 200", kwargs=REPORT_TARGET),
    *AB("reports:target_detail", "POST",
        a="L 405 405 405 405 405 405",
        b="L 405 405 405 405 405 405", kwargs=REPORT_TARGET),
    # Principals read but do not export (403 in their own scope, 404 outside it).
    *AB("reports:plan_export", "GET",
        a="L 403 404 200 404 200 200",
        b="L 404 403 404 200 200 200", query=lambda s, w: {"plan": s.plan.code, "scope": s.school.code}),
    *AB("reports:plan_export", "POST",
        a="L 403 404 200= 404 200= 200=",
        b="L 404 403 404 200= 200= 200=", query=lambda s, w: {"plan": s.plan.code, "scope": s.school.code}),
    *AB("reports:export_job", "GET",
        a="L 404 404 200 404 200 200",
        b="L 404 404 404 200 200 200", kwargs=JOB),
    *AB("reports:export_job", "POST",
        a="L 404 404 200= 404 200= 200=",
        b="L 404 404 404 200= 200= 200=", kwargs=JOB),
    *AB("reports:export_download", "GET",
        a="L 404 404 200 404 200 200",
        b="L 404 404 404 200 200 200", kwargs=JOB),
    *AB("reports:export_download", "POST",
        a="L 404 404 200= 404 200= 200=",
        b="L 404 404 404 200= 200= 200=", kwargs=JOB),
    # The quarterly bulletin: a POST that records a job (302 to its page); principals read but do not export.
    *AB("reports:bulletin", "GET",
        a="L 405 405 405 405 405 405",
        b="L 405 405 405 405 405 405"),
    *AB("reports:bulletin", "POST",
        a="L 403 404 302 404 302 302",
        b="L 404 403 404 302 302 302", data=lambda s, w: {"plan": s.plan.code, "scope": s.school.code}),

    # ---- API v1: org units and designations    anon alice bob rita rob ivan bea
    *R("org-unit-list", "GET", "-",                 "401 200 200 200 200 200 200"),
    *AB("org-unit-list", "POST",
        a="401 403 403 403 403 403 201",
        b="401 403 403 403 403 403 201",
        data=lambda s, w: {"code": "NEW1", "name": "新学校", "level": "school", "parent": s.district.code,
                           "school_type": "primary"}),
    *AB("org-unit-detail", "GET",
        a="401 200 404 200 404 200 200",
        b="401 404 200 404 200 200 200", kwargs=SCHOOL),
    *AB("org-unit-detail", "PATCH",
        a="401 403 403 403 403 403 200",
        b="401 403 403 403 403 403 200", kwargs=SCHOOL, data=_(name=lambda s, w: "改名学校")),
    *R("designation-list", "GET", "-",              "401 200 200 200 200 200 200"),
    *AB("designation-detail", "GET",
        a="401 200 404 200 404 200 200",
        b="401 404 200 404 200 200 200", kwargs=PK_DESIGNATION),
    *AB("designation-revoke", "POST",
        a="401 403 404 403 404 403 200",
        b="401 404 403 404 403 403 200", kwargs=PK_DESIGNATION, data=_(revoked_on=lambda s, w: "2023-09-01")),
    *R("designation-import-workbook", "POST", "-",  "401 403 403 403 403 403 400="),
    *R("designation-kind-list", "GET", "-",         "401 200 200 200 200 200 200"),
    *R("designation-kind-list", "POST", "-",        "401 403 403 403 403 403 201",
       data=_(code=lambda s, w: "api-kind", name=lambda s, w: "接口类别", levels=lambda s, w: ["province"])),
    *R("designation-kind-detail", "GET", "-",       "401 200 200 200 200 200 200", kwargs=KIND),
    *R("designation-kind-detail", "PATCH", "-",     "401 403 403 403 403 403 200", kwargs=KIND,
       data=_(name=lambda s, w: "改名类别")),

    # ---- API v1: the audit trail (administrators; objects without a unit: bureau-wide ones only)
    *AB("audit-list", "GET",
        a="401 403 403 403 403 403 200",
        b="401 403 403 403 403 403 200", query=_(model=lambda s, w: "org_unit", object=lambda s, w: s.school.code)),
    *R("audit-list", "GET", "-",                    "401 403 403 403 403 403 200",
       query=_(model=lambda s, w: "figure", object=lambda s, w: w.figure.code)),
    *R("audit-list", "POST", "-",                   "401 405 405 405 405 405 405"),
    *AB("designation-list", "POST",
        a="401 403 403 403 403 403 201",
        b="401 403 403 403 403 403 201",
        data=lambda s, w: {"org_unit": s.school.code, "kind": w.kind.code, "granted_on": "2023-06-01"}),

    # ---- API v1: figures, periods, submissions
    *R("figure-list", "GET", "-",                   "401 200 200 200 200 200 200"),
    *R("figure-list", "POST", "-",                  "401 403 403 403 403 403 201",
       data=_(code=lambda s, w: "api_fig", name=lambda s, w: "接口填报项")),
    *R("figure-detail", "GET", "-",                 "401 200 200 200 200 200 200", kwargs=FIGURE),
    *R("figure-detail", "PATCH", "-",               "401 403 403 403 403 403 200", kwargs=FIGURE,
       data=_(name=lambda s, w: "改名")),
    *R("period-list", "GET", "-",                   "401 200 200 200 200 200 200"),
    *R("period-list", "POST", "-",                  "401 403 403 403 403 403 201",
       data=_(code=lambda s, w: "2024Q2", opens_on=lambda s, w: "2024-04-01", due_on=lambda s, w: "2024-07-10",
              locks_on=lambda s, w: "2024-07-31")),
    *R("period-detail", "GET", "-",                 "401 200 200 200 200 200 200", kwargs=PERIOD),
    *R("period-detail", "PATCH", "-",               "401 403 403 403 403 403 200", kwargs=PERIOD,
       data=_(due_on=lambda s, w: "2099-12-01")),
    *R("submission-list", "GET", "-",               "401 200 200 200 200 200 200"),
    *AB("submission-list", "POST",
        a="401 201 400 403 400 403 201",
        b="401 400 201 400 403 403 201",
        data=_(org_unit=lambda s, w: s.school.code, period=lambda s, w: w.q4.code)),
    *AB("submission-detail", "GET",
        a="401 200 404 200 404 200 200",
        b="401 404 200 404 200 200 200", kwargs=SUB),
    *AB("submission-detail", "PATCH",
        a="401 200 403 403 403 403 200",
        b="401 403 200 403 403 403 200", kwargs=DRAFT, data=_values),
    *AB("submission-submit", "POST",
        a="401 200 403 403 403 403 200",
        b="401 403 200 403 403 403 200", kwargs=DRAFT, data=lambda s, w: {"version": s.draft.version}),
    *AB("submission-approve", "POST",
        a="401 403 403 200 403 403 200",
        b="401 403 403 403 200 403 200", kwargs=SUB, data=lambda s, w: {"version": s.submitted.version}),
    *AB("submission-return-", "POST",
        a="401 403 403 200 403 403 200",
        b="401 403 403 403 200 403 200", kwargs=SUB,
        data=lambda s, w: {"version": s.submitted.version, "reason": "请核实"}),
    *AB("submission-reopen", "POST",
        a="401 403 403 403 403 403 200",
        b="401 403 403 403 403 403 200", kwargs=APPROVED,
        data=lambda s, w: {"version": s.approved.version, "reason": "更正"}),
    *AB("submission-history", "GET",
        a="401 200 404 200 404 200 200",
        b="401 404 200 404 200 200 200", kwargs=SUB),

    # ---- API v1: indicators, values, recompute
    *R("indicator-list", "GET", "-",                "401 200 200 200 200 200 200"),
    *R("indicator-list", "POST", "-",               "401 403 403 403 403 403 201",
       data=_(code=lambda s, w: "api_sum", name=lambda s, w: "在校生合计", aggregation=lambda s, w: "sum",
              numerator=lambda s, w: "pri_enrolled")),
    *R("indicator-detail", "GET", "-",              "401 200 200 200 200 200 200", kwargs=INDICATOR),
    *R("indicator-detail", "PATCH", "-",            "401 403 403 403 403 403 200", kwargs=INDICATOR,
       data=_(name=lambda s, w: "改名")),
    *R("indicator-value-list", "GET", "-",          "401 200 200 200 200 200 200"),
    *AB("indicator-value-explain", "GET",
        a="401 200 404 200 404 200 200",
        b="401 404 200 404 200 200 200",
        query=_(indicator=lambda s, w: w.indicator.code, org_unit=lambda s, w: s.school.code,
                period=lambda s, w: w.q1.code)),
    *AB("recompute", "POST",
        a="401 403 403 403 403 403 200",
        b="401 403 403 403 403 403 200", data=_(org_unit=lambda s, w: s.school.code)),
    *AB("recompute-job", "GET",
        a="401 404 404 404 404 404 200",
        b="401 404 404 404 404 404 200", kwargs=_(job=lambda s, w: s.recompute_job.pk)),

    *R("indicator-catalogue", "GET", "-",           "401 200 200 200 200 200 200"),
    *R("indicator-catalogue-install", "POST", "-",  "401 403 403 403 403 403 201", kwargs=CATALOGUE_ENTRY),

    # ---- API v1: plans and targets
    *R("api-plan-list", "GET", "-",                 "401 200 200 200 200 200 200"),
    *AB("api-plan-list", "POST",
        a="401 403 403 403 403 403 201",
        b="401 403 403 403 403 403 201",
        data=lambda s, w: {"code": "api-plan", "title": "新计划", "year": 2024, "owner_unit": s.district.code}),
    *AB("api-plan-detail", "GET",
        a="401 200 200 200 200 200 200",
        b="401 200 200 200 200 200 200", kwargs=PLAN),
    *AB("api-plan-sections", "GET",
        a="401 200 200 200 200 200 200",
        b="401 200 200 200 200 200 200", kwargs=PLAN),
    *AB("api-plan-sections", "POST",
        a="401 403 403 403 403 403 201",
        b="401 403 403 403 403 403 201", kwargs=PLAN, data=_(code=lambda s, w: "quality", title=lambda s, w: "质量")),
    # Work items are read like the plan's sections (every signed-in user); written by the plan's bureau staff.
    *AB("api-plan-work-items", "GET",
        a="401 200 200 200 200 200 200",
        b="401 200 200 200 200 200 200", kwargs=PLAN),
    *AB("api-plan-work-items", "POST",
        a="401 403 403 403 403 403 201",
        b="401 403 403 403 403 403 201", kwargs=PLAN,
        data=_(section=lambda s, w: "equity", title=lambda s, w: "新增任务")),
    *AB("api-plan-work-item", "GET",
        a="401 200 200 200 200 200 200",
        b="401 200 200 200 200 200 200", kwargs=WORK_ITEM),
    *AB("api-plan-work-item", "PATCH",
        a="401 403 403 403 403 403 200",
        b="401 403 403 403 403 403 200", kwargs=WORK_ITEM, data=_(title=lambda s, w: "改名")),
    # Progress notes as on the notes page: the owner school's principal writes, reviewers of the scope read.
    *AB("api-plan-target-notes", "GET",
        a="401 200 404 200 404 200 200",
        b="401 404 200 404 200 200 200", kwargs=MILESTONE),
    *AB("api-plan-target-notes", "POST",
        a="401 201 404 403 404 403 201",
        b="401 404 201 404 403 403 201", kwargs=MILESTONE, data=_(text=lambda s, w: "已完成主体结构")),
    *AB("api-plan-target-note-review", "POST",
        a="401 403 404 403 404 403 200",
        b="401 404 403 404 403 403 200", kwargs=NOTE, data=_(decision=lambda s, w: "accept")),
    *AB("api-plan-copy", "POST",
        a="401 403 403 403 403 403 201",
        b="401 403 403 403 403 403 201", kwargs=PLAN,
        data=_(code=lambda s, w: "api-copy", year=lambda s, w: 2024, title=lambda s, w: "下一年")),
    *AB("api-plan-targets", "GET",
        a="401 200 200 200 200 200 200",
        b="401 200 200 200 200 200 200", kwargs=PLAN),
    *AB("api-plan-targets", "POST",
        a="401 403 403 403 403 403 201",
        b="401 403 403 403 403 403 201", kwargs=PLAN,
        data=_(code=lambda s, w: "api-narrative", section=lambda s, w: "equity", text=lambda s, w: "深入推进",
               kind=lambda s, w: "narrative")),
    *R("api-plan-drafts", "POST", "-", "401 403 403 403 403 403 201", data=_(text=lambda s, w: PLAN_TEXT)),
    *R("api-plan-draft", "GET", "-", "401 403 403 403 403 403 200", kwargs=PLAN_DRAFT),
    *R("api-plan-draft", "PATCH", "-", "401 403 403 403 403 403 200", kwargs=PLAN_DRAFT,
       data=lambda s, w: {"version": w.plan_draft.version, "title": "改名"}),
    *R("api-plan-draft-commit", "POST", "-", "401 403 403 403 403 403 201", kwargs=PLAN_DRAFT),
    # Targets are scoped by their scope unit: a principal reads district targets on the report pages only.
    *AB("api-plan-target", "GET",
        a="401 404 404 200 404 200 200",
        b="401 404 404 404 200 200 200", kwargs=TARGET),
    *AB("api-plan-target", "PATCH",
        a="401 403 403 403 403 403 200",
        b="401 403 403 403 403 403 200", kwargs=TARGET,
        data=lambda s, w: {"version": s.target.version, "text": "改写的目标"}),
    *AB("api-plan-target-progress", "GET",
        a="401 404 404 200 404 200 200",
        b="401 404 404 404 200 200 200", kwargs=TARGET),

    # ---- API v1: Excel template and upload (the same signed template as the web page)
    *AB("api_submission_template", "GET",
        a="401 200 404 200 404 403 200",
        b="401 404 200 404 200 403 200", query=_(period=lambda s, w: w.q2.code, org_unit=lambda s, w: s.school.code)),
    *AB("api_submission_upload", "POST",
        a="401 200 403 403 403 403 200",
        b="401 403 200 403 403 403 200",
        data=lambda s, w: {"period": w.q2.code, "file": _file(s.template, "t.xlsx")}),

    # ---- API v1: exports
    *AB("api_plan_export", "GET",
        a="401 403 404 200 404 200 200",
        b="401 404 403 404 200 200 200", kwargs=PLAN, query=_(scope=lambda s, w: s.school.code)),
    *AB("api_export_job", "GET",
        a="401 404 404 200 404 200 200",
        b="401 404 404 404 200 200 200", kwargs=JOB),
    # A scope code in the body outside the caller's scope is a 400 (the API never confirms it exists).
    *AB("api_plan_bulletin", "POST",
        a="401 403 400 202 400 202 202",
        b="401 400 403 400 202 202 202", kwargs=PLAN, data=lambda s, w: {"scope": s.school.code}),

    # ---- notifications: a user's own, whatever the side (alice owns the one in the URL)
    *R("notifications:list", "GET", "-",         "L 200 200 200 200 200 200"),
    *R("notifications:list", "POST", "-",        "L 200= 200= 200= 200= 200= 200="),
    *R("notifications:read", "GET", "-",         "L 405 405 405 405 405 405", kwargs=ALICE_NOTE),
    *R("notifications:read", "POST", "-",        "L 302 302= 302= 302= 302= 302=", kwargs=ALICE_NOTE),
    *R("notifications:read_all", "GET", "-",     "L 405 405 405 405 405 405"),
    *R("notifications:read_all", "POST", "-",    "L 302 302= 302= 302= 302= 302=", data=ALICE_UNREAD),
    *R("notifications:preferences", "GET", "-",  "L 200 200 200 200 200 200"),
    *R("notifications:preferences", "POST", "-", "L 302 302 302 302 302 302", data=_(daily_digest=lambda s, w: "on")),
    # 催报: reviewers and admins chase units of their review scope (2023Q4: nobody has submitted it)
    *R("notifications:chase", "GET", "-",        "L 405 405 405 405 405 405"),
    *AB("notifications:chase", "POST",
        a="L 403 403 302 403 403 302",
        b="L 403 403 403 302 403 302", data=_(period=lambda s, w: w.q4.code, unit=lambda s, w: s.school.code)),
    *R("notifications:chase", "POST", "-",       "L 403 403 302 302 403 302",
       data=_(period=lambda s, w: w.q4.code, all=lambda s, w: "1")),
    *R("api_notifications", "GET", "-",          "401 200 200 200 200 200 200"),
    *R("api_notification_read", "POST", "-",     "401 200 404 404 404 404 404", kwargs=ALICE_NOTE),
    # ---- users and memberships (schools/user_views.py, schools/user_api.py): bureau administrators only
    *R("schools:user_list", "GET", "-",          "L 403 403 403 403 403 200"),
    *R("schools:user_list", "POST", "-",         "L 403 403 403 403 403 405"),
    *R("schools:user_create", "GET", "-",        "L 403 403 403 403 403 200"),
    *AB("schools:user_create", "POST",
        a="L 403 403 403 403 403 302",
        b="L 403 403 403 403 403 302", data=_USER_NEW),
    *R("schools:user_import", "GET", "-",        "L 403 403 403 403 403 200"),
    *R("schools:user_import", "POST", "-",       "L 403 403 403 403 403 400="),
    *R("schools:user_template", "GET", "-",      "L 403 403 403 403 403 200"),
    *R("schools:user_template", "POST", "-",     "L 405 405 405 405 405 405"),
    *AB("schools:user_edit", "GET",
        a="L 403 403 403 403 403 200",
        b="L 403 403 403 403 403 200", kwargs=_PRINCIPAL),
    *AB("schools:user_edit", "POST",
        a="L 403 403 403 403 403 302",
        b="L 403 403 403 403 403 302", kwargs=_PRINCIPAL, data=_USER_EDIT),
    *AB("schools:user_set_active", "GET",
        a="L 405 405 405 405 405 405",
        b="L 405 405 405 405 405 405", kwargs=_PRINCIPAL),
    *AB("schools:user_set_active", "POST",
        a="L 403 403 403 403 403 302",
        b="L 403 403 403 403 403 302", kwargs=_PRINCIPAL, data=_(active=lambda s, w: "0")),
    *AB("schools:membership_add", "GET",
        a="L 405 405 405 405 405 405",
        b="L 405 405 405 405 405 405", kwargs=_PRINCIPAL),
    *AB("schools:membership_add", "POST",
        a="L 403 403 403 403 403 302",
        b="L 403 403 403 403 403 302", kwargs=_PRINCIPAL,
        data=_(org_unit=lambda s, w: s.district.pk, role=lambda s, w: "inspector")),
    *AB("schools:membership_remove", "GET",
        a="L 405 405 405 405 405 405",
        b="L 405 405 405 405 405 405", kwargs=_PRINCIPAL_MEMBERSHIP),
    *AB("schools:membership_remove", "POST",
        a="L 403 403 403 403 403 302",
        b="L 403 403 403 403 403 302", kwargs=_PRINCIPAL_MEMBERSHIP),
    *R("user-list", "GET", "-",                  "401 403 403 403 403 403 200"),
    *AB("user-list", "POST",
        a="401 403 403 403 403 403 201",
        b="401 403 403 403 403 403 201",
        data=lambda s, w: {"username": f"api_{s.school.code}", "org_unit": s.school.code, "role": "principal"}),
    *AB("user-detail", "GET",
        a="401 403 403 403 403 403 200",
        b="401 403 403 403 403 403 200", kwargs=_PRINCIPAL),
    *AB("user-detail", "PATCH",
        a="401 403 403 403 403 403 200",
        b="401 403 403 403 403 403 200", kwargs=_PRINCIPAL, data=_(name=lambda s, w: "改名校长")),
    *R("membership-list", "GET", "-",            "401 403 403 403 403 403 200"),
    *AB("membership-list", "POST",
        a="401 403 403 403 403 403 201",
        b="401 403 403 403 403 403 201",
        data=lambda s, w: {"user": _principal(s), "org_unit": s.district.code, "role": "inspector"}),
    *AB("membership-detail", "GET",
        a="401 403 403 403 403 403 200",
        b="401 403 403 403 403 403 200", kwargs=_MEMBERSHIP),
    *AB("membership-detail", "PATCH",
        a="401 403 403 403 403 403 200",
        b="401 403 403 403 403 403 200", kwargs=_MEMBERSHIP, data=_(role=lambda s, w: "inspector")),
]
# fmt: on

# URL patterns deliberately outside the matrix, each with the reason.
EXCLUDED = {
    # Only mounted when DEBUG is on (portal/urls.py): `make run` serves uploaded files; production
    # never routes /media/ to Django (test_production_urls_do_not_serve_media checks it).
    "media": "development-only static file serving",
}
# Admin URLs are covered by their own rule below (none of the personas is staff).


# --- Enumeration ---


@dataclass(frozen=True)
class Route:
    name: str
    route: str
    callback: Any

    @property
    def is_api(self) -> bool:
        return hasattr(self.callback, "cls")

    def methods(self) -> set[str]:
        """The methods a row is required for: GET and POST for pages; what the endpoint allows for the API."""
        if not self.is_api:
            return {"GET", "POST"}
        cls = self.callback.cls
        allowed = set(getattr(cls, "http_method_names", []))
        actions = getattr(self.callback, "actions", None)
        if actions:
            names = set(actions) & allowed
        else:
            names = {m for m in allowed if hasattr(cls, m)}
        return {m.upper() for m in names} - {"HEAD", "OPTIONS"}


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, route, namespace + (f"{entry.namespace}:" if entry.namespace else ""))
        elif isinstance(entry, URLPattern):
            name = namespace + entry.name if entry.name else ("media" if "media" in route else route)
            yield Route(name, route, entry.callback)


def all_routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns))


def matrix_routes() -> list[Route]:
    return [r for r in all_routes() if not r.name.startswith("admin:") and not r.route.startswith("admin/")]


def uncovered(rules: list[Rule]) -> list[str]:
    """(method, URL) pairs of the resolver that no rule covers."""
    covered = {(rule.name, rule.method) for rule in rules}
    missing = []
    for route in matrix_routes():
        if route.name in EXCLUDED:
            continue
        for method in sorted(route.methods()):
            if (route.name, method) not in covered:
                missing.append(f"{method} {route.name} (/{route.route})")
    return missing


def test_every_url_pattern_has_a_rule() -> None:
    missing = uncovered(RULES)
    assert missing == [], "URL patterns without a row in the permission matrix:\n" + "\n".join(missing)


def test_a_url_without_a_row_would_be_reported() -> None:
    # As if reports:export_job and the submission PATCH endpoint had just been added without rows.
    rules = [
        r for r in RULES if r.name != "reports:export_job" and (r.name, r.method) != ("submission-detail", "PATCH")
    ]
    missing = uncovered(rules)
    assert "GET reports:export_job (/reports/exports/<int:pk>/)" in missing
    assert any(m.startswith("PATCH submission-detail ") for m in missing)


def test_every_rule_names_an_existing_url_and_both_sides_of_scoped_objects() -> None:
    names = {route.name for route in matrix_routes()}
    unknown = sorted({rule.name for rule in RULES} - names)
    assert unknown == [], f"rules for URL names that no longer exist: {unknown}"
    sides: dict[tuple[str, str], set[str]] = {}
    for rule in RULES:
        sides.setdefault((rule.name, rule.method), set()).add(rule.side)
    lopsided = [key for key, found in sides.items() if ("A" in found) != ("B" in found)]
    assert lopsided == []


def test_the_enumeration_includes_parameterised_pages_and_api_actions() -> None:
    names = {route.name for route in matrix_routes()}
    for expected in ("submissions:submission_detail", "plans:note_review", "submission-approve",
                     "indicator-value-explain", "api-plan-target-progress", "reports:export_download"):  # fmt: skip
        assert expected in names


# --- Running one row ---

DIGEST_MODELS = (
    "schools.OrgUnit", "schools.Membership", "schools.Designation", "schools.DesignationKind",
    "submissions.Figure", "submissions.Period", "submissions.PeriodException", "submissions.ValidationRule",
    "submissions.Submission", "submissions.Value", "submissions.SubmissionHistory",
    "indicators.Indicator", "indicators.IndicatorValue",
    "targets.Target", "targets.TargetNote", "targets.TargetPathPoint", "targets.TargetChange", "targets.Progress",
    "targets.PlanDraft",
    "plans.Plan", "plans.Section", "plans.WorkItem",
    "reports.ExportJob", "authtoken.Token", "auth.User",
    "notifications.Notification", "notifications.NotificationPreference",
)  # fmt: skip


def digest() -> str:
    """A fingerprint of every domain row (a refused write must leave it identical)."""
    h = hashlib.sha256()
    with connection.cursor() as cursor:
        # Raw SQL: the ORM's query compilation would cost more than the requests under test.
        for label in DIGEST_MODELS:
            meta = apps.get_model(label)._meta
            table, pk = connection.ops.quote_name(meta.db_table), connection.ops.quote_name(meta.pk.column)
            cursor.execute(f"SELECT * FROM {table} ORDER BY {pk}")  # noqa: S608  (names from model metadata)
            h.update(repr(cursor.fetchall()).encode())
    return h.hexdigest()


def _clients(world: World) -> dict[str, tuple[Client, Client]]:
    """persona → (page client with a session, API client with the persona's token)."""
    result = {}
    for persona in PERSONAS:
        page = Client(raise_request_exception=False)
        if persona == "anon":
            api = Client(raise_request_exception=False)
        else:
            page.force_login(getattr(world.users, persona))
            api = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Token {world.tokens[persona]}")
        result[persona] = (page, api)
    return result


def _send(client: Client, rule: Rule, url: str, data: dict[str, Any] | None, is_api: bool) -> HttpResponse:
    method = rule.method.lower()
    if method == "get":
        return client.get(url, data or None)
    if is_api and not any(isinstance(value, io.IOBase) for value in (data or {}).values()):
        return getattr(client, method)(url, json.dumps(data or {}), content_type="application/json")
    return getattr(client, method)(url, data or {})


def check(rule: Rule, persona: str, expected: str, response: HttpResponse, changed: bool, body: str) -> list[str]:
    """The problems of one cell (empty when it behaves as the table says)."""
    problems = []
    status = response.status_code
    login = resolve_url(settings.LOGIN_URL)
    location = response.get("Location", "")
    if expected == "L":
        if not (status == 302 and location.startswith(login)):
            problems.append(f"expected a redirect to log in, got {status} {location}")
    else:
        code = int(expected.rstrip("="))
        if status != code:
            problems.append(f"expected {code}, got {status} {location}")
        elif status == 302 and location.startswith(login):
            problems.append("redirected to log in instead of the page")
    if rule.method in WRITE_METHODS:
        # Judged on the expected outcome, not the actual one: a refused cell must not write, whatever it answered.
        must_change = expected != "L" and not expected.endswith("=") and int(expected) < 400
        if changed and not must_change:
            problems.append("the database changed")
        if must_change and not changed:
            problems.append("allowed, but nothing was written")
    if rule.method == "GET" and status == 200 and persona in HOME_SIDE:
        other = "B" if HOME_SIDE[persona] == "A" else "A"
        leaked = [m for m in _markers[other] if m in body]
        if leaked:
            problems.append(f"shows the other side's {leaked}")
    return problems


_markers: dict[str, list[str]] = {}


def run_rules(world: World, rules: list[Rule]) -> list[str]:
    # 4xx are the point here: don't log (and format) a warning for each; 500s are still logged.
    logging.getLogger("django.request").setLevel(logging.ERROR)
    _markers.update({"A": world.a.markers, "B": world.b.markers})
    routes = {route.name: route for route in matrix_routes()}
    clients = _clients(world)
    failures = []
    for rule in rules:
        side = world.side(rule.side) if rule.side != "-" else None
        is_api = routes[rule.name].is_api
        for persona, expected in zip(PERSONAS, rule.expect, strict=True):
            page, api = clients[persona]
            client = api if is_api else page
            with transaction.atomic():
                # Each cell sees the same world: its writes are rolled back before the next one.
                url = reverse(rule.name, kwargs=rule.kwargs(side, world) if rule.kwargs else None)
                params = rule.query(side, world) if rule.query else None
                if params and rule.method != "GET":
                    url += "?" + "&".join(f"{k}={v}" for k, v in params.items())
                data = rule.data(side, world) if rule.data else params if rule.method == "GET" else None
                before = digest() if rule.method in WRITE_METHODS else ""
                response = _send(client, rule, url, data, is_api)
                changed = rule.method in WRITE_METHODS and digest() != before
                body = response.content.decode("utf-8", "replace") if not getattr(response, "streaming", False) else ""
                transaction.set_rollback(True)
            for problem in check(rule, persona, expected, response, changed, body):
                failures.append(f"{rule.method} {url} ({rule.name}) as {persona}: {problem}")
    return failures


def _groups() -> dict[str, list[Rule]]:
    groups: dict[str, list[Rule]] = {}
    for rule in RULES:
        groups.setdefault(rule.name, []).append(rule)
    return groups


# Rows that fail because of a reported bug in a file this suite does not own (xfail strict: remove when fixed).
KNOWN_BUGS: dict[str, str] = {}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[name]))
        if name in KNOWN_BUGS
        else name
        for name in sorted(_groups())
    ],
)
def test_the_matrix(world: World, db: None, name: str) -> None:
    failures = run_rules(world, _groups()[name])
    assert failures == [], "\n".join(failures)


# --- The admin site: no persona is staff, so every admin URL sends them to the admin log-in ---

ADMIN_LOGIN = "/admin/login/"
# Admin URLs that answer differently, by route; everything else must redirect to ADMIN_LOGIN.
ADMIN_EXCEPTIONS = {
    "admin/login/": {"GET": 200},  # the form itself (a signed-in non-staff user is told to log in as staff)
    "admin/logout/": {"GET": 302},  # to /admin/, which sends them to the log-in again
}


def _admin_url(route: str) -> str:
    # Fill every converter with "1": the object doesn't need to exist, the staff check comes first.
    import re

    return "/" + re.sub(r"<(?:\w+:)?\w+>", "1", route)


def test_no_persona_reaches_the_admin_site(world: World, db: None) -> None:
    routes = [r for r in all_routes() if r.route.startswith("admin/")]
    assert len(routes) > 20  # the enumeration really walked the admin site
    clients = _clients(world)
    failures = []
    for route in routes:
        url = _admin_url(route.route)
        for persona in PERSONAS:
            response = clients[persona][0].get(url)
            expected = ADMIN_EXCEPTIONS.get(route.route, {}).get("GET")
            if expected is not None:
                ok = response.status_code == expected
            else:
                ok = response.status_code == 302 and response["Location"].startswith(ADMIN_LOGIN)
            if not ok:
                failures.append(f"GET {url} as {persona}: {response.status_code} {response.get('Location', '')}")
    assert failures == [], "\n".join(failures)


def test_no_api_endpoint_deletes(world: World, db: None) -> None:
    """The contract has no DELETE: every API route refuses it (401 anonymous, 405 signed in), nothing removed."""
    routes = {route.name: route for route in matrix_routes() if route.is_api}
    clients = _clients(world)
    failures = []
    for rule in RULES:
        if rule.name not in routes or rule.method != "GET":
            continue
        side = world.side(rule.side) if rule.side != "-" else None
        url = reverse(rule.name, kwargs=rule.kwargs(side, world) if rule.kwargs else None)
        for persona in ("anon", "alice", "bea"):
            with transaction.atomic():
                before = digest()
                response = clients[persona][1].delete(url)
                changed = digest() != before
                transaction.set_rollback(True)
            expected = 401 if persona == "anon" else 405
            if response.status_code != expected or changed:
                failures.append(f"DELETE {url} ({rule.name}) as {persona}: {response.status_code}, changed={changed}")
    assert failures == [], "\n".join(failures)


# --- The matrix catches a broken scope (the code is broken in-process, for one group of rows) ---


def test_the_matrix_catches_a_list_without_its_scope_filter(world: World, db: None, monkeypatch: Any) -> None:
    from submissions import views

    monkeypatch.setattr(views.SubmissionListView, "get_queryset", lambda self: self.queryset.all())
    failures = run_rules(world, _groups()["submissions:submission_list"])
    assert any("as alice: shows the other side's ['西区实验小学'" in f for f in failures), failures


def test_the_matrix_catches_an_unscoped_api_read(world: World, db: None, monkeypatch: Any) -> None:
    from submissions.api import SubmissionViewSet

    monkeypatch.setattr(SubmissionViewSet, "read_object", SubmissionViewSet.write_object)
    failures = run_rules(world, _groups()["submission-history"])
    assert any("/history/ (submission-history) as bob: expected 404, got 200" in f for f in failures), failures


def test_the_matrix_catches_a_write_without_its_permission_check(world: World, db: None, monkeypatch: Any) -> None:
    from portal import scope

    monkeypatch.setattr(scope, "require", lambda *args, **kwargs: None)
    failures = run_rules(world, _groups()["submission-approve"])
    assert any("as rob: expected 403, got 200" in f for f in failures), failures
    assert any("as rob: the database changed" in f for f in failures), failures
