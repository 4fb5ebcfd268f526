"""The dedup command end to end, with CliRunner and temporary folders."""

import csv
import json

import pytest
from click.testing import CliRunner
from conftest import SUGGESTIONS, same_partition, write_csv

from dedup.cli import EXIT_DATABASE, EXIT_INPUT, EXIT_USAGE, main


@pytest.fixture
def runner():
    return CliRunner()


def read_csv(path):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def invoke(runner, *args):
    return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_run_writes_all_outputs_and_finds_the_topics(runner, tmp_path, suggestions_csv, gold_topics):
    out = tmp_path / "out"
    result = invoke(runner, "run", suggestions_csv, "--db", tmp_path / "d.sqlite", "--out", out,
                    "--model", tmp_path / "none.joblib")
    assert result.exit_code == 0, result.output
    assert "12 new items" in result.output and "topics: 5 new, 0 grown, 0 merged" in result.output
    assert "routing skipped: no department model" in result.output
    for name in ("assignments.csv", "topics.csv", "topics.xlsx", "rejected.csv", "run.json"):
        assert (out / name).exists(), name
    assignments = {r["id"]: r["topic_id"] for r in read_csv(out / "assignments.csv")}
    assert same_partition(assignments, gold_topics)
    topics = read_csv(out / "topics.csv")
    assert [t["size"] for t in topics] == ["4", "3", "2", "2", "1"]
    assert "13812345678" not in (out / "topics.csv").read_text(encoding="utf-8-sig")
    run_json = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run_json["counts"]["new_items"] == 12 and "segment" in run_json["timings"]


def test_rejected_rows_reported_and_rest_runs(runner, tmp_path):
    rows = [s[:4] for s in SUGGESTIONS[:3]] + [["", "2019-03-01 08:00:00", "电话", "路灯坏了"],
                                               ["Z", "2019-03-01 08:00:00", "电话", "🙂🙂！！"]]
    path = write_csv(tmp_path / "n.csv", rows)
    out = tmp_path / "out"
    result = invoke(runner, "run", path, "--db", tmp_path / "d.sqlite", "--out", out, "--model", tmp_path / "x")
    assert result.exit_code == 0
    rejected = read_csv(out / "rejected.csv")
    assert [(r["line"], r["reason"]) for r in rejected] == [
        ("5", "missing id"), ("6", "content has no words (only symbols or emoji)")]


def test_unreadable_file_stops_with_status_and_stores_nothing(runner, tmp_path, suggestions_csv):
    db = tmp_path / "d.sqlite"
    assert invoke(runner, "run", suggestions_csv, "--db", db, "--out", tmp_path / "o1", "--model", "x").exit_code == 0
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\x00\x00binary")
    result = runner.invoke(main, ["run", str(bad), "--db", str(db), "--out", str(tmp_path / "o2")])
    assert result.exit_code == EXIT_INPUT
    assert "bad.csv" in result.output and "nothing was stored" in result.output
    assert not (tmp_path / "o2").exists()
    status = invoke(runner, "status", "--db", db)
    assert "items          12" in status.output and "runs           1" in status.output


def test_second_night_keeps_topic_ids(runner, tmp_path):
    db = tmp_path / "d.sqlite"
    first = write_csv(tmp_path / "n1.csv", [s[:4] for s in SUGGESTIONS[:6]])
    second = write_csv(tmp_path / "n2.csv", [s[:4] for s in SUGGESTIONS[6:]] +
                       [("A9", "2019-03-09 08:00:00", "电话", SUGGESTIONS[0][3])])
    invoke(runner, "run", first, "--db", db, "--out", tmp_path / "o1", "--model", "x")
    before = {r["id"]: r["topic_id"] for r in read_csv(tmp_path / "o1" / "assignments.csv")}
    invoke(runner, "run", second, "--db", db, "--out", tmp_path / "o2", "--model", "x")
    after = {r["id"]: r["topic_id"] for r in read_csv(tmp_path / "o2" / "assignments.csv")}
    assert all(after[i] == t for i, t in before.items())
    assert after["A9"] == after["A1"]
    again = invoke(runner, "run", second, "--db", db, "--out", tmp_path / "o3", "--model", "x")
    assert "0 new items, 7 repeats" in again.output


def test_topic_show_runs_and_status(runner, tmp_path, suggestions_csv):
    db = tmp_path / "d.sqlite"
    invoke(runner, "run", suggestions_csv, "--db", db, "--out", tmp_path / "o", "--model", "x")
    topic_id = read_csv(tmp_path / "o" / "topics.csv")[0]["topic_id"]
    shown = invoke(runner, "topic", "show", topic_id, "--db", db)
    assert shown.exit_code == 0 and "4 items" in shown.output and "A1" in shown.output
    assert runner.invoke(main, ["topic", "show", "T9999999", "--db", str(db)]).exit_code == EXIT_USAGE
    listed = invoke(runner, "runs", "--db", db)
    assert "run 1 run" in listed.output and "night.csv" in listed.output
    assert "12 new items" in listed.output and "topics 5 new, 0 grown, 0 merged" in listed.output


def test_sample_then_evaluate(runner, tmp_path):
    data = tmp_path / "data"
    assert invoke(runner, "sample", "--n", 300, "--history", 50, "--seed", 3, "--out", data).exit_code == 0
    out = tmp_path / "out"
    invoke(runner, "run", data / "export.csv", "--db", tmp_path / "d.sqlite", "--out", out, "--model", "x")
    result = invoke(runner, "evaluate", "--gold", data / "gold.csv", "--pred", out / "assignments.csv", "--json")
    metrics = json.loads(result.output)
    assert metrics["items"] == 300 and metrics["bcubed_f1"] > 0.9


def test_sample_is_reproducible(runner, tmp_path):
    invoke(runner, "sample", "--n", 200, "--history", 10, "--seed", 5, "--out", tmp_path / "a")
    invoke(runner, "sample", "--n", 200, "--history", 10, "--seed", 5, "--out", tmp_path / "b")
    for name in ("export.csv", "gold.csv", "history.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_config_errors_are_usage_errors(runner, tmp_path, suggestions_csv):
    result = runner.invoke(main, ["run", str(suggestions_csv), "--db", str(tmp_path / "d"), "--set", "cluster.x=1"])
    assert result.exit_code == EXIT_USAGE and "unknown setting" in result.output


def test_locked_database_refused(runner, tmp_path, suggestions_csv):
    import fcntl

    db = tmp_path / "d.sqlite"
    with open(str(db) + ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        result = runner.invoke(main, ["run", str(suggestions_csv), "--db", str(db), "--out", str(tmp_path / "o")])
    assert result.exit_code == EXIT_DATABASE and "another dedup run" in result.output


def test_every_command_has_help_and_a_readme_mention(runner):
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    for name, command in main.commands.items():
        assert command.help, name
        assert f"dedup {name}" in readme, f"README does not mention `dedup {name}`"


def test_progress_lines_name_each_stage(tmp_path):
    """--progress draws a line per stage (on stderr), and the run's answer is the same as without it."""
    from pathlib import Path

    from click.testing import CliRunner

    from dedup.cli import main

    export = Path(__file__).resolve().parents[1] / "sample_data" / "export.csv"
    runner = CliRunner()
    with_bars = runner.invoke(main, ["run", str(export), "--db", str(tmp_path / "a.sqlite"), "--out",
                                     str(tmp_path / "a"), "--progress"])
    without = runner.invoke(main, ["run", str(export), "--db", str(tmp_path / "b.sqlite"), "--out",
                                   str(tmp_path / "b"), "--no-progress"])
    assert with_bars.exit_code == without.exit_code == 0
    for stage in ("ingest", "sign", "cluster", "texts placed"):
        assert stage in with_bars.stderr
    assert "cluster" not in without.stderr
    assert (tmp_path / "a" / "assignments.csv").read_bytes() == (tmp_path / "b" / "assignments.csv").read_bytes()


def test_run_summary_says_what_boilerplate_and_bounds_did(tmp_path):
    import json
    from pathlib import Path

    from click.testing import CliRunner

    from dedup.cli import main

    export = Path(__file__).resolve().parents[1] / "sample_data" / "export.csv"
    result = CliRunner().invoke(main, ["run", str(export), "--db", str(tmp_path / "db.sqlite"), "--out",
                                       str(tmp_path / "out"), "--no-progress"])
    assert result.exit_code == 0, result.output
    counts = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))["counts"]
    assert counts["cluster_boilerplate_shingles"] > 0
    assert f"boilerplate: {counts['cluster_boilerplate_shingles']} shingles" in result.output
    assert {"cluster_buckets_capped", "cluster_nodes_capped", "cluster_pairs_dropped"} <= set(counts)
