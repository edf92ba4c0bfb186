"""Plan-document parser against the demo plans built from the two seed documents.

For seeds 000 and 001, parse the text and compare the proposed targets with ``demo/data/plan_00X.json``:

* found: demo targets matched by a proposal (same sentence: one text contains the other and covers at least half
  of it, or a close match) with the right kind and numbers (kind, comparator, target value, upper value; a
  proposal's ``improves`` counts for a demo target with no value). Also shown: found with milestone/narrative
  taken as one qualitative kind, and found among the measured kinds only.
* extra: proposals matching no demo target, split by confidence (≥ 0.5 shown as suggestions, < 0.5 as low).
* noise: sections, work items or targets whose text holds web boilerplate, page markers, page counters, phone
  numbers or addresses (goal 0).
* time: median parse time of each seed over repeated runs.

Usage: ``python bench/bench_docparse.py [SEEDS_DIR]`` (or ``DOCPARSE_SEEDS``); default ``../shared/seeds`` next to
the repository. Skips cleanly when the seeds are absent. ``--markdown`` prints a table for BENCHMARKS.md.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from plans.docparse import PlanDraft, parse_text  # noqa: E402
from plans.docparse.compare import compare_targets  # noqa: E402

NOISE_RE = re.compile(
    r"taowenge|淘文阁|精选文档|会员分享|在线阅读|下载|本站|網友|网友上传|客服|導語|导语|时间:|時間:|供大家参考|为大家整理"
    r"|[-—]\s*\d{1,3}\s*[-—](?!\d)|第\s*\d+\s*页|共\s*\d+\s*页|cjkhx|\d{7,}|@|www\.|\.com"
    r"|[\u4e00-\u9fff]\s*\d{1,2}、\s*[\u4e00-\u9fff]{1,2}(?=\S)"
)


def compare(draft: PlanDraft, demo: dict) -> dict[str, object]:
    """Match the draft's targets with the demo plan's (``plans.docparse.compare``) and count found / extra / noise."""
    proposals = [target.to_dict() for target in draft.targets]
    demo_targets = demo["targets"]
    result = compare_targets(demo_targets, proposals)
    extras = [proposals[i] for i in result.extras]
    texts = [s.title + s.intro for s in draft.sections] + [w.title + w.text for w in draft.work_items]
    texts += [t["text"] for t in proposals] + [draft.title, draft.guiding_ideas]
    noise_hits = [text for text in texts if NOISE_RE.search(text)]
    return {
        "demo_targets": len(demo_targets),
        "proposed": len(proposals),
        "found": len(result.found),
        "found_share": len(result.found) / len(demo_targets),
        "found_relaxed": len(result.relaxed),
        "measured_total": result.measured_total,
        "measured_found": result.measured_found,
        "extra_confident": sum(1 for t in extras if t["confidence"] >= 0.5),
        "extra_low": sum(1 for t in extras if t["confidence"] < 0.5),
        "noise": len(noise_hits),
        "noise_examples": [hit[:80] for hit in noise_hits[:5]],
        "missed": result.missed,
        "title_ok": draft.title == demo["title"],
        "year_ok": draft.year == demo["year"],
        "sections": len(draft.sections),
        "work_items": len(draft.work_items),
    }


def time_parse(text: str, runs: int = 20) -> float:
    """Median seconds to parse ``text``."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        parse_text(text)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def seeds_dir(args: list[str]) -> Path:
    """The seed folder: the argument, ``DOCPARSE_SEEDS``, or ``shared/seeds`` next to the repository."""
    default = next(
        (folder / "shared" / "seeds" for folder in ROOT.parents if (folder / "shared" / "seeds").is_dir()),
        ROOT.parent / "shared" / "seeds",
    )
    return Path(args[0] if args else os.environ.get("DOCPARSE_SEEDS") or default)


def measure(seeds: Path) -> list[dict[str, object]]:
    """Comparison rows for every seed that has a demo plan."""
    rows = []
    for number in ("000", "001"):
        files = sorted(seeds.glob(f"{number}_*.txt"))
        demo_file = ROOT / "demo" / "data" / f"plan_{number}.json"
        if not files or not demo_file.exists():
            continue
        text = files[0].read_text(encoding="utf-8")
        demo = json.loads(demo_file.read_text(encoding="utf-8"))
        result = compare(parse_text(text), demo)
        result["seconds"] = time_parse(text)
        result["chars"] = len(text)
        result["seed"] = number
        rows.append(result)
    return rows


def run() -> list[dict[str, object]]:
    """Rows for ``bench/run_all.py``; none when the seeds are absent."""
    seeds = seeds_dir([])
    if not seeds.is_dir():
        return []
    out: list[dict[str, object]] = []
    for r in measure(seeds):
        seed = f"seed {r['seed']}"
        out += [
            {
                "name": f"{seed}: demo targets found with right kind and numbers",
                "value": round(100 * r["found_share"]),
                "unit": "%",
                "goal": "≥ 90 %",
                "note": f"{r['found']}/{r['demo_targets']}; measured kinds "
                f"{r['measured_found']}/{r['measured_total']}; milestone≈narrative {r['found_relaxed']}",
            },
            {"name": f"{seed}: extra proposals, confidence ≥ 0.5", "value": r["extra_confident"], "unit": "targets"},
            {"name": f"{seed}: extra proposals, confidence < 0.5", "value": r["extra_low"], "unit": "targets"},
            {"name": f"{seed}: noise taken for plan", "value": r["noise"], "unit": "texts", "goal": "0"},
            {"name": f"{seed}: parse time", "value": round(r["seconds"] * 1000, 1), "unit": "ms", "goal": "< 1 s"},
        ]
    return out


def main(argv: list[str]) -> int:
    """Run the comparison for every seed with a demo plan; print a report (or a markdown table)."""
    args = [arg for arg in argv if not arg.startswith("--")]
    seeds = seeds_dir(args)
    if not seeds.is_dir():
        print(f"skipped: no seed directory at {seeds}")
        return 0
    rows = measure(seeds)
    # A 20-page plan: seed 000 (11 pages) repeated to ~20 pages.
    if rows:
        text = sorted(seeds.glob("000_*.txt"))[0].read_text(encoding="utf-8")
        twenty = time_parse(text + "\n" + text, runs=5)
    if "--markdown" in argv:
        print(
            "| seed | demo targets | found (kind + numbers) | found, milestone≈narrative | measured found | "
            "proposed | extra (conf ≥ 0.5) | extra (conf < 0.5) | noise taken for plan | parse time |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(
                f"| {r['seed']} | {r['demo_targets']} | {r['found']} ({r['found_share']:.0%}) | {r['found_relaxed']} "
                f"({r['found_relaxed'] / r['demo_targets']:.0%}) | {r['measured_found']}/{r['measured_total']} | "
                f"{r['proposed']} | {r['extra_confident']} | {r['extra_low']} | {r['noise']} | "
                f"{r['seconds'] * 1000:.0f} ms |"
            )
        print(f"\n22 pages (seed 000 twice, {len(text) * 2} characters): {twenty * 1000:.0f} ms.")
        return 0
    for r in rows:
        print(f"seed {r['seed']}: {r['chars']} chars, parse {r['seconds'] * 1000:.1f} ms")
        print(f"  title ok {r['title_ok']}, year ok {r['year_ok']}, sections {r['sections']}, items {r['work_items']}")
        print(
            f"  found {r['found']}/{r['demo_targets']} ({r['found_share']:.0%}), relaxed {r['found_relaxed']}, "
            f"measured {r['measured_found']}/{r['measured_total']}"
        )
        print(f"  proposed {r['proposed']}, extra ≥0.5: {r['extra_confident']}, extra <0.5: {r['extra_low']}")
        print(f"  noise {r['noise']} {r['noise_examples']}")
        for line in r["missed"]:
            print("   -", line)
    if rows:
        print(f"22 pages: {twenty * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
