"""Tuning: the grid parser, the best-setting rule, the config it writes, plots, explain and pairs."""

import csv
import re
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SUGGESTIONS

from dedup.cli import main
from dedup.config import ConfigError, load_config
from dedup.core.gazetteer import example_path
from dedup.tools.tune import best_setting, parse_grid

ROOT = Path(__file__).resolve().parents[1]


def test_grid_parser_ranges_lists_and_shingles():
    grid = parse_grid(["threshold=0.3:0.5:0.1", "num_perm=64,128", "shingle=word2,char3"])
    assert grid == {"threshold": [0.3, 0.4, 0.5], "num_perm": [64, 128], "shingle": [("word", 2), ("char", 3)]}
    assert parse_grid(["threshold=0.3:0.9:0.05"])["threshold"][-1] == 0.9
    assert len(parse_grid(["threshold=0.3:0.9:0.05"])["threshold"]) == 13


@pytest.mark.parametrize("spec", ["threshold", "threshold=0.9:0.3:0.1", "threshold=1.5", "shingle=sentence2",
                                  "bands=3", "num_perm=many"])
def test_grid_parser_rejects_bad_specs(spec):
    with pytest.raises((ConfigError, ValueError)):
        parse_grid([spec])


def test_best_setting_rule():
    rows = [{"threshold": 0.3, "pairwise_precision": 0.95, "bcubed_f1": 0.99},
            {"threshold": 0.4, "pairwise_precision": 0.985, "bcubed_f1": 0.97},
            {"threshold": 0.5, "pairwise_precision": 0.99, "bcubed_f1": 0.96}]
    assert best_setting(rows, 0.98)["threshold"] == 0.4   # the best F1 among precise enough settings
    assert best_setting(rows, 0.9)["threshold"] == 0.3
    assert best_setting(rows, 0.999) is None


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_tune_writes_results_plots_and_a_config_run_accepts(tmp_path):
    runner = CliRunner()
    data = tmp_path / "data"
    runner.invoke(main, ["sample", "--n", "400", "--history", "10", "--seed", "4", "--out", str(data)],
                  catch_exceptions=False)
    out = tmp_path / "tuning"
    result = runner.invoke(main, ["tune", str(data / "export.csv"), "--gold", str(data / "gold.csv"),
                                  "--grid", "threshold=0.3:0.6:0.1", "--grid", "shingle=word2,char3",
                                  "--config", str(data / "dedup.toml"), "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "best:" in result.output and "of running each setting on its own" in result.output
    with open(out / "results.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 8 and {"pairwise_precision", "bcubed_f1", "topics", "gold_topics", "seconds"} <= set(rows[0])
    config = load_config(out / "best.toml")
    assert 0.3 <= config.cluster.threshold <= 0.6 and config.cluster.bands > 0 and config.cluster.scorer == "none"
    assert config.places.gazetteer  # the sweep's gazetteer: best.toml runs on its own
    for name in ("sweep.png", "s_curve.png", "topic_sizes.png"):
        width, height = png_size(out / name)
        assert width >= 500 and height >= 300, name
    again = runner.invoke(main, ["run", str(data / "export.csv"), "--db", str(tmp_path / "d.sqlite"), "--out",
                                 str(tmp_path / "o"), "--config", str(out / "best.toml"), "--model", "none"])
    assert again.exit_code == 0, again.output


@pytest.fixture
def fixture_db(tmp_path, suggestions_csv):
    db = tmp_path / "d.sqlite"
    CliRunner().invoke(main, ["run", str(suggestions_csv), "--db", str(db), "--out", str(tmp_path / "o"),
                              "--model", "none", "--set", f"places.gazetteer={example_path()}",
                              "--config", str(ROOT / "pipelines" / "scored.toml")],
                       catch_exceptions=False)
    return db


def test_explain_a_merged_pair(fixture_db):
    result = CliRunner().invoke(main, ["explain", "A1", "A2", "--db", str(fixture_db)], catch_exceptions=False)
    assert result.exit_code == 0
    out = result.output
    assert "A A1:" in out and "〔电话〕" in out and "13812345678" not in out
    assert "exact 1.000" in out or "exact 0." in out
    assert re.search(r"LSH \(\d+ bands x \d+ rows\): candidates", out) and "merged: both in" in out
    assert "pair scorer (default): match probability" in out and "word_containment = " in out
    assert "clauses that are mostly boilerplate: A " in out
    assert "would part them" in out


def test_explain_a_pair_the_place_veto_keeps_apart(fixture_db):
    result = CliRunner().invoke(main, ["explain", "A1", "B1", "--db", str(fixture_db)], catch_exceptions=False)
    out = result.output
    assert "not merged" in out and "the veto keeps them apart" in out
    assert "no threshold would merge them" in out


def test_explain_unknown_item(fixture_db):
    result = CliRunner().invoke(main, ["explain", "A1", "nope", "--db", str(fixture_db)])
    assert result.exit_code == 2 and "no item 'nope'" in result.output


def test_pairs_then_tune_on_labelled_pairs(tmp_path, fixture_db, suggestions_csv):
    out = tmp_path / "pairs.csv"
    result = CliRunner().invoke(main, ["pairs", "--sample", "20", "--db", str(fixture_db), "--out", str(out)],
                                catch_exceptions=False)
    assert result.exit_code == 0
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and set(rows[0]) >= {"id_a", "id_b", "jaccard", "same"}
    topic = {s[0]: s[4] for s in SUGGESTIONS}
    for r in rows:
        r["same"] = "1" if topic[r["id_a"]] == topic[r["id_b"]] else "0"
    labelled = tmp_path / "labelled.csv"
    with open(labelled, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    tuned = CliRunner().invoke(main, ["tune", str(suggestions_csv), "--gold", str(labelled), "--grid",
                                      "threshold=0.3:0.5:0.1", "--out", str(tmp_path / "t"), "--no-baseline"],
                               catch_exceptions=False)
    assert tuned.exit_code == 0 and "pairwise_f1" in tuned.output
