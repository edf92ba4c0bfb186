"""Punctuation follows the page language: "范围：" / "Scope: ", "当前进展（…）" / "Current progress (…)".

Chinese full-width punctuation written outside the translated strings used to show up on English
pages ("Scope：", "Current progress（市教育局 · 2023Q4）"), and Django's label suffix put an ASCII
colon after Chinese labels ("状态:"). Data (unit names, target texts) stays Chinese in both languages.
"""

from __future__ import annotations

import re

from django.test import Client
from django.urls import reverse

DASHBOARD = reverse("reports:dashboard")
TARGET = reverse("reports:target_detail", kwargs={"plan": "p2023", "code": "big-class"})
FULL_WIDTH = re.compile(r"[：（）；]")


def english(client: Client) -> Client:
    client.cookies["django_language"] = "en"
    return client


def main(html: str) -> str:
    return html.split('<main id="main"', 1)[1].split("</main>", 1)[0]


def labels(html: str) -> list[str]:
    """The form labels of the page's main part (the header's language switch has a hidden label)."""
    found = re.findall(r"<label[^>]*>(.*?)</label>", main(html), re.S)
    return [re.sub(r"<[^>]+>", "", text).strip() for text in found]


def ui_text(html: str, *data: str) -> str:
    """The page's text without the data shown in it (unit names, target texts, indicator names)."""
    text = re.sub(r"<[^>]+>", " ", main(html))
    for item in data:
        text = text.replace(item, "")
    return text


def test_dashboard_meta_line_in_english_and_chinese(client, report, users):
    client.force_login(users.ivan)
    params = {"plan": "p2023", "period": "2023Q4"}
    html = client.get(DASHBOARD, params).content.decode()
    assert "范围：<strong>市教育局</strong> · 截至：<strong>2023Q4</strong>" in html
    assert " · 计算时间：20" in html
    html = english(client).get(DASHBOARD, params).content.decode()
    assert "Scope: <strong>市教育局</strong> · As of: <strong>2023Q4</strong>" in html
    assert " · Calculated at: 20" in html
    assert "Scope：" not in html
    assert "As of：" not in html


def test_target_page_in_english_has_english_punctuation(client, report, users):
    client.force_login(users.ivan)
    html = english(client).get(TARGET, {"period": "2023Q4"}).content.decode()
    assert "Responsible unit: 东区" in html
    assert "Current progress (市教育局 · 2023Q4)</h2>" in html
    assert "55人以上大班额学校数 (big_classes)" in html  # indicator name (code)
    assert "Export: <a" in html
    data = ("严格控制 55 人以上的大班额", "55人以上大班额学校数", "西区实验小学", "2023年初等与学前教育工作要点")
    assert FULL_WIDTH.findall(ui_text(html, *data)) == []
    found = labels(html)
    assert found
    assert [label for label in found if not label.endswith(":")] == []


def test_target_page_in_chinese_ends_labels_with_a_full_width_colon(client, report, users):
    client.force_login(users.ivan)
    html = client.get(TARGET, {"period": "2023Q4"}).content.decode()
    assert "责任单位：东区" in html
    assert "当前进展（市教育局 · 2023Q4）</h2>" in html
    assert "导出：<a" in html
    found = labels(html)
    assert found
    assert [label for label in found if not label.endswith("：")] == []


def test_the_export_job_page_status_line(client, report, users, tree):
    from reports.models import ExportJob

    job = ExportJob.objects.create(requested_by=users.ivan, plan=report.plan, scope=tree.city, period=report.q4)
    client.force_login(users.ivan)
    url = reverse("reports:export_job", kwargs={"pk": job.pk})
    assert "状态：<strong" in client.get(url).content.decode()
    assert "Status: <strong" in english(client).get(url).content.decode()
