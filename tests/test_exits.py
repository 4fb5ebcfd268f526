"""The exit-status table, command by command: each bad case ends with its status and a message, never a
traceback, and leaves the database as it was."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SUGGESTIONS, write_csv

from dedup.cli import EXIT_DATABASE, EXIT_INPUT, EXIT_OUTPUT, EXIT_USAGE, main

NO_MODEL = "/nonexistent/model.joblib"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A database after one run of the hand-written suggestions, and a night to add to it."""
    root = tmp_path_factory.mktemp("built")
    export = write_csv(root / "n1.csv", [s[:4] for s in SUGGESTIONS[:8]])
    result = CliRunner().invoke(main, ["run", str(export), "--db", str(root / "d.sqlite"), "--out",
                                       str(root / "o"), "--model", NO_MODEL, "--no-progress"])
    assert result.exit_code == 0, result.output
    write_csv(root / "n2.csv", [s[:4] for s in SUGGESTIONS[8:]])
    return root


@pytest.fixture
def copy(built, tmp_path) -> Path:
    """A private copy of the built database (and its index); returns its folder."""
    shutil.copy(built / "d.sqlite", tmp_path / "d.sqlite")
    shutil.copytree(built / "d.sqlite.index", tmp_path / "d.sqlite.index")
    shutil.copy(built / "n2.csv", tmp_path / "n2.csv")
    return tmp_path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def invoke(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        f"traceback for {args}: {result.exception!r}"
    assert "Traceback" not in result.output
    return result


def test_a_zero_byte_database_is_not_taken_for_a_new_one(copy):
    (copy / "d.sqlite").write_bytes(b"")
    segments = sorted((copy / "d.sqlite.index").iterdir())
    result = invoke("run", str(copy / "n2.csv"), "--db", str(copy / "d.sqlite"), "--out", str(copy / "o"),
                    "--model", NO_MODEL)
    assert result.exit_code == EXIT_DATABASE and "empty (0 bytes)" in result.output
    assert sorted((copy / "d.sqlite.index").iterdir()) == segments and (copy / "d.sqlite").stat().st_size == 0


def test_a_missing_database_beside_its_index_is_not_started_afresh(copy):
    (copy / "d.sqlite").unlink()
    result = invoke("run", str(copy / "n2.csv"), "--db", str(copy / "d.sqlite"), "--model", NO_MODEL)
    assert result.exit_code == EXIT_DATABASE and "database is missing but its index" in result.output
    assert not (copy / "d.sqlite").exists()


@pytest.mark.parametrize("command", [["status"], ["runs"], ["topic", "show", "T0000001"], ["export", "--out", "x"],
                                     ["explain", "A1", "A2"], ["pairs", "--out", "p.csv"]])
def test_another_applications_database_is_refused_and_left_untouched(tmp_path, command):
    db = tmp_path / "other.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE users (name TEXT)")
    con.commit()
    con.close()
    before = digest(db)
    result = invoke(*command, "--db", str(db))
    assert result.exit_code == EXIT_DATABASE and "not a dedup database" in result.output
    assert digest(db) == before


@pytest.mark.parametrize("command", [["status"], ["runs"], ["topic", "show", "T0000001"], ["explain", "A1", "A2"],
                                     ["run", "n2.csv"], ["rebuild"], ["export"]])
def test_a_damaged_database_exits_4_without_a_traceback(copy, command, monkeypatch):
    monkeypatch.chdir(copy)
    db = copy / "d.sqlite"
    db.write_bytes(db.read_bytes()[:3000])  # cut inside its first page: SQLite finds it malformed
    extra = ["--model", NO_MODEL] if command[0] in ("run", "rebuild") else []
    result = invoke(*command, "--db", str(db), *extra)
    assert result.exit_code == EXIT_DATABASE, result.output


def test_read_commands_change_no_byte_of_the_database(copy):
    before = digest(copy / "d.sqlite")
    for command in (["status"], ["runs"], ["topic", "show", "T0000001"], ["explain", "A1", "A2"]):
        assert invoke(*command, "--db", str(copy / "d.sqlite")).exit_code == 0
    assert digest(copy / "d.sqlite") == before


@pytest.mark.parametrize("command,message", [
    (["topic", "show", "T999"], "no topic 'T999'"),
    (["explain", "A1", "ZZZ"], "no item 'ZZZ'"),
    (["export", "--run", "7"], "no run 7"),
    (["pairs", "--sample", "-3"], "-3"),
])
def test_what_is_not_there_is_a_usage_error(copy, command, message):
    result = invoke(*command, "--db", str(copy / "d.sqlite"))
    assert result.exit_code == EXIT_USAGE and message in result.output


@pytest.mark.parametrize("damage", ["truncate", "flip", "remove", "segment.json"])
def test_a_damaged_index_segment_exits_4_and_a_rebuild_mends_it(copy, damage):
    [segment] = (copy / "d.sqlite.index").iterdir()
    sig = segment / "sig.npy"
    if damage == "truncate":
        sig.write_bytes(sig.read_bytes()[:1000])
    elif damage == "flip":
        data = bytearray(sig.read_bytes())
        data[-40] ^= 0xFF  # one signature value: the file still loads, with one wrong number
        sig.write_bytes(bytes(data))
    elif damage == "remove":
        shutil.rmtree(segment)
    else:
        (segment / "segment.json").write_text("{")
    before = digest(copy / "d.sqlite")
    args = ["--db", str(copy / "d.sqlite"), "--out", str(copy / "o"), "--model", NO_MODEL]
    result = invoke("run", str(copy / "n2.csv"), *args)
    assert result.exit_code == EXIT_DATABASE and "dedup rebuild" in result.output
    assert digest(copy / "d.sqlite") == before
    assert invoke("rebuild", *args).exit_code == 0
    assert invoke("run", str(copy / "n2.csv"), *args).exit_code == 0


def test_a_full_disk_while_writing_the_files_keeps_the_run_and_says_how_to_write_them(copy, monkeypatch):
    import dedup.io.export as export

    def full(tmp, final):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export, "_replace", full)
    result = invoke("run", str(copy / "n2.csv"), "--db", str(copy / "d.sqlite"), "--out", str(copy / "o"),
                    "--model", NO_MODEL, "--no-progress")
    assert result.exit_code == EXIT_OUTPUT and "stored as run 2" in result.output
    assert "No space left on device" in result.output and "dedup export --run 2" in result.output
    monkeypatch.undo()
    assert invoke("export", "--db", str(copy / "d.sqlite"), "--run", "2", "--out", str(copy / "o")).exit_code == 0
    assert len((copy / "o" / "new_topics.csv").read_text(encoding="utf-8-sig").splitlines()) > 1


def test_a_binary_file_given_to_evaluate_is_an_input_error(tmp_path):
    gold = tmp_path / "gold.csv"
    gold.write_bytes(bytes(range(256)) * 8)
    pred = write_csv(tmp_path / "pred.csv", [("A1", "T1")], header=["id", "topic_id"])
    result = invoke("evaluate", "--gold", str(gold), "--pred", str(pred))
    assert result.exit_code == EXIT_INPUT, result.output


@pytest.mark.parametrize("kind", ["fifo", "directory", "device"])
def test_a_fifo_device_or_folder_as_the_export_is_refused_before_the_lock(tmp_path, kind):
    import os

    path = tmp_path / "export.csv"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    else:
        path = Path("/dev/zero")
    result = invoke("run", str(path), "--db", str(tmp_path / "d.sqlite"), "--model", NO_MODEL)
    assert result.exit_code in (EXIT_INPUT, EXIT_USAGE) and str(path) in result.output
    assert not (tmp_path / "d.sqlite").exists() and not (tmp_path / "d.sqlite.lock").exists()


def test_tune_and_sample_refuse_bad_input_with_their_status(tmp_path):
    binary = tmp_path / "gold.csv"
    binary.write_bytes(bytes(range(256)) * 8)
    export = write_csv(tmp_path / "export.csv", [s[:4] for s in SUGGESTIONS])
    result = invoke("tune", str(export), "--gold", str(binary), "--grid", "threshold=0.4", "--out", str(tmp_path / "t"))
    assert result.exit_code == EXIT_INPUT and "not a UTF-8 CSV" in result.output
    assert invoke("sample", "--n", "-5", "--out", str(tmp_path / "s")).exit_code == EXIT_USAGE


def test_a_fault_in_dedup_itself_is_one_line_and_exit_70(monkeypatch, capsys):
    import dedup.cli as cli
    import dedup.cli.base as base

    def broken(*args, **kwargs):
        raise RuntimeError("something dedup did not expect")

    monkeypatch.setattr(base, "main", broken)  # the group the program runs
    monkeypatch.delenv("DEDUP_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exit_:
        cli.program()
    assert exit_.value.code == cli.EXIT_SOFTWARE == 70
    err = capsys.readouterr().err
    assert "unexpected RuntimeError: something dedup did not expect" in err and "Traceback" not in err


def test_an_output_folder_that_cannot_be_made_is_a_usage_error(copy):
    (copy / "ofile").write_text("a file where the folder would go")
    result = invoke("run", str(copy / "n2.csv"), "--db", str(copy / "d.sqlite"), "--out", str(copy / "ofile" / "sub"),
                    "--model", NO_MODEL)
    assert result.exit_code == EXIT_USAGE and "not a writable folder" in result.output


def test_a_failed_export_leaves_no_temporary_files(copy):
    out = copy / "o"
    (out / "changed_topics.csv").mkdir(parents=True)  # a folder where a file goes: renaming onto it fails
    result = invoke("run", str(copy / "n2.csv"), "--db", str(copy / "d.sqlite"), "--out", str(out),
                    "--model", NO_MODEL, "--no-progress")
    assert result.exit_code == EXIT_OUTPUT and "dedup export --run 2" in result.output
    assert not list(out.glob("*.tmp"))


def test_a_read_command_after_a_run_cut_off_mid_commit_says_what_to_do(copy):
    (copy / "d.sqlite-journal").write_bytes(b"\xd9\xd5\x05\xf9\x20\xa1\x63\xd7" + b"\x00" * 504)  # a journal left
    result = invoke("status", "--db", str(copy / "d.sqlite"))
    assert result.exit_code == EXIT_DATABASE and "next `dedup run`" in result.output
