"""A campaign simulated through dispatch, replies and the bulletin: are the rates the truth, and how long?

    python benchmarks/dispatch_sim.py [--orders 120000] [--units 120] [--seed 0]

A 60-day campaign from 2019-03-01 with a run and a dispatch on each of its first 46 days; each run leaves its
share of the topics routed, spread over the units. Each unit answers after a number of working days drawn
around its own mean (1 to 7); some orders are never answered, some are returned within two working days
and re-assigned, some get an extension approved. The replies are written to a CSV and imported with
`dedup feedback`'s function, then the bulletin is made for the whole period. The simulation counts its own
truth from what it decided, independently of the report's SQL, and the two are compared.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dedup.config import DispatchConfig  # noqa: E402
from dedup.dispatch import orders  # noqa: E402
from dedup.dispatch.feedback import SATISFACTION, import_replies  # noqa: E402
from dedup.dispatch.report import Period, bulletin  # noqa: E402
from dedup.dispatch.workdays import Calendar  # noqa: E402
from dedup.storage.store import Store  # noqa: E402


def seed_topics(path: Path, days: list[dt.date], n: int, units: list[str], rng) -> None:
    """Runs on ``days`` and ``n`` routed topics spread over them (as the nightly runs would leave them)."""
    store = Store(path)
    store.close()
    con = sqlite3.connect(path)
    con.executemany("INSERT INTO runs (run_id, kind, started_at, finished_at, inputs, config, counts, timings)"
                    " VALUES (?, 'run', ?, ?, '[]', '{}', '{}', '{}')",
                    [(k + 1, f"{d}T20:00:00", f"{d}T20:05:00") for k, d in enumerate(days)])
    run_of = np.sort(rng.integers(0, len(days), n)) + 1
    unit_of = rng.integers(0, len(units), n)
    con.executemany(
        "INSERT INTO topics (topic_id, size, representative_id, representative_text, keywords, channels,"
        " first_received, last_received, department, department_score, department_top3, needs_review, created_run,"
        " updated_run) VALUES (?, ?, ?, ?, '[]', ?, '', '', ?, 0.95, '[]', 0, ?, ?)",
        ((f"T{k + 1:07d}", 1 + int(rng.integers(0, 9)), f"I{k}", "某小区路灯不亮，请尽快维修。",
          json.dumps({"phone": 1}), units[u], int(r), int(r)) for k, (u, r) in enumerate(zip(unit_of, run_of))))
    con.commit()
    con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=120_000)
    parser.add_argument("--units", type=int, default=120)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    calendar, rules = Calendar(), DispatchConfig()
    start, end = dt.date(2019, 3, 1), dt.date(2019, 4, 29)
    days = [start + dt.timedelta(k) for k in range(46)]  # orders go out the same day, weekends included
    units = [f"单位{k:03d}" for k in range(args.units)]
    mean_delay = {u: 1 + 6 * rng.random() for u in units}
    timings = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.sqlite"
        seed_topics(path, days, args.orders, units, rng)
        store = Store(path)
        began = time.perf_counter()
        made = []
        for day in days:
            made += orders.dispatch(store, day, calendar, rules, review_below=0.0).new
        timings["dispatch"] = time.perf_counter() - began
        # what each order meets: returned and re-assigned, an extension, never answered, or an answer
        truth = {u: {"orders": 0, "completed": 0, "fell_due": 0, "on_time": 0, "visited": 0, "satisfied": 0}
                 for u in [*units, "全部 all"]}
        replies = []
        began = time.perf_counter()
        for order in made:
            fate = rng.random()
            unit, day = order["unit"], dt.date.fromisoformat(order["dispatched_at"][:10])
            deadline = dt.date.fromisoformat(order["deadline"])
            if fate < 0.01:  # returned on the next working day, sent to another unit, which answers at once
                back = calendar.add(day, 1)[0]
                orders.act(store, order["order_id"], "return", unit, calendar, rules, reason="非本单位职责", today=back)
                other = units[(units.index(unit) + 1) % len(units)]
                moved = orders.act(store, order["order_id"], "reassign", "dispatcher", calendar, rules, unit=other,
                                   today=back)
                order = {**order, "order_id": moved["new_order"], "unit": other}
                unit, day, deadline = other, back, calendar.add(back, rules.days)[0]
            if 0.01 <= fate < 0.03:  # an extension approved on the day
                for action, reason in (("receive", ""), ("start", ""), ("extend", "情况复杂"), ("approve", "")):
                    current = orders.act(store, order["order_id"], action, unit, calendar, rules, reason=reason,
                                         today=day)
                deadline = dt.date.fromisoformat(current["deadline"])
            if day > end:
                continue  # re-assigned after the period: its new order belongs to the next bulletin
            for key in (unit, "全部 all"):
                truth[key]["orders"] += 1
                truth[key]["fell_due"] += deadline <= end
            if 0.03 <= fate < 0.10:
                continue  # never answered
            delay = max(0, int(round(rng.normal(mean_delay[unit], 2.0))))
            done = calendar.add(day, delay)[0]
            if done > end:
                continue
            called = rng.random() < 0.6
            satisfaction = SATISFACTION[int(rng.choice(5, p=[0.3, 0.35, 0.2, 0.1, 0.05]))] if called else ""
            replies.append([order["order_id"], "solved", "已办理。", f"{done} 15:00:00", "审核人", satisfaction])
            for key in (unit, "全部 all"):
                t = truth[key]
                t["completed"] += 1
                t["on_time"] += done <= deadline and deadline <= end
                t["visited"] += bool(satisfaction)
                t["satisfied"] += satisfaction in rules.satisfied
        timings["returns and extensions"] = time.perf_counter() - began
        replies_path = Path(tmp) / "replies.csv"
        with replies_path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["order_id", "result", "content", "completed_at", "leader", "satisfaction"])
            writer.writerows(replies)
        began = time.perf_counter()
        imported = import_replies(store, replies_path)
        timings["feedback"] = time.perf_counter() - began
        began = time.perf_counter()
        number, files, overall = bulletin(store, Period(start, end), Path(tmp) / "report")
        timings["report"] = time.perf_counter() - began
        store.close()
    t = truth["全部 all"]
    expected = {"orders": t["orders"], "completion_rate": round(t["completed"] / t["orders"], 4),
                "on_time_rate": round(t["on_time"] / t["fell_due"], 4),
                "satisfaction_rate": round(t["satisfied"] / t["visited"], 4)}
    got = {k: overall[k] for k in expected}
    print(f"{len(made):,} orders over {len(days)} dispatch days to {len(units)} units; {imported.replies:,} replies "
          f"imported, {len(imported.rejected)} refused")
    print("truth  ", expected)
    print("report ", got, "— the same" if got == expected else "— DIFFERENT")
    print("seconds:", ", ".join(f"{k} {v:.1f}" for k, v in timings.items()),
          f"(dispatch + feedback + report {timings['dispatch'] + timings['feedback'] + timings['report']:.1f})")
    if got != expected:
        sys.exit(1)


if __name__ == "__main__":
    main()
