"""The stress suite: `dedup run` on exports whose shape differs from the bundled sample's.

    python benchmarks/stress.py --cases a b c d --sizes 100000 400000 1280000

For each case and size it generates (or reuses) the export with `benchmarks/stress_data.py` under
--data, runs `dedup run` through the CLI in a fresh process, samples the proportional set size (PSS)
of that process and every process it forks (`/proc/PID/smaps_rollup`, every --sample seconds), and
scores `assignments.csv` against the case's gold topics. It prints one Markdown table (wall seconds,
µs per item, peak PSS of all processes together, per-stage seconds, B-cubed and pairwise figures,
where the work bounds cut) and writes the rows to --json. `--set key=value` is passed to every run,
e.g. `--set cluster.candidates=0` to measure a bound's effect on quality.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def ensure(case: str, n: int, seed: int, data: Path) -> Path:
    folder = data / f"stress-{case}-n{n}-s{seed}"
    if not (folder / "gold.csv").exists():
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "stress_data.py"), "--case", case, "--n", str(n),
                        "--seed", str(seed), "--out", str(folder)], check=True)
    return folder


def _tree(pid: int) -> list[int]:
    """pid and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _pss_kib(pids: list[int]) -> int:
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


def measure(command: list[str], every: float) -> tuple[float, int, subprocess.CompletedProcess]:
    """Wall seconds, peak PSS (KiB) of the process tree, and the finished process."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    peak = [0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], _pss_kib(_tree(proc.pid)))
            time.sleep(every)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    sampler.join()
    return wall, peak[0], subprocess.CompletedProcess(command, proc.returncode, out, err)


def score(folder: Path, out: Path) -> dict:
    from dedup.tools.metrics import cluster_metrics

    with open(out / "assignments.csv", encoding="utf-8-sig", newline="") as fh:
        pred = {r["id"]: r["topic_id"] for r in csv.DictReader(fh)}
    with open(folder / "gold.csv", encoding="utf-8-sig", newline="") as fh:
        gold = {r["id"]: r["topic"] for r in csv.DictReader(fh)}
    ids = sorted(gold)
    return cluster_metrics([pred.get(i, f"missing-{i}") for i in ids], [gold[i] for i in ids])


def run_case(case: str, n: int, args: argparse.Namespace) -> dict:
    folder = ensure(case, n, args.seed, args.data)
    work = Path(tempfile.mkdtemp(prefix=f"stress-{case}-{n}-", dir=args.tmp))
    try:
        command = [sys.executable, "-m", "dedup.cli", "run", str(folder / "export.csv"), "--db",
                   str(work / "db.sqlite"), "--out", str(work / "out")]
        for kv in args.set:
            command += ["--set", kv]
        wall, peak, done = measure(command, args.sample)
        if done.returncode:
            return {"case": case, "items": n, "failed": done.returncode, "stderr": done.stderr[-2000:], "wall_s": wall,
                    "peak_pss_mib": peak / 1024}
        record = json.loads((work / "out" / "run.json").read_text(encoding="utf-8"))
        metrics = score(folder, work / "out")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    counts = record.get("counts", {})
    return {"case": case, "items": n, "wall_s": wall, "peak_pss_mib": peak / 1024, "metrics": metrics,
            "timings": record.get("timings", {}), "counts": counts, "settings": args.set}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=["a", "b", "c", "d"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 400_000, 1_280_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--sample", type=float, default=0.5, help="seconds between PSS samples")
    parser.add_argument("--data", type=Path, default=ROOT / "benchmarks" / "data")
    parser.add_argument("--tmp", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "stress.json")
    args = parser.parse_args()
    rows = []
    print("| case | items | wall s | µs/item | peak PSS MiB | cluster s | B-cubed P / R / F1 | pairwise P "
          "| topics / true | bounds cut (buckets, texts, pairs) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- |", flush=True)
    for case in args.cases:
        for n in args.sizes:
            r = run_case(case, n, args)
            rows.append(r)
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(rows, indent=2, ensure_ascii=False), encoding="utf-8")
            if "failed" in r:
                print(f"| {case} | {n:,} | failed (exit {r['failed']}) after {r['wall_s']:.1f} s | | "
                      f"{r['peak_pss_mib']:,.0f} | | | | | |", flush=True)
                continue
            m, c = r["metrics"], r["counts"]
            print(f"| {case} | {n:,} | {r['wall_s']:.1f} | {r['wall_s'] / n * 1e6:.0f} | {r['peak_pss_mib']:,.0f} | "
                  f"{r['timings'].get('cluster', 0):.1f} | {m['bcubed_precision']:.3f} / {m['bcubed_recall']:.3f} / "
                  f"{m['bcubed_f1']:.3f} | {m['pairwise_precision']:.3f} | {m['topic_ratio']:.2f} | "
                  f"{c.get('cluster_buckets_capped', 0):,}, {c.get('cluster_nodes_capped', 0):,}, "
                  f"{c.get('cluster_pairs_dropped', 0):,} |", flush=True)
    print("\nstages, seconds:")
    done = [r for r in rows if "timings" in r]
    stages = list(dict.fromkeys(s for r in done for s in r["timings"]))
    print("| case | items | " + " | ".join(stages) + " |")
    print("| --- | ---: | " + " | ".join("---:" for _ in stages) + " |")
    for r in done:
        print(f"| {r['case']} | {r['items']:,} | " + " | ".join(f"{r.get('timings', {}).get(s, 0):.1f}"
                                                              for s in stages) + " |")


if __name__ == "__main__":
    main()
