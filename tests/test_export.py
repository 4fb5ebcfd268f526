"""The files people open: text stays text, nothing half-written."""

import openpyxl

from dedup.export import write_csv, write_xlsx


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


def test_csv_has_bom_for_excel(tmp_path):
    path = write_csv(tmp_path / "a.csv", ["id", "topic_id"], [("1", "T0000001")])
    assert path.read_bytes().startswith(b"\xef\xbb\xbfid,topic_id")
