"""Run every bench/bench_*.py against PostgreSQL; write bench/results.json and BENCHMARKS.md.

Each benchmark module exposes ``run() -> list[dict]`` with ``{"name", "value", "unit"}`` rows (plus optional
``goal`` and ``note``). Each runs in its own process so that it can set up Django with its own database.

    make bench                      # all of them, at the default 20,000 units
    .venv/bin/python bench/run_all.py engine upload   # a subset, by name
    make bench UNITS=100000         # = run_all.py --units 100000: the tree-size benchmarks at 100,000 units

``--units N`` (N other than 20,000) runs the tree-size benchmarks (``TREE_SIZE``) with ``BENCH_UNITS=N`` (each
works on a fresh copy of ``bench_world_<N>``, built once by ``bench/world.py``) and writes ``bench/results-N.json``
(merged with the rows of benchmarks not run this time): the main table of BENCHMARKS.md stays the 20,000-unit one.
Both runs (re)write the generated "Issue 17: done when" section: each figure of the issue's table at 20,000 units
(``results.json``) and 100,000 units (``results-100000.json``), their ratio, the goal, and met / not met computed
from the numbers.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNNER = """
import importlib, json, sys
sys.path.insert(0, {root!r}); sys.path.insert(0, {bench!r})
rows = importlib.import_module({module!r}).run()
print("BENCH-RESULTS " + json.dumps(rows, default=str))
"""


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    return f"{os.cpu_count()} cores ({cpu}){mem}, Python {platform.python_version()}, {pg}"


def run_one(path: Path) -> list[dict[str, object]]:
    code = RUNNER.format(root=str(ROOT), bench=str(path.parent), module=path.stem)
    env = {**os.environ, "DEBUG": "1"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    sys.stderr.write(result.stderr[-4000:])
    for line in result.stdout.splitlines():
        if line.startswith("BENCH-RESULTS "):
            return json.loads(line[len("BENCH-RESULTS ") :])
    return [{"name": f"{path.stem}: failed (exit {result.returncode})", "value": None, "unit": ""}]


def main(selected: list[str]) -> int:
    units = None
    if "--units" in selected:
        at = selected.index("--units")
        units = int(selected[at + 1])
        selected = selected[:at] + selected[at + 2 :]
        os.environ["BENCH_UNITS"] = str(units)
    paths = sorted((ROOT / "bench").glob("bench_*.py"))
    if selected:
        paths = [p for p in paths if p.stem.removeprefix("bench_") in selected]
    elif units is not None and units != DEFAULT_UNITS:
        paths = [p for p in paths if p.stem.removeprefix("bench_") in TREE_SIZE]
    results: list[dict[str, object]] = []
    for path in paths:
        print(f"running {path.name} …", flush=True)
        rows = run_one(path)
        # When and under what load: the issue-17 table says it per size (a shared machine's numbers need it).
        stamp = {"measured": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"), "load": load()}
        for row in rows:
            row.setdefault("bench", path.stem)
            row.update(stamp)
        results.extend(rows)
    ran = {p.stem for p in paths}
    if units is not None and units != DEFAULT_UNITS:
        out = ROOT / "bench" / f"results-{units}.json"
        results = merge_with_previous(results, ran, out)
        out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
        print(f"{len(results)} rows written to {out.relative_to(ROOT)}")
        if units == LARGE_UNITS:
            path = ROOT / "BENCHMARKS.md"
            text = path.read_text() if path.exists() else "# Benchmarks\n"
            path.write_text(replace_issue17_section(text, issue17_section(read_results(DEFAULT_UNITS), results)))
        return 1 if any(r.get("value") is None for r in results) else 0
    results = merge_with_previous(results, ran, ROOT / "bench" / "results.json")
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    write_markdown(results)
    failed = [r for r in results if r.get("value") is None]
    return 1 if failed else 0


def load() -> str:
    """``uptime``'s load averages (1, 5, 15 min) at the end of a benchmark."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def read_results(units: int) -> list[dict[str, object]]:
    path = ROOT / "bench" / ("results.json" if units == DEFAULT_UNITS else f"results-{units}.json")
    try:
        rows = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return rows if isinstance(rows, list) else []


def merge_with_previous(
    results: list[dict[str, object]], ran: set[str], previous_path: Path | None = None
) -> list[dict[str, object]]:
    """Keep the rows of benchmarks not run this time, so a subset run does not erase the others' numbers."""
    previous_path = previous_path or ROOT / "bench" / "results.json"
    try:
        previous = json.loads(previous_path.read_text())
    except (OSError, ValueError):
        return results
    kept = [row for row in previous if row.get("bench") not in ran]
    merged = kept + results
    order = {path.stem: index for index, path in enumerate(sorted((ROOT / "bench").glob("bench_*.py")))}
    return sorted(merged, key=lambda row: order.get(str(row.get("bench")), len(order)))


def write_markdown(results: list[dict[str, object]]) -> None:
    lines = [
        "# Benchmarks",
        "",
        f"Measured {datetime.date.today().isoformat()} on {machine()}.",
        "",
        "Reproduce: `make bench` (PostgreSQL at 127.0.0.1:5432; each benchmark creates its own database). "
        "Raw numbers: `bench/results.json`. What each benchmark does: `bench/README.md`.",
        "",
        "| benchmark | measure | value | unit | goal |",
        "|---|---|---|---|---|",
    ]
    for row in results:
        value = row.get("value")
        shown = f"{value:,.2f}" if isinstance(value, float) else str(value)
        cells = [row.get("bench"), row.get("name"), shown, row.get("unit", ""), row.get("goal", "")]
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    notes = [f"- {row['bench']} · {row['name']}: {row['note']}" for row in results if row.get("note")]
    if notes:
        lines += ["", "## Notes", "", *notes]
    lines += ["", *issue17_section(results, read_results(LARGE_UNITS)).rstrip("\n").splitlines()]
    path = ROOT / "BENCHMARKS.md"
    kept = hand_written_sections(path.read_text() if path.exists() else "")
    path.write_text("\n".join(lines) + "\n" + ("\n" + kept if kept else ""))


def _generated(line: str) -> bool:
    return line.strip() == "## Notes" or line.startswith(ISSUE17_HEADING)


def hand_written_sections(text: str) -> str:
    """The sections after the generated table, its notes and the issue-17 table (measured by hand, with their own
    commands): from the first level-2 heading not generated here to the end. Rewriting must not lose them."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("## ") and not _generated(line):
            return "\n".join(lines[index:]).rstrip("\n") + "\n"
    return ""


def replace_issue17_section(text: str, section: str) -> str:
    """``text`` with its generated issue-17 section replaced by ``section`` (inserted before the hand-written
    sections when there is none yet); everything else is kept as it is."""
    lines = text.rstrip("\n").splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(ISSUE17_HEADING)), None)
    if start is None:
        kept = hand_written_sections(text)
        head = text[: len(text) - len(kept)] if kept and text.endswith(kept) else text
        return head.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n" + ("\n" + kept if kept else "")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    before, after = lines[:start], lines[end:]
    out = "\n".join(before).rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    return out + ("\n" + "\n".join(after) + "\n" if after else "")


# --- "Issue 17: done when": the issue's table, from the rows of one run per size -------------------------------

DEFAULT_UNITS = 20000
LARGE_UNITS = 100000
# The benchmarks whose size follows BENCH_UNITS (each on a copy of bench_world_<N>): what --units N runs.
TREE_SIZE = {"api_pages", "approval", "dispersion", "engine", "first_build", "lists", "progress", "reports", "windows",
             "workers"}  # fmt: skip
ISSUE17_HEADING = "## Issue 17: done when"
# Rows of the window bench that are not a stored-window read (the computed statement, the old definition).
NOT_STORED_WINDOW = r"computed statement|before issue 17"
Check = Callable[[float | None, float | None], bool | None]


def _each(test: Callable[[float], bool], *, both: bool = False, large: bool = False) -> Check:
    """A check of every measured size's value (``both``: both must be measured; ``large``: the 100k value only)."""

    def check(small: float | None, big: float | None) -> bool | None:
        values = [big] if large else [small, big]
        if (both or large) and any(v is None for v in values):
            return None
        measured = [v for v in values if v is not None]
        return all(test(v) for v in measured) if measured else None

    return check


def _approval(small: float | None, big: float | None) -> bool | None:
    if small is None or big is None:
        return None
    return small <= 100 and big <= 100 and big <= 1.5 * small


@dataclass(frozen=True)
class Figure:
    """One row of the issue's "Done when" table: the benchmark row that measures it (by bench and name pattern)."""

    label: str
    bench: str
    pattern: str
    goal: str
    check: Check
    exclude: str = ""

    def find(self, rows: list[dict[str, object]]) -> dict[str, object] | None:
        for row in rows:
            name = str(row.get("name", ""))
            if row.get("bench") != self.bench or not re.search(self.pattern, name):
                continue
            if self.exclude and re.search(self.exclude, name):
                continue
            if isinstance(row.get("value"), int | float):
                return row
        return None


API_LISTS = ["org-units", "submissions", "indicator-values", "designations", "users", "memberships"]

ISSUE17_FIGURES: list[Figure] = [
    Figure("whole approval task (values + progress), median, ms", "bench_approval",
           r"^approval task \(values \+ progress\)", "≤ 100 ms, and 100k ≤ 1.5× 20k", _approval),
    *[Figure(f"approvals/s, {n} worker{'s' if n > 1 else ''} (cpu workload)", "bench_workers",
             rf"^workers: approvals/s, cpu workload, {n} worker\(s\)", "grows with workers", _each(lambda v: v > 0))
      for n in (1, 2, 4)],
    Figure("approvals/s, 4 workers : 1", "bench_workers", r"^workers: 4 workers vs 1, cpu workload",
           "≥ 2.5×", _each(lambda v: v >= 2.5)),
    Figure("nightly run (values + progress) : engine-only full recompute", "bench_approval",
           r"^nightly run vs engine-only", "≤ 1.5×", _each(lambda v: v <= 1.5)),
    Figure("full recompute (empty table) : honest floor", "bench_engine", r"^\(a\)/\(b\) engine \(empty table\)",
           "≤ 2×", _each(lambda v: v <= 2)),
    Figure("full recompute (nightly, unchanged data) : honest floor", "bench_engine",
           r"^\(a\)/\(b\) engine \(nightly\)", "≤ 2×", _each(lambda v: v <= 2)),
    *[Figure(f"/api/v1/{name}/ last page (cursor), ms", "bench_api_pages",
             rf"^api pages: /api/v1/{name}/ last page .*, by cursor$", "≤ 200 ms at 100k",
             _each(lambda v: v <= 200, large=True))
      for name in API_LISTS],
    *[Figure(f"{window} value at {where}, ms", "bench_windows", rf"^windows: {pattern}.*at the {at}",
             "≤ 200 ms", _each(lambda v: v <= 200), exclude=NOT_STORED_WINDOW)
      for window, pattern in (("year", "year "), ("H1", r".*\bH1\b"), ("H2", r".*\bH2\b"))
      for where, at in (("the root", "root"), ("~2,000 units", r"\d+ districts \(\d+ units\)"))],
    Figure("drill-down export of every school (20k: ~19,500 rows) as a background job, s", "bench_lists",
           r"^lists: drill-down export of \d+ rows, \.xlsx as a background export job",
           "a job, ≤ 3 s for ~20k rows (judged at 20k)", lambda small, big: None if small is None else small <= 3),
    Figure("dashboard HTML at the root, bytes", "bench_api_pages", r"^api pages: dashboard HTML, scope GEN,",
           "< 100 KB at 100k", _each(lambda v: v < 100 * 1024, large=True)),
]  # fmt: skip


def _shown(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}".rstrip("0").rstrip(".")


def _when(rows: list[dict[str, object]]) -> str:
    """The dates and load averages of the rows the table used, for one size."""
    if not rows:
        return "not measured"
    dates = sorted({str(r["measured"]) for r in rows if r.get("measured")})
    loads = [str(r["load"]).split()[0] for r in rows if r.get("load")]
    undated = sum(1 for r in rows if not r.get("measured"))
    parts = []
    if dates:
        parts.append(dates[0] if len(dates) == 1 else f"{dates[0]} – {dates[-1]}")
        parts.append(f"`uptime` load (1 min) {min(loads, key=float)}–{max(loads, key=float)}" if loads else "")
    if undated:
        parts.append(f"{undated} figure(s) from runs before the date was recorded (see their sections below)")
    return "; ".join(p for p in parts if p)


def issue17_section(small: list[dict[str, object]], large: list[dict[str, object]]) -> str:
    """The generated "Issue 17: done when" section: one row per figure of the issue's table."""
    lines = [
        f"{ISSUE17_HEADING} (generated from bench/results.json and bench/results-{LARGE_UNITS}.json)",
        "",
        "Written by `make bench` and `make bench UNITS=100000` (both rewrite this section; `met` is computed from the "
        "numbers, `—` = not measured at that size). The machine is shared: compare with the load.",
        "",
    ]
    table = [
        "| figure | 20k | 100k | 100k / 20k | goal | met |",
        "|---|---|---|---|---|---|",
    ]
    used: dict[int, list[dict[str, object]]] = {DEFAULT_UNITS: [], LARGE_UNITS: []}
    for figure in ISSUE17_FIGURES:
        row_small, row_large = figure.find(small), figure.find(large)
        values: list[float | None] = []
        for units, row in ((DEFAULT_UNITS, row_small), (LARGE_UNITS, row_large)):
            if row is not None:
                used[units].append(row)
            values.append(float(row["value"]) if row is not None else None)  # type: ignore[arg-type]
        v_small, v_large = values
        ratio = f"{v_large / v_small:.2f}×" if v_small and v_large is not None else "—"
        verdict = figure.check(v_small, v_large)
        met = "not measured" if verdict is None else ("**met**" if verdict else "**not met**")
        table.append(f"| {figure.label} | {_shown(v_small)} | {_shown(v_large)} | {ratio} | {figure.goal} | {met} |")
    lines += [
        f"- 20,000 units: {_when(used[DEFAULT_UNITS])}.",
        f"- 100,000 units: {_when(used[LARGE_UNITS])}.",
        "",
        *table,
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
