"""The serial path (``run.serial``): nothing forks and no helper thread starts, and a full run, a night
and a rebuild leave the database row for row and their files byte for byte as the forked, threaded
run does."""

import os
import sqlite3
import threading
from pathlib import Path

from conftest import sample_parts

from dedup.batch.pipeline import rebuild, run
from dedup.config import load_config
from dedup.runtime import parallel

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"


def _outputs(out: Path) -> dict[str, bytes]:
    """Every file a run wrote, byte for byte, but run.json (its times) and the workbook (a zip that
    records when it was written)."""
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.name not in ("run.json", "topics.xlsx")}


def _database(db: Path) -> dict[str, list]:
    """Every table row for row, but the runs' times, timings and configuration (run.serial differs)."""
    con = sqlite3.connect(db)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        rows = {t: sorted(map(repr, con.execute(f"SELECT * FROM {t}"))) for t in tables if t not in ("runs", "meta")}
        rows["runs"] = con.execute("SELECT run_id, kind, counts FROM runs ORDER BY run_id").fetchall()
        rows["meta"] = con.execute("SELECT key, value FROM meta WHERE key != 'index' ORDER BY key").fetchall()
        return rows
    finally:
        con.close()


def _three_runs(tmp_path, config, inputs):
    tmp_path.mkdir()
    first, night = inputs  # the same files for both: items record where they came from
    db = tmp_path / "d.sqlite"
    results = []
    for path in (first, night):
        run([path], db, tmp_path / path.stem, config, model_path=ROOT / "models" / "department.joblib")
        results.append(_outputs(tmp_path / path.stem))
        results.append(_database(db))
    rebuild(db, tmp_path / "rebuilt", config, model_path=ROOT / "models" / "department.joblib")
    results.append(_outputs(tmp_path / "rebuilt"))
    results.append(_database(db))
    return results


def test_the_serial_path_forks_nothing_and_finds_the_same_topics(tmp_path, monkeypatch):
    config = load_config(SAMPLE / "dedup.toml")
    inputs = sample_parts(tmp_path / "inputs", (2000,))
    with monkeypatch.context() as patch:
        patch.setattr(parallel, "SERIAL_BELOW", 1)  # workers even for a sample this small
        fast = _three_runs(tmp_path / "fast", config, inputs)

    def refuse(*args, **kwargs):
        raise AssertionError("the serial path started a process or a thread")

    monkeypatch.setattr(os, "fork", refuse)
    monkeypatch.setattr(threading.Thread, "start", refuse)
    slow = _three_runs(tmp_path / "serial", config.with_overrides({"run.serial": True}), inputs)
    assert slow == fast
