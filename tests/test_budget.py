"""The memory budget: a run that cannot fit stops before anything is stored, with exit status 6."""

import pytest
from click.testing import CliRunner

from dedup.batch import budget
from dedup.cli import main
from dedup.config import ConfigError, RunConfig, load_config, parse_size


def test_sizes_parse():
    assert parse_size("4GiB") == 4 << 30
    assert parse_size("512 MiB") == 512 << 20
    assert parse_size(1000) == 1000
    for bad in ("lots", "-1GiB", "4XB", ""):
        with pytest.raises(ConfigError):
            parse_size(bad)
    with pytest.raises(ConfigError):
        RunConfig(memory_budget="1MiB")


def test_pair_chunk_follows_the_budget():
    small, large = budget.pair_chunk(8_000_000, 256 << 20), budget.pair_chunk(8_000_000, 64 << 30)
    assert small < large == 8_000_000


def _export(tmp_path, rows):
    export = tmp_path / "export.csv"
    export.write_text("id,received_at,channel,content\n" +
                      "".join(f"N{k},2019-03-01 08:00:00,电话,东关街{k}号路灯坏了好几天了\n" for k in range(rows)),
                      encoding="utf-8")
    return export


def test_an_export_too_large_to_prepare_is_refused_before_reading(tmp_path):
    export = _export(tmp_path, 600_000)   # ~33 MiB: preparing it needs more than 256 MiB
    db = tmp_path / "db.sqlite"
    result = CliRunner().invoke(main, ["run", str(export), "--db", str(db), "--out", str(tmp_path / "out"),
                                       "--set", "run.memory_budget=256MiB"])
    assert result.exit_code == 6, result.output
    assert "run.memory_budget" in result.output and "nothing was stored" in result.output
    assert not db.exists() and not (tmp_path / "out").exists()


def test_a_run_over_budget_once_prepared_stores_nothing(tmp_path):
    """The second check: the distinct texts' clustering would not fit; the database stays as it was."""
    from dedup.batch import budget

    export = _export(tmp_path, 3000)
    db = tmp_path / "db.sqlite"
    need = budget.held_bytes() + 300 * 2**20  # less than the model's and writer's share on top of now
    result = CliRunner().invoke(main, ["run", str(export), "--db", str(db), "--out", str(tmp_path / "out"),
                                       "--set", f"run.memory_budget={max(need, 257 * 2**20)}"])
    assert result.exit_code == 6, result.output
    assert "distinct texts" in result.output
    assert not (tmp_path / "out" / "assignments.csv").exists()


def test_budget_is_recorded_with_the_configuration():
    assert load_config(None, {"run.memory_budget": "8GiB"}).to_dict()["run"]["memory_budget"] == "8GiB"


def test_a_workbook_counts_as_its_expanded_size(tmp_path):
    import zipfile

    from dedup.batch.budget import input_bytes

    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", "<sst>" + "a" * (50 << 20) + "</sst>")
    assert path.stat().st_size < 1 << 20 and input_bytes([path]) > 50 << 20
