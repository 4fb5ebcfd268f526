"""The files people open: text stays text, nothing half-written."""

import csv
import sqlite3

import openpyxl
import pytest
from conftest import SUGGESTIONS
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.batch import pipeline, publish, writes
from dedup.batch.pipeline import run
from dedup.config import Config
from dedup.io.export import write_csv, write_xlsx
from dedup.storage.store import Store


def test_xlsx_keeps_text_as_text(tmp_path):
    rows = [("T0000001", 3, "=HYPERLINK(\"http://x\")", "http://example.com", "0012"),
            ("T0000002", 1, "路灯不亮", "", None)]
    path = write_xlsx(tmp_path / "t.xlsx", {"topics": (["topic_id", "size", "text", "link", "code"], rows)})
    sheet = openpyxl.load_workbook(path)["topics"]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == ["topic_id", "size", "text", "link", "code"]
    assert values[1] == ["T0000001", 3, "=HYPERLINK(\"http://x\")", "http://example.com", "0012"]
    assert [c.data_type for c in sheet[2]] == ["s", "n", "s", "s", "s"]  # a formula would be "f"
    assert values[2][:3] == ["T0000002", 1, "路灯不亮"]
    assert not list(tmp_path.glob("*.tmp"))


def test_xlsx_one_sheet_per_entry(tmp_path):
    path = write_xlsx(tmp_path / "t.xlsx", {"new": (["a"], [(1,)]), "changed": (["a", "b"], [])})
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["new", "changed"]
    assert [c.value for c in book["changed"][1]] == ["a", "b"]


def _reference_xlsx(path, sheets):
    """The workbook as XlsxWriter writes it (the writer ``write_xlsx`` replaced, kept as its reference)."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                           "strings_to_urls": False, "strings_to_numbers": False})
    bold = book.add_format({"bold": True})
    for name, (header, rows) in sheets.items():
        ws = book.add_worksheet(name)
        ws.write_row(0, 0, list(header), bold)
        ws.freeze_panes(1, 0)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row):  # cell by cell: write_row stops at a truncated string
                ws.write(r, c, value)
    book.close()
    return path


def _cells(path):
    book = openpyxl.load_workbook(path)
    return {name: [[(c.value, c.data_type, c.font.b) for c in row] for row in book[name].iter_rows()]
            for name in book.sheetnames}


AWKWARD = ["路灯不亮", "=SUM(A1:A2)", "http://example.com", "0012", " leading and trailing ", "tab\there",
           "line\nbreak", "cr\rhere", "bell\x07", "\x00nul", "_x0041_ is not A", "_x00zz_", "& < > \" '",
           "\ufffe\uffff", "😀 astral", "x" * 40000, "汉" * 20000 + "😀" * 10, "", None, 0, -3, 2 ** 40, 0.1, 1e-300,
           True, False]


def test_xlsx_cells_are_xlsxwriters(tmp_path):
    rows = [AWKWARD[k:k + 5] for k in range(0, len(AWKWARD), 5)]
    sheets = {"topics": (["a", "b", "c", "d", "e"], rows), "empty": (["only", "a header"], [])}
    ours = _cells(write_xlsx(tmp_path / "ours.xlsx", sheets))
    assert ours == _cells(_reference_xlsx(tmp_path / "reference.xlsx", sheets))
    assert ours["topics"][0][0] == ("a", "s", True) and ours["topics"][1][0][2] is False
    sheet = openpyxl.load_workbook(tmp_path / "ours.xlsx")["topics"]
    assert sheet.freeze_panes == "A2"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.one_of(st.text(max_size=30), st.integers(-10 ** 12, 10 ** 12), st.none()),
                         min_size=3, max_size=3), max_size=6))
def test_xlsx_cells_are_xlsxwriters_for_any_text(tmp_path_factory, rows):
    folder = tmp_path_factory.mktemp("x")
    sheets = {"s": (["x", "y", "z"], rows)}
    assert _cells(write_xlsx(folder / "ours.xlsx", sheets)) == _cells(_reference_xlsx(folder / "ref.xlsx", sheets))


def test_xlsx_refuses_a_bad_sheet_name(tmp_path):
    with pytest.raises(ValueError, match="cannot name a worksheet"):
        write_xlsx(tmp_path / "t.xlsx", {"a/b": (["x"], [])})


def test_csv_has_bom_for_excel(tmp_path):
    path = write_csv(tmp_path / "a.csv", ["id", "topic_id"], [("1", "T0000001")])
    assert path.read_bytes().startswith(b"\xef\xbb\xbfid,topic_id")


_CELLS = st.one_of(st.text(alphabet='ab,"\r\n \x00中', max_size=4), st.integers(-5, 5), st.none(),
                   st.floats(allow_nan=False, allow_infinity=False))


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.one_of(st.lists(_CELLS, min_size=1, max_size=3).map(tuple),
                               st.lists(st.text(alphabet='ab中T0,"\r\n \x00=-@+\t', max_size=4), min_size=1, max_size=3)),
                     max_size=12),
       block=st.integers(1, 4))
def test_csv_rows_are_written_as_the_csv_module_writes_them(tmp_path_factory, rows, block):
    """Blocks of plain strings are joined directly; any other block goes through the csv module (after
    cells that begin like a formula are made text)."""
    import io
    from unittest import mock

    with mock.patch("dedup.io.export._CSV_BLOCK", block):
        path = write_csv(tmp_path_factory.mktemp("c") / "a.csv", ["x", "y"], iter(rows))
    expected = io.StringIO(newline="")
    expected.write("\ufeff")
    inert = [[f"'{c}" if isinstance(c, str) and c[:1] in ("=", "+", "-", "@", "\t", "\r") else c for c in row]
             for row in rows]
    csv.writer(expected).writerows([["x", "y"], *inert])
    assert path.read_bytes() == expected.getvalue().encode("utf-8")


def _read(path):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def test_full_run_files_written_early_equal_the_committed_ones(tmp_path, suggestions_csv, monkeypatch):
    """A full run writes assignments, topics.csv and the workbook before committing; they must hold what
    was stored."""
    out = tmp_path / "out"
    monkeypatch.setattr(publish, "write_assignments", _must_not_run)  # the early file must be the one kept
    write_csv = pipeline.write_csv

    def not_topics(path, *args, final=True):
        assert not (final and path.name == "topics.csv"), "topics.csv should have been written early"
        return write_csv(path, *args, final=final)

    monkeypatch.setattr(pipeline, "write_csv", not_topics)
    monkeypatch.setattr(publish, "write_csv", not_topics)
    report = run([suggestions_csv], tmp_path / "db.sqlite", out, Config())
    store = Store(tmp_path / "db.sqlite")
    assert _read(out / "assignments.csv")[1:] == [list(r) for r in store.assignments()]
    rows = store.topic_rows(report.run_id)[0]
    assert _read(out / "topics.csv")[1:] == [[str(v) for v in row] for row in rows]
    assert _read(out / "new_topics.csv") == _read(out / "topics.csv")
    sheet = openpyxl.load_workbook(out / "topics.xlsx")["topics"]
    assert [tuple(c.value if c.value is not None else "" for c in row) for row in sheet.iter_rows(min_row=2)] == \
        [tuple(r) for r in rows]
    assert not list(out.glob("*.tmp"))


def test_full_run_files_written_early_from_other_rows_are_written_again(tmp_path, suggestions_csv, monkeypatch):
    """Early files whose rows differ from the committed ones are not kept: they are written from the database."""
    write_workbook = publish.EarlyExports.write_workbook

    def one_row_wrong(self, rows):
        write_workbook(self, [(rows[0][0], rows[0][1], "X", *rows[0][3:]), *rows[1:]])

    monkeypatch.setattr(publish.EarlyExports, "write_workbook", one_row_wrong)
    out = tmp_path / "out"
    report = run([suggestions_csv], tmp_path / "db.sqlite", out, Config())
    rows = Store(tmp_path / "db.sqlite").topic_rows(report.run_id)[0]
    assert _read(out / "topics.csv")[1:] == [[str(v) for v in row] for row in rows]
    sheet = openpyxl.load_workbook(out / "topics.xlsx")["topics"]
    assert [tuple(c.value if c.value is not None else "" for c in row) for row in sheet.iter_rows(min_row=2)] == \
        [tuple(r) for r in rows]
    assert not list(out.glob("*.tmp"))


def test_assignments_the_writer_could_not_write_are_written_after_the_commit(tmp_path, suggestions_csv,
                                                                            monkeypatch):
    def full_disk(self, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writes.FullRows, "write_assignments", full_disk)
    out = tmp_path / "out"
    run([suggestions_csv], tmp_path / "db.sqlite", out, Config())
    assert _read(out / "assignments.csv")[1:] == [list(r) for r in Store(tmp_path / "db.sqlite").assignments()]
    assert not list(out.glob("*.tmp"))


def test_night_files_are_the_stored_ones_and_tonights(tmp_path, suggestions_csv, monkeypatch):
    """A night reads the stored assignments and topics before committing and adds its own; the files
    must equal what the database holds afterwards."""
    db = tmp_path / "db.sqlite"
    run([suggestions_csv], db, tmp_path / "first", Config())
    monkeypatch.setattr(publish, "write_assignments", _must_not_run)  # read before the commit, not after
    every_row = Store.topic_rows

    def only_tonights(self, run_id=None, every=True):
        assert not every, "topics.csv should have come from the early writer"
        return every_row(self, run_id, every)

    monkeypatch.setattr(Store, "topic_rows", only_tonights)
    night = tmp_path / "night.csv"
    night.write_text("id,received_at,channel,content\n"
                     "N1,2019-08-01 10:00:00,电话,高唐县鱼丘湖街道路灯坏了很久没人修\n"
                     f"N2,2019-08-01 11:00:00,微信,{SUGGESTIONS[0][3]}\n", encoding="utf-8")
    run([night], db, tmp_path / "out", Config())
    monkeypatch.undo()
    store = Store(db)
    assert _read(tmp_path / "out" / "assignments.csv")[1:] == [list(r) for r in store.assignments()]
    assert {"N1", "N2"} <= {r[0] for r in store.assignments()}
    expected = [[str(v) for v in row] for row in store.topic_rows()[0]]
    assert _read(tmp_path / "out" / "topics.csv")[1:] == expected
    assert not list((tmp_path / "out").glob("*.tmp"))


def test_failed_commit_leaves_no_files_behind(tmp_path, suggestions_csv, monkeypatch):
    def broken(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(Store, "write_topics", broken)
    out = tmp_path / "out"
    with pytest.raises(sqlite3.OperationalError):
        run([suggestions_csv], tmp_path / "db.sqlite", out, Config())
    assert not list(out.glob("*")) if out.exists() else True
    assert Store(tmp_path / "db.sqlite").counts()["items"] == 0


def test_a_failed_index_segment_leaves_the_database_as_it_was(tmp_path, suggestions_csv, monkeypatch):
    """The writer has the topics before the segment is written; it must not commit before the segment is in
    place: a run (or a night) whose segment fails stores nothing and names no new segment."""
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    db = tmp_path / "db.sqlite"
    monkeypatch.setattr(pipeline, "write_segment", full_disk)
    with pytest.raises(OSError, match="No space"):
        run([suggestions_csv], db, tmp_path / "out", Config())
    assert Store(db).counts()["items"] == 0 and Store(db).last_run() == 0
    monkeypatch.undo()
    run([suggestions_csv], db, tmp_path / "first", Config())
    before = Store(db).counts(), Store(db).meta("index")
    monkeypatch.setattr(pipeline, "write_segment", full_disk)
    night = tmp_path / "night.csv"
    night.write_text("id,received_at,channel,content\n"
                     "N1,2019-08-01 10:00:00,电话,高唐县鱼丘湖街道路灯坏了很久没人修\n", encoding="utf-8")
    with pytest.raises(OSError, match="No space"):
        run([night], db, tmp_path / "night", Config())
    assert (Store(db).counts(), Store(db).meta("index")) == before


def _must_not_run(*args, **kwargs):
    raise AssertionError("assignments.csv should have come from the early writer")



def test_rebuild_files_written_early_equal_the_committed_ones(tmp_path, suggestions_csv, monkeypatch):
    db = tmp_path / "db.sqlite"
    run([suggestions_csv], db, None, Config())
    monkeypatch.setattr(publish, "write_assignments", _must_not_run)
    pipeline.rebuild(db, tmp_path / "out", Config().with_overrides({"cluster.threshold": 0.6}))
    store = Store(db)
    assert _read(tmp_path / "out" / "assignments.csv")[1:] == [list(r) for r in store.assignments()]
    expected = [[str(v) for v in row] for row in store.topic_rows()[0]]
    assert _read(tmp_path / "out" / "topics.csv")[1:] == expected
    sheet = openpyxl.load_workbook(tmp_path / "out" / "topics.xlsx")["topics"]
    assert sheet.max_row == len(expected) + 1


def test_a_failed_write_behind_is_raised_in_the_writing_thread():
    from dedup.io.export import _behind

    written = []

    def write(data):
        if data == b"bad":
            raise OSError(28, "No space left on device")
        written.append(data)

    with pytest.raises(OSError, match="No space"):
        with _behind(write) as put:
            for data in (b"a", b"b", b"bad", *[b"more"] * 100):
                put(data)
    assert written == [b"a", b"b"]


@pytest.mark.parametrize("cell", ["=1+1", "+86 138", "-2+3", "@SUM(A1)", "\t=cmd", "\r=cmd", "=HYPERLINK(\"x\")"])
def test_csv_cells_that_begin_like_a_formula_are_written_as_text(tmp_path, cell):
    import csv

    rows = [("T1", cell, "路灯"), ("T2", "平常的文字", "ok")]
    path = write_csv(tmp_path / "a.csv", ["id", "text", "k"], rows)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        read = list(csv.reader(fh))
    assert read[1] == ["T1", "'" + cell, "路灯"] and read[2] == ["T2", "平常的文字", "ok"]


def test_plain_blocks_and_formula_cells_give_what_the_csv_module_writes_for_theinert_rows(tmp_path):
    import csv
    import io

    rows = [(f"T{k}", "=1+1" if k % 7 == 0 else f"文字{k}", "-" if k % 5 == 0 else "x") for k in range(100)]
    path = write_csv(tmp_path / "a.csv", ["id", "text", "k"], rows)
    expected = io.StringIO()
    csv.writer(expected).writerows([["id", "text", "k"]] + [
        [c if not c.startswith(("=", "-")) else "'" + c for c in row] for row in rows])
    assert path.read_bytes().decode("utf-8-sig") == expected.getvalue()
