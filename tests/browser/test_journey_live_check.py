"""Journey: the principal's form checks the figures as they are typed (the save's rules, nothing stored).

The demo principal (东城中心小学) opens 2023Q4 and types more migrants than entrants: the rule's message appears on
the migrants' row and the "N left" line counts it before anything is saved; correcting the number clears both.
"""

from __future__ import annotations

from typing import Any

import pytest
from browser_support import PRINCIPAL_SCHOOL, django_side, log_in, reset_principal_quarter

pytestmark = pytest.mark.browser

PERIOD = "2023Q4"
MIGRANT_ERROR = "外来生数不能超过一年级新生数"


@django_side
def stored_state() -> tuple[int, int, int]:
    from submissions.models import Submission

    submission = Submission.objects.get(org_unit__code=PRINCIPAL_SCHOOL, period__code=PERIOD)
    return submission.version, submission.values.count(), submission.history.count()


def test_the_form_checks_figures_as_they_are_typed(site: Any, new_page: Any, journey: Any) -> None:
    # given: the principal's empty 2023Q4 form
    reset_principal_quarter()
    steps = journey("09-live-check")
    page = new_page()
    log_in(page, site, "principal")
    page.get_by_role("link", name="本季度填报").first.click()
    page.locator("tr", has_text=PERIOD).get_by_role("button", name="开始填报").click()
    before = stored_state()
    migrants = page.locator("tr", has=page.locator("#id_v_pri_new_entrants_migrant"))
    counter = page.locator("#open-problems")

    # when: more migrants than entrants are typed (not saved)
    page.fill("#id_v_pri_new_entrants", "60")
    page.fill("#id_v_pri_new_entrants_migrant", "70")
    # then: the rule's message is on the migrants' row, the counter says what is open
    migrants.locator(".msg-error", has_text=MIGRANT_ERROR).wait_for()
    assert counter.is_visible()
    assert "处需要处理才能提交" in counter.inner_text()
    open_before = int("".join(ch for ch in counter.inner_text() if ch.isdigit()))
    page.mouse.click(1, 1)  # the a11y check tabs from the top: move the focus start off the input
    steps.step(page, "rule-message-while-typing")

    # when: the number is corrected
    page.fill("#id_v_pri_new_entrants_migrant", "10")
    # then: the message goes, the count drops by one, nothing was stored by checking
    migrants.locator(".msg-error").wait_for(state="detached")
    page.wait_for_function(
        "n => (document.getElementById('open-problems').textContent.match(/\\d+/) || ['0'])[0] == String(n)",
        arg=open_before - 1,
    )
    page.mouse.click(1, 1)
    steps.step(page, "corrected")
    assert stored_state() == before
