"""Helpers of the browser journeys: log-in, the demo given, numbered steps with screenshots and accessibility checks."""

from __future__ import annotations

import asyncio
import datetime
import functools
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from django.conf import settings

CHROMIUM = Path("/usr/bin/chromium")
# No sandbox (CI containers have no user namespaces); nothing in the background that could reach the network
# or change the browser between runs (component and variations updates, sync, first-run set-up).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"
DEMO_NOW = datetime.datetime(2023, 12, 11, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
DEMO_PASSWORD = "demo-password-2023"
PRINCIPAL_SCHOOL = "D01-X1-P001"  # 东城中心小学, the demo principal's school
DEFAULT_TIMEOUT_MS = 20_000

# The principal's quarter of the submission journeys (and of the everyday journeys that start from it).
PERIOD = "2023Q4"
# This quarter's numbers beside last quarter's stock figures (kept, so no >30 % change warnings).
NEW_FIGURES = {
    "pri_new_entrants": "60",
    "pri_new_entrants_migrant": "70",  # hard rule: cannot exceed the 60 entrants
    "pri_new_entrants_ontime": "60",
    "pri_graduates": "0",
    "pri_transfers_in": "5",
    "pri_transfers_out": "2",
    "pri_dropouts": "0",
    "pri_grade1_max_class_size": "58",  # warning: over 55 needs an explanation
    "central_joint_research": "2",
    "central_quality_monitoring": "1",
}
NOT_APPLICABLE = "不适用"

# axe-core rules for labels, document structure and table headers (the issue's accessibility basics).
AXE_RULES = [
    "label",
    "select-name",
    "button-name",
    "input-button-name",
    "link-name",
    "form-field-multiple-labels",
    "document-title",
    "html-has-lang",
    "html-lang-valid",
    "page-has-heading-one",
    "landmark-one-main",
    "list",
    "listitem",
    "th-has-data-cells",
    "td-headers-attr",
    "td-has-header",
    "scope-attr-valid",
    "empty-table-header",
]

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def outside_playwright_loop() -> Iterator[None]:
    """Run Django code in this thread as plain sync code while Playwright's event loop is parked.

    Playwright's sync API marks its asyncio loop as running in the main thread. Django then treats
    the thread as an async context: the ORM refuses to run (SynchronousOnlyOperation), and
    ``connections`` (thread-critical) would keep a separate connection per async context. Hiding the
    loop for the duration of a block of ORM calls gives them the thread's own connection.
    """
    loop = asyncio.events._get_running_loop()
    asyncio.events._set_running_loop(None)
    try:
        yield
    finally:
        asyncio.events._set_running_loop(loop)


def django_side(function: Callable[P, R]) -> Callable[P, R]:
    """Decorator form of ``outside_playwright_loop`` for test helpers that use the ORM."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with outside_playwright_loop():
            return function(*args, **kwargs)

    return wrapper


@dataclass
class DemoSite:
    url: str

    def __call__(self, path: str) -> str:
        return self.url + path


@django_side
def reset_principal_quarter() -> None:
    """Given: the demo principal has not started 2023Q4 yet (the demo had approved it) — numbers recomputed."""
    from indicators import engine
    from schools.models import OrgUnit
    from submissions.models import Period, Submission
    from targets.progress import recompute_progress

    period = Period.objects.get(code="2023Q4")
    Submission.objects.filter(org_unit=OrgUnit.objects.get(code=PRINCIPAL_SCHOOL), period=period).delete()
    engine.full_recompute(period_ids=[period.pk])
    recompute_progress(period_ids=[period.pk])


@django_side
def quarter_figures() -> dict[str, str]:
    """Every figure the school reports: last quarter's value for stocks, NEW_FIGURES for the rest."""
    from schools.models import OrgUnit
    from submissions import workflow
    from submissions.models import Period

    school = OrgUnit.objects.get(code=PRINCIPAL_SCHOOL)
    period = Period.objects.get(code=PERIOD)
    previous = workflow.previous_values(period, [school.pk])[school.pk]
    figures: dict[str, str] = {}
    for figure in workflow.figures_for_unit(school, period=period):
        if figure.code in NEW_FIGURES:
            figures[figure.code] = NEW_FIGURES[figure.code]
        elif previous.get(figure.code) is not None:
            figures[figure.code] = f"{previous[figure.code]:f}".rstrip("0").rstrip(".")
        elif figure.allows_not_applicable and figure.code in previous:
            figures[figure.code] = NOT_APPLICABLE  # answered 不适用 last quarter: the same again
        else:
            assert not figure.required, f"{figure.code}: required, with no value last quarter"  # left empty
    return figures


@django_side
def stored_submission() -> Any:
    from submissions.models import Submission

    return Submission.objects.select_related("period").get(org_unit__code=PRINCIPAL_SCHOOL, period__code=PERIOD)


@django_side
def submit_as_principal(figures: dict[str, str]) -> None:
    """Given: the principal's 2023Q4 figures submitted (through the same service functions as the form)."""
    from django.contrib.auth import get_user_model

    from schools.models import OrgUnit
    from submissions import workflow
    from submissions.models import Period

    principal = get_user_model().objects.get(username="principal")
    school = OrgUnit.objects.get(code=PRINCIPAL_SCHOOL)
    submission = workflow.open_submission(principal, school, Period.objects.get(code=PERIOD))
    numbers = {code: value for code, value in figures.items() if value != NOT_APPLICABLE}
    answered_na = [code for code, value in figures.items() if value == NOT_APPLICABLE]
    result = workflow.save_values(
        submission, principal, numbers, version=submission.version, not_applicable=answered_na
    )
    explanation = "秋季插班生较多，已申请增设一个一年级班"
    explanations = {issue.key: explanation for issue in result.issues if not issue.is_error}
    version = result.submission.version
    result = workflow.save_values(submission, principal, {}, version=version, explanations=explanations)
    workflow.submit(result.submission, principal, version=result.submission.version)


def log_in(page: Any, site: DemoSite, username: str) -> None:
    """Through the real log-in form (the submit button inside <main>: the header has the language button)."""
    page.goto(site("/accounts/login/"))
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert "/accounts/login/" not in page.url, f"log-in as {username} failed: {page.inner_text('main')[:300]}"


FOCUSABLE_IN_MAIN_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  return {tag: el.tagName, text: (el.innerText || el.value || '').trim().slice(0, 40),
          outlineStyle: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth) || 0,
          boxShadow: style.boxShadow};
}"""

UNLABELLED_FIELDS_JS = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => !['hidden', 'submit', 'button', 'reset', 'image'].includes(el.type))
  .filter(el => !(el.labels && el.labels.length))
  .filter(el => !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
  .map(el => el.outerHTML.slice(0, 160))"""

TABLES_WITHOUT_HEADERS_JS = """() => Array.from(document.querySelectorAll('table'))
  .filter(t => t.querySelectorAll('th').length === 0).map(t => t.outerHTML.slice(0, 160))"""

# A status badge must carry a word (or an icon drawn by ::before), not only a background colour; an error or
# a warning beside a figure must say which it is (its message text alone does not).
COLOUR_ONLY_BADGES_JS = """() => {
  const drawn = el => {
    const content = getComputedStyle(el, '::before').content;
    return !!content && !['none', 'normal', '""'].includes(content);
  };
  const badges = Array.from(document.querySelectorAll('.badge, [class*="status"] .dot, .rag')).filter(el => {
    const text = (el.innerText || '').trim();
    const label = el.getAttribute('aria-label') || el.getAttribute('title') || '';
    return !text && !drawn(el) && !label;
  });
  const issues = Array.from(document.querySelectorAll('table .msg-error, table .msg-warning')).filter(el => !drawn(el));
  return badges.concat(issues).map(el => el.outerHTML.slice(0, 160));
}"""


# The interface's own words (navigation, labels, buttons, column headers, status badges, footer), not the data
# shown in it (unit and target names stay Chinese): in English none of it may be Chinese.
UI_TEXT_IN_CHINESE_JS = r"""() => {
  const selector = ['a.skip-link', 'nav.mainnav a', '.langswitch label', '.langswitch button',
    'header form:not(.langswitch) button', 'footer', 'main label', 'main button', 'main thead th', 'main legend',
    'main .badge', 'main .messages'].join(', ');
  return Array.from(document.querySelectorAll(selector))
    .map(el => (el.textContent || '').trim().replace(/\s+/g, ' '))
    .filter(text => /[\u3400-\u9fff]/.test(text));
}"""


def ui_text_in_chinese(page: Any) -> list[str]:
    return page.evaluate(UI_TEXT_IN_CHINESE_JS)


@dataclass
class Journey:
    """Numbered steps of one journey: each saves a full-page screenshot and checks accessibility basics."""

    name: str
    count: int = 0
    checked_focus: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.folder = SCREENSHOTS / self.name
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)

    def step(self, page: Any, label: str, *, a11y: bool = True) -> None:
        self.count += 1
        slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
        page.wait_for_load_state()
        page.screenshot(path=str(self.folder / f"{self.count:02d}-{slug}.png"), full_page=True)
        if a11y:
            check_accessibility(page, where=f"{self.name} step {self.count} ({label}) {page.url}")


def check_accessibility(page: Any, where: str) -> None:
    """axe-core (labels, structure, table headers) plus the explicit checks the issue lists."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "rule", "values": AXE_RULES}})
    violations = [
        f"{v['id']}: {v['help']} — " + "; ".join(node["html"][:120] for node in v["nodes"][:3])
        for v in results.response["violations"]
    ]
    assert not violations, f"axe violations on {where}:\n" + "\n".join(violations)
    h1_count = page.locator("h1").count()
    assert h1_count == 1, f"{where}: {h1_count} <h1> elements, expected exactly one"
    unlabelled = page.evaluate(UNLABELLED_FIELDS_JS)
    assert not unlabelled, f"{where}: form fields without a label: {unlabelled}"
    headless_tables = page.evaluate(TABLES_WITHOUT_HEADERS_JS)
    assert not headless_tables, f"{where}: tables without <th> headers: {headless_tables}"
    colour_only = page.evaluate(COLOUR_ONLY_BADGES_JS)
    assert not colour_only, f"{where}: status shown by colour only: {colour_only}"
    check_focus_visible(page, where)


def check_focus_visible(page: Any, where: str) -> None:
    """Tab from the top of the page to the first link or button and require a visible focus ring."""
    page.evaluate("() => { if (document.activeElement) document.activeElement.blur(); window.scrollTo(0, 0); }")
    seen = None
    for _ in range(6):
        page.keyboard.press("Tab")
        seen = page.evaluate(FOCUSABLE_IN_MAIN_JS)
        if seen and seen["tag"] in ("A", "BUTTON"):
            break
    assert seen, f"{where}: Tab reached nothing"
    assert seen["tag"] in ("A", "BUTTON"), f"{where}: Tab reached no link or button ({seen})"
    visible = (seen["outlineStyle"] != "none" and seen["outlineWidth"] > 0) or seen["boxShadow"] not in ("", "none")
    assert visible, f"{where}: keyboard focus on {seen['tag']} '{seen['text']}' has no visible outline: {seen}"
    page.keyboard.press("Escape")
    page.evaluate("() => { if (document.activeElement) document.activeElement.blur(); }")
