"""Incremental nights against a full rebuild, and the time of one night on a large database.

    python benchmarks/nights.py equivalence --n 60000 --nights 30
    python benchmarks/nights.py equivalence --export benchmarks/data/stress-a-n100000-s1/export.csv \
        --gold benchmarks/data/stress-a-n100000-s1/gold.csv --nights 10
    python benchmarks/nights.py night --db data/1280k.sqlite --n 20000

`equivalence` splits one generated month into nights by received time, runs them one by one, then
rebuilds a second copy of the database from the same items, and prints the B-cubed F1 between the
two assignments (and each against gold), and how many stored topics the nights merged and how many of
those merges joined topics whose items mostly share one true topic (a merge that heals an earlier split)
against those that do not (churn staff must undo). With `--export` and `--gold` it splits that export
(e.g. a stress case) instead of generating one. `night` generates a fresh night (new seed, ids that do not
collide) and times `dedup run` of it on an existing database.

    python benchmarks/nights.py tail --export benchmarks/data/stress-a-n1280000-s1/export.csv \
        --gold benchmarks/data/stress-a-n1280000-s1/gold.csv --n 20000 --db /tmp/tail.sqlite

`tail` holds back an export's last N items by received time, builds a database from the rest (once: an
existing --db is reused), then runs the N as one night through the CLI in a fresh process on a copy of
it: wall seconds, peak PSS of the night's processes together, and the stored topics it merged, judged
against the truth (healing an earlier split, or churn).
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real" / "teddy2020c_fj3_messages_groups.csv"
sys.path.insert(0, str(ROOT))

from dedup.batch.pipeline import rebuild, run  # noqa: E402
from dedup.config import Config, load_config  # noqa: E402
from dedup.tools.metrics import cluster_metrics  # noqa: E402
from dedup.tools.sample import generate, write  # noqa: E402


def read_assignments(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return {r["id"]: r["topic_id"] for r in csv.DictReader(fh)}


def _majority(assigned: dict[str, str], gold: dict[str, str]) -> dict[str, str]:
    """Each topic's most common true topic."""
    from collections import Counter, defaultdict

    votes: dict[str, Counter] = defaultdict(Counter)
    for item, topic in assigned.items():
        votes[topic][gold[item]] += 1
    return {topic: c.most_common(1)[0][0] for topic, c in votes.items()}


def real_rows(path: Path = REAL) -> list[dict]:
    """The real messages of 附件3 as export rows (title and detail), in time order; they have no channel."""
    from dedup.io.ingest import parse_time

    with path.open(encoding="utf-8", newline="") as fh:
        rows = [{"id": r["message_id"], "received_at": parse_time(r["time"]) or "", "channel": "",
                 "title": r["subject"], "content": r["detail"]} for r in csv.DictReader(fh)]
    return sorted(rows, key=lambda r: (r["received_at"], r["id"]))


def equivalence(n: int, nights: int, seed: int, export: Path | None = None, gold_path: Path | None = None,
                real: bool = False, overrides: list[str] | None = None) -> None:
    config = Config()  # real messages and stress exports: no gazetteer, as for a city that has none
    if real:
        rows, gold = real_rows(), None  # no topic truth: only the agreement with a rebuild is measured
    elif export is not None:
        with export.open(encoding="utf-8-sig", newline="") as fh:
            rows = sorted(csv.DictReader(fh), key=lambda r: (r["received_at"], r["id"]))
        with gold_path.open(encoding="utf-8-sig", newline="") as fh:
            gold = {g["id"]: g["topic"] for g in csv.DictReader(fh)}
        if (export.parent / "dedup.toml").exists():  # a generated sample's, naming its gazetteer
            config = load_config(export.parent / "dedup.toml")
    else:
        sample = generate(n, seed, history=0)
        config = Config().with_overrides({"places.gazetteer": str(sample.gazetteer.path)})
        rows = sorted(sample.export, key=lambda r: r["received_at"])
        gold = {g["id"]: g["topic"] for g in sample.gold}
    config = config.with_overrides(dict(kv.split("=", 1) for kv in overrides or []))
    from dedup.storage.store import Store

    merges = {"healing": 0, "churn": 0}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        db = tmp / "nightly.sqlite"
        size = -(-len(rows) // nights)
        night_seconds = []
        for k in range(nights):
            path = tmp / f"night{k:02d}.csv"
            with path.open("w", encoding="utf-8", newline="") as fh:
                w = csv.DictWriter(fh, ["id", "received_at", "channel", "title", "content"], extrasaction="ignore")
                w.writeheader()
                w.writerows(rows[k * size:(k + 1) * size])
            before = {}
            if k and gold is not None:
                store = Store(db)
                before = _majority(dict(store.assignments()), gold)
                store.close()
            start = time.perf_counter()
            report = run([path], db, None, config, model_path=tmp / "no-model")
            night_seconds.append(time.perf_counter() - start)
            for old, into in report.merged.items():
                merges["healing" if gold is None or before.get(old) == before.get(into) else "churn"] += 1
        run_out = tmp / "nightly-out"
        rebuilt = tmp / "rebuilt.sqlite"
        shutil.copy(db, rebuilt)
        shutil.copytree(str(db) + ".index", str(rebuilt) + ".index")
        rebuild(rebuilt, tmp / "rebuilt-out", config, model_path=tmp / "no-model")
        from dedup.storage.store import Store
        nightly = dict(Store(db).assignments())
        rebuilt_topics = read_assignments(tmp / "rebuilt-out" / "assignments.csv")
        ids = sorted(nightly)
        between = cluster_metrics([nightly[i] for i in ids], [rebuilt_topics[i] for i in ids])
        result = {"items": len(ids), "nights": nights, "seconds_per_night_mean": sum(night_seconds) / nights,
                  "bcubed_f1_nightly_vs_rebuild": between["bcubed_f1"],
                  "topics_nightly": len(set(nightly.values())), "topics_rebuild": len(set(rebuilt_topics.values()))}
        if gold is None:
            result["merges"] = merges["healing"]
        else:
            vs_gold_nightly = cluster_metrics([nightly[i] for i in ids], [gold[i] for i in ids])
            vs_gold_rebuilt = cluster_metrics([rebuilt_topics[i] for i in ids], [gold[i] for i in ids])
            result.update({"nightly_vs_gold_bcubed_f1": vs_gold_nightly["bcubed_f1"],
                           "nightly_vs_gold_pairwise_precision": vs_gold_nightly["pairwise_precision"],
                           "rebuild_vs_gold_bcubed_f1": vs_gold_rebuilt["bcubed_f1"],
                           "merges_healing": merges["healing"], "merges_churn": merges["churn"]})
        print(json.dumps(result, indent=2))
        del run_out


def night(db: Path, n: int, seed: int, config: Path | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sample = generate(n, seed, history=0)
        for row in sample.export:
            row["id"] = f"N{seed}-" + row["id"]
        paths = write(sample, tmp / "night")
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c",
                              "import resource, sys\nfrom dedup.cli import main\n"
                              "try:\n    main(standalone_mode=False)\nfinally:\n"
                              "    print('peak_rss_mib', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,"
                              " 'largest_worker_mib', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,"
                              " file=sys.stderr)",
                              "run", str(paths["export"]), "--db", str(db), "--out", str(tmp / "out"), "--no-progress",
                              *(["--config", str(config)] if config else [])],
                             capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - start
        print(out.stdout)
        print(out.stderr.strip().splitlines()[-1])
        print(f"night of {n} items on {db}: {wall:.1f} s wall")


def _pss_peak(proc: subprocess.Popen, every: float = 0.5) -> int:
    """Peak PSS (bytes) of ``proc`` and its children together while it runs."""
    def tree(pid: int) -> list[int]:
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return [pid]
        return [pid] + [p for c in children for p in tree(int(c))]

    def pss(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    peak = 0
    while proc.poll() is None:
        peak = max(peak, sum(pss(p) for p in tree(proc.pid)))
        time.sleep(every)
    return peak


def tail(export: Path, gold_path: Path, n: int, db: Path, memory_budget: str, overrides: list[str]) -> None:
    from dedup.storage.store import Store

    with export.open(encoding="utf-8-sig", newline="") as fh:
        rows = sorted(csv.DictReader(fh), key=lambda r: (r["received_at"], r["id"]))
    with gold_path.open(encoding="utf-8-sig", newline="") as fh:
        gold = {g["id"]: g["topic"] for g in csv.DictReader(fh)}
    columns = ["id", "received_at", "channel", "content"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, part in (("base.csv", rows[:-n]), ("night.csv", rows[-n:])):
            with (tmp / name).open("w", encoding="utf-8", newline="") as fh:
                w = csv.DictWriter(fh, columns, extrasaction="ignore")
                w.writeheader()
                w.writerows(part)
        cli = [sys.executable, "-m", "dedup.cli", "run", "--model", "none", "--no-progress",
               "--set", f"run.memory_budget={memory_budget}"]
        if not db.exists():
            start = time.perf_counter()
            subprocess.run(cli + [str(tmp / "base.csv"), "--db", str(db), "--out", str(tmp / "base-out")],
                           check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
            print(f"built {db} from {len(rows) - n:,} items in {time.perf_counter() - start:.1f} s")
        night_db = tmp / "night.sqlite"
        shutil.copy(db, night_db)
        shutil.copytree(str(db) + ".index", str(night_db) + ".index")
        store = Store(night_db)
        before = _majority(dict(store.assignments()), gold)
        store.close()
        start = time.perf_counter()
        night_cli = cli + [arg for kv in overrides for arg in ("--set", kv)]
        proc = subprocess.Popen(night_cli + [str(tmp / "night.csv"), "--db", str(night_db), "--out", str(tmp / "out")],
                                cwd=ROOT, stdout=subprocess.PIPE, text=True)
        peak = _pss_peak(proc)
        wall = time.perf_counter() - start
        out = proc.stdout.read()
        if proc.returncode:
            raise SystemExit(f"the night failed (exit {proc.returncode}):\n{out}")
        run_json = json.loads((tmp / "out" / "run.json").read_text(encoding="utf-8"))
        merged = run_json.get("merged", {})
        healing = sum(1 for old, into in merged.items() if before.get(old) == before.get(into))
        store = Store(night_db)
        after = dict(store.assignments())
        store.close()
        night_ids = [r["id"] for r in rows[-n:]]
        m = cluster_metrics([after[i] for i in night_ids], [gold[i] for i in night_ids])
        print(json.dumps({"database_items": len(rows) - n, "night_items": n, "wall_seconds": round(wall, 1),
                          "peak_pss_mib": round(peak / 2**20), "stages": run_json.get("timings"),
                          "merges": len(merged), "merges_healing": healing, "merges_churn": len(merged) - healing,
                          "night_items_bcubed_f1": round(m["bcubed_f1"], 4),
                          "night_items_pairwise_precision": round(m["pairwise_precision"], 4)}, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    e = sub.add_parser("equivalence")
    e.add_argument("--n", type=int, default=60000)
    e.add_argument("--nights", type=int, default=30)
    e.add_argument("--seed", type=int, default=11)
    e.add_argument("--export", type=Path, help="split this export instead of generating one")
    e.add_argument("--gold", type=Path, help="the export's truth (id,topic)")
    e.add_argument("--real", action="store_true", help=f"split the real messages of {REAL.name} by time")
    e.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a setting, e.g. cluster.scorer=none")
    g = sub.add_parser("night")
    g.add_argument("--db", type=Path, required=True)
    g.add_argument("--n", type=int, default=20000)
    g.add_argument("--seed", type=int, default=99)
    g.add_argument("--config", type=Path, help="the config the database was built with (e.g. a sample's dedup.toml)")
    t = sub.add_parser("tail")
    t.add_argument("--export", type=Path, required=True)
    t.add_argument("--gold", type=Path, required=True)
    t.add_argument("--n", type=int, default=20000)
    t.add_argument("--db", type=Path, required=True, help="the database of all but the tail (built when absent)")
    t.add_argument("--memory-budget", default="12GiB", help="the base build's run.memory_budget")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a setting for the night")
    args = parser.parse_args()
    if args.what == "equivalence":
        equivalence(args.n, args.nights, args.seed, args.export, args.gold, args.real, args.set)
    elif args.what == "tail":
        tail(args.export, args.gold, args.n, args.db, args.memory_budget, args.set)
    else:
        night(args.db, args.n, args.seed, args.config)


if __name__ == "__main__":
    main()
