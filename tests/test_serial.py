"""The serial path (``run.serial``): nothing forks and no helper thread starts, and the topics are the
ones the forked, threaded run finds, on a full run, a night and a rebuild."""

import csv
import os
import threading
from pathlib import Path

from dedup.batch.pipeline import rebuild, run
from dedup.config import load_config
from dedup.runtime import parallel

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"


def _split(tmp_path):
    with (SAMPLE / "export.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    parts = []
    for name, part in (("first.csv", rows[:2000]), ("night.csv", rows[2000:])):
        path = tmp_path / name
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, list(rows[0]))
            writer.writeheader()
            writer.writerows(part)
        parts.append(path)
    return parts


def _outputs(out: Path) -> tuple[str, str]:
    topics = [{k: v for k, v in r.items() if k != "department_top3"}
              for r in csv.DictReader((out / "topics.csv").open(encoding="utf-8-sig", newline=""))]
    return (out / "assignments.csv").read_text(encoding="utf-8-sig"), repr(topics)


def _three_runs(tmp_path, config):
    tmp_path.mkdir()
    first, night = _split(tmp_path)
    db = tmp_path / "d.sqlite"
    results = []
    for path in (first, night):
        run([path], db, tmp_path / path.stem, config, model_path=ROOT / "models" / "department.joblib")
        results.append(_outputs(tmp_path / path.stem))
    rebuild(db, tmp_path / "rebuilt", config, model_path=ROOT / "models" / "department.joblib")
    results.append(_outputs(tmp_path / "rebuilt"))
    return results


def test_the_serial_path_forks_nothing_and_finds_the_same_topics(tmp_path, monkeypatch):
    config = load_config(SAMPLE / "dedup.toml")
    with monkeypatch.context() as patch:
        patch.setattr(parallel, "SERIAL_BELOW", 1)  # workers even for a sample this small
        fast = _three_runs(tmp_path / "fast", config)

    def refuse(*args, **kwargs):
        raise AssertionError("the serial path started a process or a thread")

    monkeypatch.setattr(os, "fork", refuse)
    monkeypatch.setattr(threading.Thread, "start", refuse)
    slow = _three_runs(tmp_path / "serial", config.with_overrides({"run.serial": True}))
    assert slow == fast
