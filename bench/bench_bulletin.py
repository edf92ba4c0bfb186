"""Benchmark: the quarterly bulletin (进展通报) of the whole plan at the root of 20,000 units, on PostgreSQL.

Database ``bench_bulletin`` (created if missing; its own, not ``bench_reports``'s) holds
``generate_dataset --units 20000 --seed 1`` and the plan, values and progress rows that ``bench_reports``
arranges (``bench_reports._arrange``: four targets over kindergartens, primary schools and every school).

Measured: the whole job as the worker runs it (``reports.exports.run_export_job`` on a fresh bulletin job: gather
the content, draw the charts, write the .docx, convert it to PDF with LibreOffice), median of 3 runs after a
warm-up, and the time of each step read from a run with the steps timed separately; the queries of the
gathering. Goal: ≤ 30 s for the whole plan and scope.

    .venv/bin/python bench/bench_bulletin.py
"""

from __future__ import annotations

import io
import statistics
import time
from typing import Any

DB_NAME = "bench_bulletin"
UNITS = 20_000
RUNS = 3


def _setup_django() -> None:
    from benchdb import setup_django

    setup_django("bulletin", DB_NAME, units=UNITS, world=True)


def _job(ctx: dict[str, Any], period: Any) -> Any:
    from reports.models import ExportJob, ExportKind

    return ExportJob.objects.create(
        kind=ExportKind.BULLETIN, plan=ctx["plan"], scope=ctx["root"], period=period, requested_by=ctx["user"]
    )


def run() -> list[dict[str, object]]:
    _setup_django()
    from bench_reports import _arrange
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reports import exports
    from reports.bulletin import content, docx_writer, pdf
    from reports.models import ExportJob, ExportStatus
    from submissions.models import Period

    ctx = _arrange()
    q4 = Period.objects.get(code="2023Q4")
    exports.run_export_job(_job(ctx, q4).pk)  # warm-up (LibreOffice's first start writes its profile)
    times = []
    notes = set()
    for _ in range(RUNS):
        job = _job(ctx, q4)
        started = time.perf_counter()
        exports.run_export_job(job.pk)
        times.append(time.perf_counter() - started)
        job = ExportJob.objects.get(pk=job.pk)
        assert job.status == ExportStatus.DONE, job.error
        notes.add(job.note or ("PDF ok" if job.pdf_file else "no PDF"))
    # The steps, one by one (same work as the job, outside it).
    with CaptureQueriesContext(connection) as captured:
        t0 = time.perf_counter()
        gathered = content.gather(ctx["plan"], ctx["root"], q4)
    t1 = time.perf_counter()
    drawn = docx_writer.draw_charts(gathered)
    t2 = time.perf_counter()
    buffer = io.BytesIO()
    docx_writer.write_docx(gathered, buffer, drawn)
    t3 = time.perf_counter()
    pdf.convert(buffer.getvalue())
    t4 = time.perf_counter()
    whole = round(statistics.median(times), 2)
    steps = f"收集数据 {t1 - t0:.2f} s ({len(captured.captured_queries)} queries), 绘制图表 {t2 - t1:.2f} s, "
    steps += f"生成 Word {t3 - t2:.2f} s, 转换 PDF {t4 - t3:.2f} s"
    return [
        {
            "name": f"bulletin: whole generation, .docx + PDF, plan at the root ({UNITS} units)",
            "value": whole,
            "unit": "s",
            "goal": "≤ 30 s",
            "note": f"median of {RUNS}; {'; '.join(sorted(notes))}; steps: {steps}",
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(f"{row['name']}: {row['value']} {row['unit']}" + (f"  (goal {row['goal']})" if row.get("goal") else ""))
        if row.get("note"):
            print(f"  {row['note']}")
