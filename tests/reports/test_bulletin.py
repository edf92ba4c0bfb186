"""The quarterly bulletin (进展通报, issue 14 §3): what it gathers (statuses, owners' reasons, league tables, in a
bounded number of queries), the .docx it writes (headings, tables, charts), a scope with no data, hostile text,
LibreOffice missing, the job on demand (page and API, the task run eagerly), failures and the schedule.

LibreOffice is pointed at a missing program in these tests (``NO_SOFFICE``): the PDF path itself is exercised by
``test_bulletin_render.py``, which converts the pages to images.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from decimal import Decimal

import docx
import pytest
from django.core.files.storage import default_storage
from django.test import override_settings
from django.urls import reverse

from notifications.models import Notification
from plans.models import Plan, PlanStatus, Section
from reports.bulletin import charts, content, docx_writer, job, schedule
from reports.models import ExportJob, ExportKind, ExportStatus
from reports.tasks import scheduled_bulletins_task
from schools.models import Level, OrgUnit
from targets.models import Comparator, Target, TargetKind, TargetNote
from tests.reports.conftest import iv

D = Decimal
NO_SOFFICE = override_settings(LIBREOFFICE_BIN="/nonexistent/soffice")


def _docx(content_: content.BulletinContent) -> docx.document.Document:
    buffer = io.BytesIO()
    docx_writer.write_docx(content_, buffer)
    buffer.seek(0)
    return docx.Document(buffer)


def _all_text(document: docx.document.Document) -> str:
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts.extend(cell.text for row in table.rows for cell in row.cells)
    return "\n".join(parts)


def _extra_districts(report, tree, count: int) -> None:  # noqa: ANN001
    """``count`` more districts under CITY, each with a Q4 入园率 (league tables grow, queries must not)."""
    for i in range(count):
        unit = OrgUnit.objects.create(code=f"DX{i:03d}", name=f"新区{i}", level=Level.DISTRICT, parent=tree.city)
        iv(report.rate, unit, report.q4, "90", "100", str(90 + i % 10))


# --- Content ---


def test_content_lists_targets_by_status_with_the_owners_reasons(report, tree):
    gathered = content.gather(report.plan, tree.city, report.q4)
    assert gathered.has_data
    assert (gathered.bureau, gathered.scope, gathered.period_label) == ("市教育局", "市教育局", "2023年第4季度")
    assert [t.code for t in gathered.achieved] == ["kg-rate"]
    assert [t.code for t in gathered.off_track] == ["big-class"]
    assert gathered.at_risk == []
    # The owner's note is the off-track target's reason; the owner is its unit.
    assert gathered.off_track[0].reason == "西区实验小学仍有 1 个大班，秋季分班后消除"
    assert gathered.off_track[0].owner == "东区"
    totals = {status: n for status, _label, n in gathered.totals}
    assert totals["met"] == 1
    assert totals["off_track"] == 1
    assert [s.title for s in gathered.sections] == ["教育公平", "教育质量"]


def test_league_tables_rank_the_units_under_the_scope(report, tree):
    gathered = content.gather(report.plan, tree.city, report.q4)
    by_title = {league.title.split("（")[0]: league for league in gathered.leagues}
    rate = by_title["学前一年幼儿入园率"]
    assert [(r.rank, r.name, r.value_text) for r in rate.top] == [(1, "东区", "100.0%"), (2, "西区", "98.0%")]
    assert rate.goal == D("99")  # a rate: each unit can be held against the goal line
    big = by_title["55人以上大班额学校数"]
    assert [r.name for r in big.top] == ["东区", "西区"]  # a "≤ 0" target: the lowest first


def test_content_queries_do_not_grow_with_the_units(report, tree, django_assert_max_num_queries):
    with django_assert_max_num_queries(20) as few:
        content.gather(report.plan, tree.city, report.q4)
    _extra_districts(report, tree, 30)
    with django_assert_max_num_queries(len(few.captured_queries)):
        gathered = content.gather(report.plan, tree.city, report.q4)
    rate = next(league for league in gathered.leagues if league.title.startswith("学前一年"))
    assert len(rate.top) == content.LEAGUE_ROWS
    assert len(rate.bottom) == content.LEAGUE_ROWS
    assert rate.ranked == 32


# --- The .docx ---


def test_the_docx_has_a_cover_headings_tables_and_charts(report, tree):
    document = _docx(content.gather(report.plan, tree.city, report.q4))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith(("Heading", "Title"))]
    assert headings[0] == "进展通报"
    for part in ("一、总体情况", "二、分项进展", "三、已达成目标", "四、有风险目标", "五、滞后目标", "六、排行榜"):
        assert part in headings
    text = _all_text(document)
    assert "2023年初等与学前教育工作要点" in text
    assert "范围：市教育局" in text
    assert "生成日期：" in text
    assert "西区实验小学仍有 1 个大班，秋季分班后消除" in text
    # Status table, section table, two lists, a table per league.
    assert len(document.tables) == 4 + len(content.gather(report.plan, tree.city, report.q4).leagues)
    pictures = list(document.inline_shapes)
    assert len(pictures) == 1 + 2  # the summary chart and one per league table
    png = document.part.related_parts[
        document.inline_shapes[0]._inline.graphic.graphicData.pic.blipFill.blip.embed
    ].blob
    assert png.startswith(b"\x89PNG")


def test_a_scope_with_no_data_still_gets_a_bulletin_saying_so(report, tree):
    empty = Plan.objects.create(code="p-empty", title="空白计划", year=2023, owner_unit=tree.city)
    section = Section.objects.create(plan=empty, code="s", title="部分一", order=1)
    Target.objects.create(
        plan=empty,
        section=section,
        code="e1",
        text="目标一",
        kind=TargetKind.THRESHOLD,
        indicator=report.rate,
        comparator=Comparator.GTE,
        target_value=D(1),
        scope=tree.t1,
        order=1,
    )
    gathered = content.gather(empty, tree.t1, report.periods[0])
    assert not gathered.has_data
    assert gathered.leagues == []
    document = _docx(gathered)
    text = _all_text(document)
    # The summary, the three lists and the league tables each say it.
    assert text.count("本季度暂无数据") == 5
    assert len(document.inline_shapes) == 0


def test_hostile_text_is_written_as_text(report, tree):
    hostile = '=HYPERLINK("http://evil.example")<w:p><w:r><w:t>x</w:t></w:r></w:p>&amp;\x01\x0b{{ secret }}'
    Target.objects.filter(pk=report.t_limit.pk).update(text=hostile, owner_name="+cmd|' /C calc'!A0")
    # \x08 is forbidden in XML and storable in PostgreSQL (NUL is refused by every form and by the database).
    TargetNote.objects.create(target=report.t_limit, period=report.q4, text="@SUM(1+1)\x08</w:t>-2+3")
    document = _docx(content.gather(report.plan, tree.city, report.q4))
    text = _all_text(document)
    assert '=HYPERLINK("http://evil.example")<w:p><w:r><w:t>x</w:t></w:r></w:p>&amp;{{ secret }}' in text
    assert "@SUM(1+1)</w:t>-2+3" in text
    assert "+cmd|' /C calc'!A0" in text
    assert "\x01" not in text
    assert "\x08" not in text
    # Still one paragraph per list row: the markup did not become document structure.
    off_track = document.tables[3]
    assert off_track.rows[1].cells[1].text.startswith("=HYPERLINK")


def test_charts_fall_back_to_numbers_without_a_cjk_font(settings):
    charts._cjk_font.cache_clear()
    settings.BULLETIN_FONT = "/nonexistent/font.ttc"
    try:
        chart = charts.status_chart([("met", "已达成", 3), ("off_track", "滞后", 1)])
    finally:
        charts._cjk_font.cache_clear()
    assert chart.png.startswith(b"\x89PNG")
    assert chart.legend == ["1 = 已达成", "2 = 滞后"]


# --- The job: on demand, failures, LibreOffice missing ---


@NO_SOFFICE
def test_the_dashboard_asks_for_a_bulletin_and_the_job_delivers_the_docx(
    client, report, users, django_capture_on_commit_callbacks
):
    client.force_login(users.ivan)
    page = client.get(reverse("reports:dashboard"), {"plan": "p2023", "scope": "CITY", "period": "2023Q4"})
    assert "生成进展通报" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reports:bulletin"), {"plan": "p2023", "scope": "CITY", "period": "2023Q4"})
    bulletin = ExportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == bulletin.get_absolute_url()
    assert (bulletin.kind, bulletin.status, bulletin.requested_by) == (
        ExportKind.BULLETIN,
        ExportStatus.DONE,
        users.ivan,
    )
    assert (bulletin.rows_done, bulletin.rows_total, bulletin.step) == (4, 4, "")
    # LibreOffice missing: the .docx is delivered, the note says why there is no PDF, the page shows it.
    assert not bulletin.pdf_file
    assert bulletin.note.startswith("PDF 未生成：")
    assert "not installed" in bulletin.note
    job_page = client.get(bulletin.get_absolute_url()).content.decode()
    assert "PDF 未生成：" in job_page
    assert "下载 Word" in job_page
    assert "下载 PDF" not in job_page
    download = client.get(reverse("reports:export_download", kwargs={"pk": bulletin.pk}))
    assert 'filename="p2023-CITY-2023Q4-bulletin.docx"' in download["Content-Disposition"]
    opened = docx.Document(io.BytesIO(b"".join(download.streaming_content)))
    assert opened.paragraphs[4].text == "市教育局"
    assert (
        client.get(reverse("reports:export_download", kwargs={"pk": bulletin.pk}), {"file": "pdf"}).status_code == 404
    )
    note = Notification.objects.get(user=users.ivan)
    assert note.title == "进展通报已生成：2023年初等与学前教育工作要点 · 市教育局 · 2023Q4"
    assert note.body == bulletin.note


@NO_SOFFICE
def test_the_api_asks_for_a_bulletin_and_reports_its_steps(client, report, users, django_capture_on_commit_callbacks):
    client.force_login(users.ivan)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/plans/p2023/bulletin/", {"scope": "D1", "period": "2023Q4"}, content_type="application/json"
        )
    assert response.status_code == 202
    data = client.get(response.json()["url"]).json()
    assert (data["kind"], data["status"], data["progress"], data["scope"]) == ("bulletin", "done", 100, "D1")
    assert data["download_url"].endswith(f"/exports/{data['job']}/download/")
    assert data["pdf_url"] is None
    assert data["note"].startswith("PDF 未生成：")


def test_a_principal_may_not_ask_for_a_bulletin(client, report, users):
    client.force_login(users.alice)
    response = client.post(reverse("reports:bulletin"), {"plan": "p2023", "scope": "S1", "period": "2023Q4"})
    assert response.status_code == 403
    # The API: another school is not in alice's scope (400, as for a code that does not exist); her own is a 403.
    api = "/api/v1/plans/p2023/bulletin/"
    assert client.post(api, {"scope": "S3"}, content_type="application/json").status_code == 400
    assert client.post(api, {"scope": "S1"}, content_type="application/json").status_code == 403
    assert client.post(api, {"period": "1999Q1"}, content_type="application/json").status_code == 400
    assert client.post(api, "null", content_type="application/json").status_code == 400
    assert ExportJob.objects.count() == 0


def test_a_running_job_shows_its_step(client, report, users, tree):
    running = ExportJob.objects.create(
        kind=ExportKind.BULLETIN, plan=report.plan, scope=tree.city, period=report.q4, status=ExportStatus.RUNNING
    )
    job._step(running.pk, job.STEPS[1])
    client.force_login(users.ivan)
    page = client.get(running.get_absolute_url()).content.decode()
    assert "绘制图表" in page
    assert "1 / 4" in page
    assert client.get(f"/api/v1/exports/{running.pk}/").json()["step_display"] == "绘制图表"


@NO_SOFFICE
def test_a_failure_is_logged_shown_and_announced(
    client, report, users, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def broken(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(content, "gather", broken)
    client.force_login(users.ivan)
    with (
        caplog.at_level(logging.ERROR, logger="reports.bulletin.job"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        client.post(reverse("reports:bulletin"), {"plan": "p2023", "scope": "CITY", "period": "2023Q4"})
    failed = ExportJob.objects.get()
    assert failed.status == ExportStatus.FAILED
    assert "RuntimeError" in failed.error
    assert any("bulletin job" in r.message for r in caplog.records)
    assert failed.error in client.get(failed.get_absolute_url()).content.decode()
    assert Notification.objects.get(user=users.ivan).title.startswith("进展通报生成失败")


@NO_SOFFICE
def test_expiry_removes_the_docx_and_the_pdf(report, tree):
    from django.core.files.base import ContentFile

    from reports import exports

    finished = ExportJob.objects.create(
        kind=ExportKind.BULLETIN, plan=report.plan, scope=tree.city, period=report.q4, status=ExportStatus.DONE
    )
    finished.file.name = default_storage.save("exports/t.docx", ContentFile(b"d"))
    finished.pdf_file.name = default_storage.save("exports/t.pdf", ContentFile(b"p"))
    finished.finished_at = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    finished.save()
    assert exports.expire_old_exports() == 1
    assert not default_storage.exists(finished.file.name)
    assert not default_storage.exists(finished.pdf_file.name)


# --- The schedule ---


@NO_SOFFICE
def test_the_schedule_makes_each_quarters_bulletin_once(report, tree, users, time_machine):
    Plan.objects.filter(pk=report.plan.pk).update(status=PlanStatus.PUBLISHED)
    time_machine.move_to(dt.datetime(2024, 6, 1, 9, tzinfo=dt.UTC))
    assert schedule.last_closed_period(dt.date(2024, 6, 1)) == report.q4
    assert scheduled_bulletins_task.delay().get() == 1
    made = ExportJob.objects.get()
    assert (made.kind, made.scheduled, made.scope, made.period) == ("bulletin", True, tree.city, report.q4)
    assert made.status == ExportStatus.DONE
    assert made.file
    # Nobody asked: the bureau's administrators and inspectors are told.
    assert set(Notification.objects.values_list("user__username", flat=True)) == {"ivan", "bea"}
    # A second run (the next hour) owes nothing.
    assert scheduled_bulletins_task.delay().get() == 0
    assert schedule.due_bulletins(dt.date(2024, 6, 2)) == []
    assert ExportJob.objects.count() == 1


def test_the_schedule_skips_draft_plans_and_quarters_not_yet_due(report):
    assert schedule.due_bulletins(dt.date(2024, 6, 1)) == []  # the plan is a draft
    Plan.objects.filter(pk=report.plan.pk).update(status=PlanStatus.PUBLISHED)
    # 2023Q1 opened on 1 January and is due 100 days later.
    assert schedule.due_bulletins(dt.date(2023, 3, 1)) == []


@pytest.mark.parametrize("extension", ["docx", "pdf"])
def test_file_names(report, tree, extension):
    named = ExportJob(kind=ExportKind.BULLETIN, plan=report.plan, scope=tree.d1, period=report.q4)
    assert job.filename(named, extension) == f"p2023-D1-2023Q4-bulletin.{extension}"
