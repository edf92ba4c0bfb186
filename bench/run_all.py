"""Run every bench/bench_*.py against PostgreSQL; write bench/results.json and BENCHMARKS.md.

Each benchmark module exposes ``run() -> list[dict]`` with ``{"name", "value", "unit"}`` rows (plus optional
``goal`` and ``note``). Each runs in its own process so that it can set up Django with its own database.

    make bench                      # all of them, at the default 20,000 units
    .venv/bin/python bench/run_all.py engine upload   # a subset, by name
    make bench UNITS=100000         # = run_all.py --units 100000: the tree-size benchmarks at 100,000 units

``--units N`` (N other than 20,000) sets ``BENCH_UNITS`` for the benchmarks that build a tree (engine, progress,
reports, lists, windows; each builds its own ``<database>_N`` once) and writes ``bench/results-N.json`` only: the
table of BENCHMARKS.md stays the 20,000-unit one, the large run's numbers go to its hand-written sections.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
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
    results: list[dict[str, object]] = []
    for path in paths:
        print(f"running {path.name} …", flush=True)
        rows = run_one(path)
        for row in rows:
            row.setdefault("bench", path.stem)
        results.extend(rows)
    if units is not None and units != 20000:
        out = ROOT / "bench" / f"results-{units}.json"
        out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
        print(f"{len(results)} rows written to {out.relative_to(ROOT)}")
        return 1 if any(r.get("value") is None for r in results) else 0
    results = merge_with_previous(results, {p.stem for p in paths})
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    write_markdown(results)
    failed = [r for r in results if r.get("value") is None]
    return 1 if failed else 0


def merge_with_previous(results: list[dict[str, object]], ran: set[str]) -> list[dict[str, object]]:
    """Keep the rows of benchmarks not run this time, so a subset run does not erase the others' numbers."""
    previous_path = ROOT / "bench" / "results.json"
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
    path = ROOT / "BENCHMARKS.md"
    kept = hand_written_sections(path.read_text() if path.exists() else "")
    path.write_text("\n".join(lines) + "\n" + ("\n" + kept if kept else ""))


def hand_written_sections(text: str) -> str:
    """The sections after the generated table and its notes (measured by hand, with their own commands): from the
    first level-2 heading other than "## Notes" to the end. Rewriting the table must not lose them."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("## ") and line.strip() != "## Notes":
            return "\n".join(lines[index:]).rstrip("\n") + "\n"
    return ""


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
