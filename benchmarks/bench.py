"""Speed and quality of `dedup run` against the naive pipeline, side by side on the same data.

    python benchmarks/bench.py --sizes 100000 400000 1280000 --naive-sizes 100000 400000

For each size it generates (or reuses) `dedup sample --n N --seed 2` under --data, runs each pipeline
in its own process (so peak memory is that pipeline's own), scores it against gold.csv and prints one
Markdown table plus our per-stage seconds. Results are also written to --json.

Wall seconds are the run's: from before its imports to its output (for ours, every export written);
scoring against gold.csv comes after and is not counted. `process_wall_s` in the JSON is the child
process's whole life, scoring and interpreter start included.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: make `benchmarks.naive` importable


def ensure_data(data: Path, n: int, seed: int) -> Path:
    folder = data / f"n{n}-s{seed}"
    if not (folder / "export.csv").exists():
        subprocess.run([sys.executable, "-m", "dedup.cli", "sample", "--n", str(n), "--history", "1000",
                        "--seed", str(seed), "--out", str(folder)], check=True, cwd=ROOT)
    return folder


def child(kind: str, export: Path, gold: Path) -> None:
    """Run one pipeline in this process and print its figures as JSON."""
    start = time.perf_counter()
    if kind == "naive":
        from benchmarks.naive import naive_topics, read_export

        ids, texts = read_export(export)
        topics = naive_topics(ids, texts)
        wall = time.perf_counter() - start
        timings = {}
    else:
        from dedup.batch.pipeline import run
        from dedup.config import load_config

        beside = Path(export).parent / "dedup.toml"  # `dedup sample` writes one naming its gazetteer
        with tempfile.TemporaryDirectory() as tmp:
            report = run([export], Path(tmp) / "db.sqlite", Path(tmp) / "out",
                         load_config(beside if beside.exists() else None),
                         model_path=ROOT / "models" / "department.joblib")
            wall = time.perf_counter() - start  # CSV in, every export out: reading them back to score is not the run
            with open(Path(tmp) / "out" / "assignments.csv", encoding="utf-8-sig", newline="") as fh:
                topics = {r["id"]: r["topic_id"] for r in csv.DictReader(fh)}
            timings = report.timings
    from dedup.tools.metrics import cluster_metrics  # (after the clock: scoring is not the run)

    with open(gold, encoding="utf-8-sig", newline="") as fh:
        truth = {r["id"]: r["topic"] for r in csv.DictReader(fh)}
    ids = sorted(truth)
    metrics = cluster_metrics([topics[i] for i in ids], [truth[i] for i in ids])
    # Workers are forked and share the parent's pages until written, so their RSS is not added to ours;
    # the largest one is reported beside it.
    print(json.dumps({"wall_s": wall, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "peak_worker_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                      "metrics": metrics, "timings": timings}), flush=True)
    os._exit(0)  # as the dedup program ends (cli.program): neither pipeline's objects are freed one by one


def measure(kind: str, folder: Path) -> dict:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", kind,
                          str(folder / "export.csv"), str(folder / "gold.csv")],
                         check=True, capture_output=True, text=True, cwd=ROOT)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = time.perf_counter() - start
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 400_000, 1_280_000])
    parser.add_argument("--naive-sizes", type=int, nargs="*", default=[100_000])
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--data", type=Path, default=ROOT / "benchmarks" / "data")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results.json")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "EXPORT", "GOLD"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    rows = []
    print("| items | pipeline | wall s | items/s | peak RSS MiB (largest worker) | B-cubed F1 | pairwise precision "
          "| speed-up |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |", flush=True)
    for n in args.sizes:
        folder = ensure_data(args.data, n, args.seed)
        row = {"items": n, "ours": measure("ours", folder), "naive": None}
        if n in args.naive_sizes:
            row["naive"] = measure("naive", folder)
        rows.append(row)
        for kind in ("naive", "ours"):
            r = row[kind]
            if r is None:
                continue
            wall = r["wall_s"]
            ratio = f"{row['naive']['wall_s'] / wall:.1f}x" if kind == "ours" and row["naive"] else ""
            memory = f"{r['peak_rss_mib']:,.0f} ({r.get('peak_worker_rss_mib', 0):,.0f})"
            print(f"| {n:,} | {kind} | {wall:.1f} | {n / wall:,.0f} | {memory} | "
                  f"{r['metrics']['bcubed_f1']:.4f} | {r['metrics']['pairwise_precision']:.4f} | {ratio} |",
                  flush=True)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    print("\nour stages, seconds:")
    stages = list(rows[-1]["ours"]["timings"])
    print("| items | " + " | ".join(stages) + " |")
    print("| ---: | " + " | ".join("---:" for _ in stages) + " |")
    for row in rows:
        print(f"| {row['items']:,} | " + " | ".join(f"{row['ours']['timings'].get(s, 0):.1f}" for s in stages) + " |")


if __name__ == "__main__":
    main()
