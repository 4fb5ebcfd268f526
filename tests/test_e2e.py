"""The committed sample, run as the README runs it, checked against its gold labels."""

import csv
import gc
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from dedup.batch.pipeline import run
from dedup.cli import main
from dedup.config import Config
from dedup.tools.metrics import cluster_metrics

ROOT = Path(__file__).parents[1]


def read(path, key, value):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return {r[key]: r[value] for r in csv.DictReader(fh)}


def test_sample_data_meets_the_quality_targets(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(ROOT / "sample_data" / "export.csv"), "--db",
                                       str(tmp_path / "d.sqlite"), "--out", str(out),
                                       "--config", str(ROOT / "sample_data" / "dedup.toml"),
                                       "--model", str(ROOT / "models" / "department.joblib")],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    gold = read(ROOT / "sample_data" / "gold.csv", "id", "topic")
    pred = read(out / "assignments.csv", "id", "topic_id")
    assert set(pred) == set(gold)
    ids = sorted(gold)
    m = cluster_metrics([pred[i] for i in ids], [gold[i] for i in ids])
    assert m["bcubed_f1"] >= 0.95 and m["pairwise_precision"] >= 0.98, m
    # routing is on out of the box, and mostly right
    dept = read(ROOT / "sample_data" / "gold.csv", "id", "department")
    topic_dept = read(out / "topics.csv", "topic_id", "department")
    accuracy = sum(topic_dept[pred[i]] == dept[i] for i in ids) / len(ids)
    assert "routed with" in result.output and accuracy >= 0.85, accuracy


def test_the_installed_program_prints_and_writes_everything_before_it_exits(tmp_path):
    """``dedup`` ends its process at once after a run or rebuild (see cli.program): nothing may be lost."""
    db, out = tmp_path / "d.sqlite", tmp_path / "out"
    command = [sys.executable, "-m", "dedup.cli"]
    first = subprocess.run(command + ["run", str(ROOT / "sample_data" / "export.csv"), "--db", str(db), "--out",
                                      str(out), "--no-progress"], capture_output=True, text=True, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("run 1: read 3000 rows") and first.stdout.rstrip().endswith("run.json")
    assert {p.name for p in out.iterdir()} == {"assignments.csv", "topics.csv", "new_topics.csv",
                                               "changed_topics.csv", "rejected.csv", "flagged.csv", "topics.xlsx", "run.json"}
    assert len(read(out / "assignments.csv", "id", "topic_id")) == 3000
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["counts"]["new_items"] == 3000
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(*) FROM items").fetchone()[0] == 3000
    again = subprocess.run(command + ["rebuild", "--db", str(db), "--out", str(tmp_path / "again")],
                           capture_output=True, text=True, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("run 2:") and again.stdout.rstrip().endswith("run.json")
    assert json.loads((tmp_path / "again" / "run.json").read_text(encoding="utf-8"))["kind"] == "rebuild"


def test_a_run_leaves_the_collector_nothing_to_walk_and_callers_frozen_objects_frozen(tmp_path):
    """The run pauses the cyclic collector; on resuming, its objects must not all wait in the youngest
    generation (the first collection would walk every one: seconds at 1.28M items)."""
    collections = []

    def note(phase, info):
        if phase == "start":
            collections.append(info["generation"])

    marker = [object()]
    gc.freeze()  # a caller's frozen objects (a pre-fork server's, say) stay frozen
    gc.callbacks.append(note)
    try:
        report = run([ROOT / "sample_data" / "export.csv"], tmp_path / "d.sqlite", tmp_path / "out", Config(),
                     model_path=tmp_path / "no-model.joblib")
        assert gc.isenabled() and gc.get_freeze_count() and not any(o is marker for o in gc.get_objects())
    finally:
        gc.callbacks.remove(note)
        gc.unfreeze()
    assert report.counts["new_items"] == 3000
    collections.clear()
    gc.callbacks.append(note)
    try:
        run([ROOT / "sample_data" / "export.csv"], tmp_path / "e.sqlite", tmp_path / "out2", Config(),
            model_path=tmp_path / "no-model.joblib")
        young = len(gc.get_objects(0))
    finally:
        gc.callbacks.remove(note)
    assert collections == [] and young < 1000, (collections, young)
