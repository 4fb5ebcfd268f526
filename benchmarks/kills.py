"""``kill -9`` at many points through a full run and through a night, then the natural re-run.

    python benchmarks/kills.py --points 20 --n 20000 --night 5000

Data: a stress export (``benchmarks/stress_data.py``, case a) split into a first export of ``--n``
items and a night of ``--night`` more. For each kind of run, the uninterrupted run is timed and its
database state and lists (new_topics.csv, changed_topics.csv, rejected.csv, flagged.csv) kept; then,
for each of ``--points`` moments, a fresh copy of the database before the run is run again, the
process group is killed with SIGKILL at that moment, and the same command is run once more. Half the
moments are spread over the whole run (5% to 95% of its duration), half over the stretch after its
commit (seen by polling the database) while it writes its files, where a cut-off run used to leave
empty lists behind. Each line says whether the kill left the old or the new state, that
the database is consistent after the re-run and equal to the uninterrupted one, and that the lists in
the output folder equal the uninterrupted run's.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LISTS = ("new_topics.csv", "changed_topics.csv", "rejected.csv", "flagged.csv")


def state(db: Path):
    con = sqlite3.connect(db)
    try:
        return (con.execute("SELECT i.id, n.topic_id FROM items i JOIN nodes n ON n.node_id = i.node_id ORDER BY i.id")
                .fetchall(),
                con.execute("SELECT topic_id, size, merged_into, representative_id FROM topics ORDER BY topic_id")
                .fetchall(),
                con.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
    finally:
        con.close()


def consistent(db: Path) -> bool:
    con = sqlite3.connect(db)
    try:
        if con.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            return False
        live = dict(con.execute("SELECT topic_id, size FROM topics WHERE merged_into IS NULL"))
        counted = dict(con.execute("SELECT n.topic_id, COUNT(*) FROM items i JOIN nodes n ON n.node_id = i.node_id"
                                   " GROUP BY n.topic_id"))
        meta = con.execute("SELECT value FROM meta WHERE key = 'index'").fetchone()
        segments = json.loads(meta[0])["segments"] if meta else []
        return counted == live and all((Path(str(db) + ".index") / s / "segment.json").exists() for s in segments)
    finally:
        con.close()


def exported_last(db: Path) -> bool:
    """Whether the latest run recorded its files as written."""
    con = sqlite3.connect(db)
    try:
        row = con.execute("SELECT exported_at IS NOT NULL FROM runs ORDER BY run_id DESC LIMIT 1").fetchone()
        return bool(row and row[0])
    except sqlite3.Error:
        return False
    finally:
        con.close()


def lists(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() if (out / name).exists() else b"" for name in LISTS}


def command(export: Path, db: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "dedup.cli", "run", str(export), "--db", str(db), "--out", str(out),
            "--no-progress"]


def split(export: Path, first: Path, night: Path, n: int) -> None:
    with export.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], sorted(rows[1:], key=lambda r: r[1])  # by time: the night is the latest
    for path, part in ((first, body[:n]), (night, body[n:])):
        with path.open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows([header, *part])


def trial(name: str, export: Path, before: Path | None, work: Path, points: int) -> list[dict]:
    def fresh(tag: str) -> tuple[Path, Path]:
        db, out = work / f"{name}-{tag}.sqlite", work / f"{name}-{tag}-out"
        shutil.rmtree(out, ignore_errors=True)
        for path in (db, Path(str(db) + ".index")):
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        if before is not None:
            shutil.copy(before, db)
            shutil.copytree(str(before) + ".index", str(db) + ".index")
        return db, out

    def committed(db: Path, runs_before: int) -> bool:
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.05)
            try:
                return con.execute("SELECT COUNT(*) FROM runs").fetchone()[0] > runs_before
            finally:
                con.close()
        except sqlite3.Error:
            return False

    runs_before = state(before)[2] if before is not None else 0
    db, out = fresh("clean")
    start = time.perf_counter()
    proc = subprocess.Popen(command(export, db, out), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    commit = None
    while proc.poll() is None:
        if commit is None and committed(db, runs_before):
            commit = time.perf_counter() - start
        time.sleep(0.01)
    duration = time.perf_counter() - start
    commit = commit if commit is not None else duration
    after, after_lists = state(db), lists(out)
    old = state(before) if before is not None else None
    rows = []
    half = points // 2
    for k in range(points):
        db, out = fresh(f"k{k}")
        proc = subprocess.Popen(command(export, db, out), cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        begun = time.perf_counter()
        if k < points - half:  # anywhere in the run
            fraction = 0.05 + 0.9 * k / max(points - half - 1, 1)
            time.sleep(duration * fraction)
            at = f"{fraction:.0%} of the run"
        else:  # after the commit, while the files are written
            while proc.poll() is None and not committed(db, runs_before):
                time.sleep(0.005)
            share = (k - (points - half)) / max(half, 1)
            time.sleep(max(duration - commit, 0.05) * share)
            at = f"commit + {share:.0%} of the writing"
        killed = proc.poll() is None
        if killed:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        seconds = time.perf_counter() - begun
        now = state(db) if db.exists() else None
        left = "new" if now is not None and now[:2] == after[:2] else \
            "old" if (old is not None and now == old) or (old is None and (now is None or now[2] == 0)) else "other"
        written = lists(out) == after_lists  # the lists, had the killed run written them all
        exported = db.exists() and exported_last(db)
        again = subprocess.run(command(export, db, out), capture_output=True, text=True, cwd=ROOT)
        ok_db = again.returncode == 0 and state(db)[:2] == after[:2] and consistent(db)
        # a run killed after it had written its lists (and recorded so) left them whole; the re-run then
        # has nothing new to list. Otherwise the re-run must write the uninterrupted run's lists.
        ok_lists = written if exported and left == "new" else lists(out) == after_lists
        rows.append({"run": name, "at": at, "seconds": round(seconds, 2), "killed": killed, "left": left,
                     "files_recorded": exported,
                     "rerun_exit": again.returncode, "database_ok": ok_db, "lists_ok": ok_lists})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=20)
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--night", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="dedup-kills-"))
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "stress_data.py"), "--case", "a", "--n",
                    str(args.n + args.night), "--seed", str(args.seed), "--out", str(work / "data")], check=True)
    first, night = work / "first.csv", work / "night.csv"
    split(work / "data" / "export.csv", first, night, args.n)
    rows = trial("full", first, None, work, args.points)
    base = work / "full-clean.sqlite"
    rows += trial("night", night, base, work, args.points)
    bad = [r for r in rows if not (r["database_ok"] and r["lists_ok"] and r["left"] != "other")]
    print(f"{len(rows)} kills: {sum(r['killed'] for r in rows)} landed before the run ended; "
          f"left old state {sum(r['left'] == 'old' for r in rows)}, new {sum(r['left'] == 'new' for r in rows)}; "
          f"re-runs with the uninterrupted database and lists: {len(rows) - len(bad)}")
    shutil.rmtree(work, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
