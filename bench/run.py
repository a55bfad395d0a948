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
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outage_portal.settings")


def _run_in_own_process(path: Path) -> dict:
    """Each benchmark runs in a fresh interpreter: its peak memory is its own, and one benchmark's
    Django settings (each may point DATABASE_URL at its scratch database) never leak into the next.
    Its own output goes straight to the terminal; its entries come back through a file."""
    with tempfile.NamedTemporaryFile(suffix=".json") as entries:
        subprocess.run([sys.executable, __file__, "--child", str(path), entries.name], check=True)
        return json.loads(Path(entries.name).read_text())


def _child(path: Path, entries_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    entries_path.write_text(json.dumps(module.run(), ensure_ascii=False, default=str))


def _describe(name: str, entry: dict) -> str:
    if "p95_ms" in entry:  # a page: server time under concurrent load, judged on its p95
        verdict = f"  target p95 ≤ {entry['target']} ms: {'ok' if _meets(entry) else 'MISSED'}"
        measured = f"p50 {entry['p50_ms']:.0f} ms, p95 {entry['p95_ms']:.0f} ms, {entry['queries']} queries"
        return f"{name}: {measured}{verdict}"
    if name == "growth":
        return _describe_growth(entry)
    target = entry.get("target")
    verdict = ""
    if target is not None:
        sign = "≥" if entry.get("higher_is_better") else "≤"
        verdict = f"  target {sign} {target}: {'ok' if _meets(entry) else 'MISSED'}"
    rss = f"  peak {entry['peak_rss_mb']:.0f} MB" if entry.get("peak_rss_mb") is not None else ""
    if entry.get("rps") is not None:
        measured = f"{entry['rps']:.0f} requests/s vs floor {entry['floor_rps']:.0f} requests/s"
        if entry.get("p99_ms") is not None:
            measured += f", p99 {entry['p99_ms']:.1f} ms vs {entry['floor_p99_ms']:.1f} ms"
    else:
        measured = f"{entry['seconds']:.3f}s vs floor {entry['floor_seconds']:.3f}s"
    return f"{name}: ratio {entry['ratio']:.2f} ({measured}){rss}{verdict}"


def _describe_growth(entry: dict) -> str:
    sizes = ", ".join(
        f"{s['rows']:,} rows {s['seconds']:.1f}s ({s['seconds_per_million']:.1f} s/M, {s['peak_rss_mb']:.0f} MB)"
        for s in entry["sizes"]
    )
    verdict = "ok" if _meets(entry) else "MISSED"
    return (
        f"growth: {sizes}; s/M {entry['time_growth']:.2f}× (target ≤ {entry['time_target']}), "
        f"RSS {entry['rss_growth']:.2f}× (target ≤ {entry['rss_target']}): {verdict}"
    )


def _meets(entry: dict) -> bool:
    if "p95_ms" in entry:
        return entry["p95_ms"] <= entry["target"]
    if "time_growth" in entry:
        return entry["time_growth"] <= entry["time_target"] and entry["rss_growth"] <= entry["rss_target"]
    target = entry.get("target")
    if target is None:
        return True
    return entry["ratio"] >= target if entry.get("higher_is_better") else entry["ratio"] <= target


def main(selected: list[str]) -> int:
    results_path = HERE / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    modules = sorted(HERE.glob("bench_*.py"))
    if selected:
        modules = [m for m in modules if m.stem.removeprefix("bench_") in selected]
    if not modules:
        print("No benchmarks matched.")
        return 1
    for path in modules:
        print(f"== {path.stem}", flush=True)
        for name, entry in _run_in_own_process(path).items():
            results[name] = entry
            print(_describe(name, entry))
    results_path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"Results written to {results_path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(Path(sys.argv[2]), Path(sys.argv[3]))
        raise SystemExit(0)
    raise SystemExit(main(sys.argv[1:]))
