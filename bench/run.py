"""Run every benchmark in bench/ and write bench/results.json.

Each `bench/bench_<name>.py` defines `run() -> dict[str, dict]`: entries keyed by benchmark name, each
with at least `seconds`, `floor_seconds` and `ratio` (ours ÷ the floor measured in the same run), and
where it applies `rows`, `peak_rss_mb` and `target`. Ratios, not times, are what compare across machines.

Usage: python bench/run.py [name ...]
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outage_portal.settings")


def main(selected: list[str]) -> int:
    results_path = HERE / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    modules = sorted(HERE.glob("bench_*.py"))
    if selected:
        modules = [m for m in modules if m.stem.removeprefix("bench_") in selected]
    if not modules:
        print("No benchmarks matched.")
        return 1
    failed = False
    for path in modules:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print(f"== {path.stem}")
        for name, entry in module.run().items():
            results[name] = entry
            target = entry.get("target")
            verdict = ""
            if target is not None:
                ok = entry["ratio"] >= target if entry.get("higher_is_better") else entry["ratio"] <= target
                verdict = (
                    f"  target {'≥' if entry.get('higher_is_better') else '≤'} {target}: {'ok' if ok else 'MISSED'}"
                )
                failed |= not ok
            rss = f"  peak {entry['peak_rss_mb']:.0f} MB" if entry.get("peak_rss_mb") is not None else ""
            timing = f"{entry['seconds']:.3f}s vs floor {entry['floor_seconds']:.3f}s"
            print(f"{name}: ratio {entry['ratio']:.2f} ({timing}){rss}{verdict}")
    results_path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"Results written to {results_path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
