"""Night after night: stable ids, merges with redirects, idempotence, crash safety, bad input."""

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SUGGESTIONS, write_csv

from dedup.batch import pipeline, publish, writes
from dedup.batch.pipeline import rebuild, run
from dedup.cli import EXIT_INPUT, EXIT_USAGE, main
from dedup.config import Config
from dedup.storage.store import Store

NO_MODEL = "no-model.joblib"
# bands x rows fixed, so that nights with different thresholds share one index
LOOSE = Config().with_overrides({"cluster.bands": 42, "cluster.rows": 3, "cluster.threshold": 0.4,
                                 "cluster.scorer": "none"})  # Jaccard decides: thresholds set up the scenes
STRICT = LOOSE.with_overrides({"cluster.threshold": 0.95})


def night(tmp_path, name, rows):
    return write_csv(tmp_path / name, rows)


def state(db):
    con = sqlite3.connect(db)
    try:
        return (con.execute("SELECT i.id, n.topic_id, i.node_id FROM items i JOIN nodes n ON n.node_id = i.node_id"
                            " ORDER BY i.id").fetchall(),
                con.execute("SELECT topic_id, size, merged_into, representative_id FROM topics ORDER BY topic_id")
                .fetchall(),
                [len(json.loads(v)["segments"]) for (v,) in con.execute("SELECT value FROM meta WHERE key = 'index'")])
    finally:
        con.close()


def check_consistent(db):
    """Sizes add up, every item sits in a live topic, every live topic has one centre, index files exist."""
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        live = dict(con.execute("SELECT topic_id, size FROM topics WHERE merged_into IS NULL"))
        counted = dict(con.execute("SELECT n.topic_id, COUNT(*) FROM items i JOIN nodes n ON n.node_id = i.node_id"
                                   " GROUP BY n.topic_id"))
        assert counted == live
        centres = dict(con.execute("SELECT topic_id, SUM(is_centre) FROM nodes GROUP BY topic_id"))
        assert all(centres[t] == 1 for t in live)
        meta = json.loads(con.execute("SELECT value FROM meta WHERE key = 'index'").fetchone()[0])
        for name in meta["segments"]:
            assert (Path(str(db) + ".index") / name / "sig.npy").exists()
    finally:
        con.close()


def test_ids_stay_across_nights_and_new_items_join(tmp_path):
    db = tmp_path / "d.sqlite"
    first = run([night(tmp_path, "n1.csv", [s[:4] for s in SUGGESTIONS[:6]])], db, None, Config(), NO_MODEL)
    ids_before = dict(Store(db).assignments())
    copy = ("A9", "2019-03-09 08:00:00", "电话", "东昌府区古楼街道星光花园门口的路灯坏了三盏，晚上出行很不方便，请尽快维修，谢谢。")
    second = run([night(tmp_path, "n2.csv", [s[:4] for s in SUGGESTIONS[6:]] + [copy])], db, None, Config(), NO_MODEL)
    ids_after = dict(Store(db).assignments())
    assert all(ids_after[i] == t for i, t in ids_before.items())
    assert ids_after["A9"] == ids_after["A1"]
    assert first.counts["new_topics"] == 2 and second.counts["new_topics"] == 3
    check_consistent(db)


def test_bridge_merges_older_id_survives_and_redirects(tmp_path, monkeypatch):
    db = tmp_path / "d.sqlite"
    a = ("M1", "2019-03-01 08:00:00", "电话", "古楼街道星光花园门口的路灯坏了三盏晚上出行非常不方便请尽快维修")
    b = ("M2", "2019-03-02 08:00:00", "电话", "古楼街道星光花园门口的路灯坏了三盏晚上出行特别危险老人容易摔倒")
    run([night(tmp_path, "n1.csv", [a, b])], db, None, STRICT, NO_MODEL)
    before = dict(Store(db).assignments())
    assert before["M1"] != before["M2"]
    bridge = ("M3", "2019-03-03 08:00:00", "电话", "古楼街道星光花园门口的路灯坏了三盏晚上出行非常不方便老人容易摔倒")
    monkeypatch.setattr(publish, "write_assignments", None)  # assignments.csv must be the one written early
    report = run([night(tmp_path, "n2.csv", [bridge])], db, tmp_path / "out", LOOSE, NO_MODEL)
    older, newer = sorted([before["M1"], before["M2"]])
    assert report.merged == {newer: older}
    after = dict(Store(db).assignments())
    assert after["M1"] == after["M2"] == after["M3"] == older
    shown = CliRunner().invoke(main, ["topic", "show", newer, "--db", str(db)])
    assert f"{newer} was merged into {older}" in shown.output
    with open(tmp_path / "out" / "changed_topics.csv", encoding="utf-8-sig", newline="") as fh:
        changed = list(csv.DictReader(fh))
    assert [(r["topic_id"], r["merged_from"]) for r in changed] == [(older, newer)]
    with open(tmp_path / "out" / "assignments.csv", encoding="utf-8-sig", newline="") as fh:
        assert {r["id"]: r["topic_id"] for r in csv.DictReader(fh)} == after  # the early file follows the merge
    check_consistent(db)


def test_same_export_again_changes_nothing_and_says_so(tmp_path, suggestions_csv):
    db = tmp_path / "d.sqlite"
    runner = CliRunner()
    runner.invoke(main, ["run", str(suggestions_csv), "--db", str(db), "--out", str(tmp_path / "o1"),
                         "--model", NO_MODEL], catch_exceptions=False)
    before = state(db)
    again = runner.invoke(main, ["run", str(suggestions_csv), "--db", str(db), "--out", str(tmp_path / "o2"),
                                 "--model", NO_MODEL], catch_exceptions=False)
    assert "0 new items, 12 repeats" in again.output and "nothing new" in again.output
    assert state(db) == before
    assert (tmp_path / "o1" / "assignments.csv").read_bytes() == (tmp_path / "o2" / "assignments.csv").read_bytes()


def test_rebuild_keeps_ids_by_overlap(tmp_path, suggestions_csv):
    db = tmp_path / "d.sqlite"
    run([suggestions_csv], db, None, Config(), NO_MODEL)
    before = dict(Store(db).assignments())
    rebuild(db, None, Config(), NO_MODEL)
    assert dict(Store(db).assignments()) == before
    check_consistent(db)


@pytest.mark.parametrize("kind", ["run", "rebuild"])
@pytest.mark.parametrize("stage", ["cluster_signed", "summarise"])
def test_full_run_failing_after_its_writer_began_leaves_the_database_as_it_was(tmp_path, suggestions_csv,
                                                                              monkeypatch, kind, stage):
    """The writer of a full run or rebuild is inserting nodes while the run clusters, or holds them all
    while it summarises: a failure then writes nothing, ends the writer, and the next attempt succeeds."""
    import multiprocessing

    db = tmp_path / "d.sqlite"
    if kind == "rebuild":
        run([suggestions_csv], db, None, Config(), NO_MODEL)
    else:
        Store(db).close()
    before = state(db)

    def power_cut(*args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(writes if stage == "summarise" else pipeline, stage, power_cut)  # where the run calls it
    with pytest.raises(RuntimeError, match="power cut"):
        if kind == "run":
            run([suggestions_csv], db, tmp_path / "out", Config(), NO_MODEL)
        else:
            rebuild(db, tmp_path / "out", Config(), NO_MODEL)
    assert not multiprocessing.active_children()
    assert state(db) == before
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.csv"))
    monkeypatch.undo()
    report = run([suggestions_csv], db, tmp_path / "out", Config(), NO_MODEL) if kind == "run" \
        else rebuild(db, tmp_path / "out", Config(), NO_MODEL)
    assert report.counts["topics_changed"] == 5
    check_consistent(db)


def test_changed_settings_need_a_rebuild(tmp_path, suggestions_csv):
    db = tmp_path / "d.sqlite"
    run([suggestions_csv], db, None, Config(), NO_MODEL)
    other = night(tmp_path, "n2.csv", [("Z1", "2019-03-09 08:00:00", "电话", "全新的一条建议内容关于公交线路")])
    result = CliRunner().invoke(main, ["run", str(other), "--db", str(db), "--set", "sign.num_perm=64",
                                       "--model", NO_MODEL])
    assert result.exit_code == 4 and "dedup rebuild" in result.output


def test_killed_run_leaves_old_or_new_state(tmp_path):
    """kill -9 at moments spread over a run: the database is as before or as after, never between."""
    import shutil

    from dedup.tools.sample import generate, write

    base = write(generate(300, 1, history=0), tmp_path / "base")["export"]
    big = generate(6000, 2, history=0)
    for row in big.export:
        row["id"] = "K" + row["id"]
    tonight = write(big, tmp_path / "big")["export"]
    pristine = tmp_path / "pristine.sqlite"
    run([base], pristine, None, Config(), NO_MODEL)
    before = state(pristine)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}

    def fresh(k):
        db = tmp_path / f"d{k}.sqlite"
        shutil.copy(pristine, db)
        shutil.copytree(str(pristine) + ".index", str(db) + ".index")
        return db, [sys.executable, "-m", "dedup.cli", "run", str(tonight), "--db", str(db), "--out",
                    str(tmp_path / f"out{k}"), "--model", NO_MODEL, "--no-progress"]

    db, command = fresh(0)
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    duration = time.perf_counter() - start
    after = state(db)
    seen = set()
    for k, fraction in enumerate((0.3, 0.5, 0.7, 0.8, 0.9, 0.95), start=1):
        db, command = fresh(k)
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        time.sleep(duration * fraction)
        if proc.poll() is None:  # the run alone, as the OOM killer would: its workers must not outlive it
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        now = state(db)
        assert now in (before, after), f"killed at {fraction:.0%} of a run: the database is half-written"
        seen.add("before" if now == before else "after")
        check_consistent(db) if now == after else None
        con = sqlite3.connect(db)
        exported = con.execute("SELECT exported_at IS NOT NULL FROM runs WHERE run_id = 2").fetchone()
        con.close()
        lists = ("new_topics.csv", "changed_topics.csv", "rejected.csv")
        if exported and exported[0]:  # killed after it had written everything: the lists are whole already
            for name in lists:
                assert (tmp_path / f"out{k}" / name).read_bytes() == (tmp_path / "out0" / name).read_bytes(), name
            continue
        finished = subprocess.run(command, env=env, capture_output=True, text=True)  # the next run completes
        assert finished.returncode == 0, finished.stderr
        assert state(db) == after
        check_consistent(db)
        for name in lists:  # the night's lists, never empty ones, even when the night was stored before the kill
            assert (tmp_path / f"out{k}" / name).read_bytes() == (tmp_path / "out0" / name).read_bytes(), name
        leftovers = sorted(p.name for p in Path(str(db) + ".index").iterdir())
        assert len(leftovers) == 2  # the base segment and tonight's; a killed run's segment was removed
    assert "before" in seen


def test_a_run_cut_off_after_its_commit_has_its_lists_written_by_the_next(tmp_path, monkeypatch):
    db = tmp_path / "d.sqlite"
    first = night(tmp_path, "n1.csv", [s[:4] for s in SUGGESTIONS[:6]])
    run([first], db, tmp_path / "o1", Config(), NO_MODEL)
    tonight = night(tmp_path, "n2.csv", [s[:4] for s in SUGGESTIONS[6:]] + [("BAD", "2019-03-01", "电话", "")])
    real = pipeline.write_exports

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pipeline, "write_exports", full_disk)
    with pytest.raises(pipeline.ExportError, match="stored as run 2.*dedup export --run 2"):
        run([tonight], db, tmp_path / "o2", Config(), NO_MODEL)
    monkeypatch.setattr(pipeline, "write_exports", real)
    store = Store(db)
    assert store.unexported_run() == 2
    new, changed = store.run_lists(2)
    store.close()
    assert new  # the night made topics, and they are in the database's record of it
    again_export = night(tmp_path, "n3.csv", [s[:4] for s in SUGGESTIONS[6:]] + [("BAD2", "2019-03-01", "电话", "")])
    again = run([again_export], db, tmp_path / "o3", Config(), NO_MODEL)
    assert again.counts["new_items"] == 0 and again.relisted == 2
    assert "BAD2" in (tmp_path / "o3" / "rejected.csv").read_text(encoding="utf-8")  # tonight's own, after run 2's
    listed = (tmp_path / "o3" / "new_topics.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(listed) == len(new) + 1 and "BAD" in (tmp_path / "o3" / "rejected.csv").read_text(encoding="utf-8")
    store = Store(db)
    assert store.unexported_run() is None
    store.close()
    exported = CliRunner().invoke(main, ["export", "--db", str(db), "--run", "2", "--out", str(tmp_path / "o4")])
    assert exported.exit_code == 0, exported.output
    for name in ("new_topics.csv", "changed_topics.csv"):
        assert (tmp_path / "o4" / name).read_bytes() == (tmp_path / "o3" / name).read_bytes()
    run2 = (tmp_path / "o4" / "rejected.csv").read_text(encoding="utf-8-sig").splitlines()
    assert (tmp_path / "o3" / "rejected.csv").read_text(encoding="utf-8-sig").splitlines()[:len(run2)] == run2
    missing = CliRunner().invoke(main, ["export", "--db", str(db), "--run", "9", "--out", str(tmp_path / "o5")])
    assert missing.exit_code == EXIT_USAGE and "no run 9 (runs are 1 to 3)" in missing.output


@pytest.mark.parametrize("name,content,message", [
    ("empty.csv", b"", "file is empty"),
    ("binary.csv", bytes(range(256)) * 4, "binary"),
    ("columns.csv", "编号,标题\n1,路灯\n".encode(), "missing required column"),
])
def test_bad_files_stop_with_status_and_keep_the_database(tmp_path, suggestions_csv, name, content, message):
    db = tmp_path / "d.sqlite"
    run([suggestions_csv], db, None, Config(), NO_MODEL)
    before = state(db)
    bad = tmp_path / name
    bad.write_bytes(content)
    result = CliRunner().invoke(main, ["run", str(bad), "--db", str(db), "--model", NO_MODEL])
    assert result.exit_code == EXIT_INPUT and name in result.output and message in result.output
    assert state(db) == before


def test_bad_rows_in_a_night_are_rejected_and_the_rest_stored(tmp_path):
    rows = [s[:4] for s in SUGGESTIONS[:3]] + [
        ("BIG", "2019-03-01 08:00:00", "电话", "长" * 1_000_000),
        ("A1", "2019-03-01 08:00:00", "电话", "同一个编号不同的内容"),
        ("FUT", "2099-01-01 08:00:00", "电话", "未来的时间"),
        ("EMO", "2019-03-01 08:00:00", "微信", "😡😡😡！！！"),
        ("TRAD", "2019-03-01 08:00:00", "網站", "東昌府區古樓街道的路燈壞了"),
    ]
    report = run([night(tmp_path, "n.csv", rows)], tmp_path / "d.sqlite", tmp_path / "o", Config(), NO_MODEL)
    reasons = {r.id: r.reason for r in report.rejected}
    assert "content too long" in reasons["BIG"] and "different content" in reasons["A1"]
    assert "no words" in reasons["EMO"] and set(reasons) == {"BIG", "A1", "EMO"}
    assert report.counts["new_items"] == 5 and report.counts["flagged"] == 1  # FUT, given the export's date
    flagged = (tmp_path / "o" / "flagged.csv").read_text(encoding="utf-8-sig")
    assert "FUT,time in the future: given the export's date" in flagged


def test_traditional_characters_are_stored(tmp_path):
    rows = [("TRAD", "2019-03-01 08:00:00", "网站", "東昌府區古樓街道的路燈壞了三盞，晚上出行很不方便")]
    report = run([night(tmp_path, "n.csv", rows)], tmp_path / "d.sqlite", None, Config(), NO_MODEL)
    assert report.counts["new_items"] == 1 and not report.rejected


def test_utf16_export_is_read(tmp_path):
    path = tmp_path / "u16.csv"
    path.write_bytes("id,received_at,channel,content\n1,2019-03-01 08:00:00,电话,路灯坏了\n".encode("utf-16"))
    report = run([path], tmp_path / "d.sqlite", None, Config(), NO_MODEL)
    assert report.counts["new_items"] == 1


def test_excel_with_merged_cells(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["编号", "时间", "渠道", "内容"])
    sheet.append(["X1", "2019-03-01 08:00:00", "电话", "古楼街道路灯坏了"])
    sheet.append(["X2", "2019-03-01 09:00:00", "电话", "柳园街道暖气不热"])
    sheet.merge_cells("C2:C3")  # the channel cell spans two rows: the second row reads it as empty
    path = tmp_path / "merged.xlsx"
    book.save(path)
    report = run([path], tmp_path / "d.sqlite", None, Config(), NO_MODEL)
    assert report.counts["new_items"] == 2 and not report.rejected  # X2's channel cell reads empty: "other"


def test_workbook_holds_all_topics_after_a_full_run_and_the_dispatch_after_a_night(tmp_path):
    import openpyxl

    db = tmp_path / "d.sqlite"
    run([night(tmp_path, "n1.csv", [s[:4] for s in SUGGESTIONS[:6]])], db, tmp_path / "o1", Config(), NO_MODEL)
    book = openpyxl.load_workbook(tmp_path / "o1" / "topics.xlsx", read_only=True)
    assert book.sheetnames == ["topics"] and len(list(book["topics"].iter_rows())) == 1 + 2
    run([night(tmp_path, "n2.csv", [s[:4] for s in SUGGESTIONS[6:]])], db, tmp_path / "o2", Config(), NO_MODEL)
    book = openpyxl.load_workbook(tmp_path / "o2" / "topics.xlsx", read_only=True)
    assert book.sheetnames == ["new", "changed"] and len(list(book["new"].iter_rows())) == 1 + 3
    with open(tmp_path / "o2" / "topics.csv", encoding="utf-8-sig", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 5


def _topic_ids(path):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return [r["topic_id"] for r in csv.DictReader(fh)]


def test_new_topics_are_every_topic_after_a_first_run_and_only_the_nights_after_it(tmp_path):
    db = tmp_path / "d.sqlite"
    run([night(tmp_path, "n1.csv", [s[:4] for s in SUGGESTIONS[:6]])], db, tmp_path / "o1", Config(), NO_MODEL)
    first = _topic_ids(tmp_path / "o1" / "topics.csv")
    assert len(first) == 2 and (tmp_path / "o1" / "new_topics.csv").read_bytes() == \
        (tmp_path / "o1" / "topics.csv").read_bytes()
    run([night(tmp_path, "n2.csv", [s[:4] for s in SUGGESTIONS[6:]])], db, tmp_path / "o2", Config(), NO_MODEL)
    new = _topic_ids(tmp_path / "o2" / "new_topics.csv")
    assert len(new) == 3 and not set(new) & set(first)
    assert sorted(_topic_ids(tmp_path / "o2" / "topics.csv")) == sorted(first + new)
    again = night(tmp_path, "n3.csv", [("B1", "2019-03-20 08:00:00", "电话", SUGGESTIONS[0][3])])  # joins a topic
    run([again], db, tmp_path / "o3", Config(), NO_MODEL)
    assert _topic_ids(tmp_path / "o3" / "new_topics.csv") == []
    assert len(_topic_ids(tmp_path / "o3" / "topics.csv")) == 5
