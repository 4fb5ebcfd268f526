"""The committed sample, run as the README runs it, checked against its gold labels."""

import csv
from pathlib import Path

from click.testing import CliRunner

from dedup.cli import main
from dedup.metrics import cluster_metrics

ROOT = Path(__file__).parents[1]


def read(path, key, value):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return {r[key]: r[value] for r in csv.DictReader(fh)}


def test_sample_data_meets_the_quality_targets(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(ROOT / "sample_data" / "export.csv"), "--db",
                                       str(tmp_path / "d.sqlite"), "--out", str(out),
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
