"""Reading exports: formats, encodings, headers, and every kind of bad row."""

import datetime as dt
import json
import os
import re

import pytest
from conftest import HEADER, SUGGESTIONS, write_csv
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.config import IngestConfig
from dedup.io.ingest import IngestError, ingest, parse_time

CFG = IngestConfig()
NOW = dt.datetime(2019, 6, 1)
ROWS = [s[:4] for s in SUGGESTIONS]


def run(paths, known=None):
    return ingest(paths, CFG, known=known, now=NOW)


def test_csv_utf8_reads_every_row(tmp_path):
    result = run([write_csv(tmp_path / "a.csv", ROWS)])
    assert len(result.items) == 12 and not result.rejected
    assert {it.channel for it in result.items} == {"phone", "email", "website", "wechat", "app"}


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_bom_and_gb18030_decoded(tmp_path, encoding):
    result = run([write_csv(tmp_path / "a.csv", ROWS, encoding=encoding)])
    assert result.items[0].content == SUGGESTIONS[0][3]


def test_chinese_headers_and_tsv(tmp_path):
    path = tmp_path / "a.tsv"
    path.write_text("编号\t时间\t渠道\t内容\t标题\n1\t2019/3/1 8:00\t电话\t路灯坏了\t路灯\n", encoding="utf-8")
    result = run([path])
    assert result.items[0].received_at == "2019-03-01 08:00:00" and result.items[0].title == "路灯"


def test_jsonl(tmp_path):
    path = tmp_path / "a.jsonl"
    lines = [json.dumps(dict(zip(HEADER, r)), ensure_ascii=False) for r in ROWS[:3]] + ["{not json", "[1]"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run([path])
    assert len(result.items) == 3
    assert [(r.line, r.reason.split(" (")[0]) for r in result.rejected] == [(4, "not valid JSON"),
                                                                           (5, "not a JSON object")]


def test_xlsx_with_several_sheets(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    notes = book.active
    notes.title = "说明"
    notes.append(["本表为夜间导出"])
    data = book.create_sheet("数据")
    data.append(HEADER)
    for r in ROWS[:4]:
        data.append(list(r))
    data.append(["X1", dt.datetime(2019, 3, 1, 8), "电话", "路灯坏了"])
    path = tmp_path / "a.xlsx"
    book.save(path)
    result = run([path])
    assert len(result.items) == 5 and result.items[-1].received_at == "2019-03-01 08:00:00"


@pytest.mark.parametrize("row,reason", [
    (["", "2019-03-01 08:00:00", "电话", "路灯坏了"], "missing id"),
    (["X", "2019-03-01 08:00:00", "电话", "   "], "empty content"),
    (["X", "2019-03-01 08:00:00", "电话", "长" * 20001], "content too long"),
])
def test_bad_rows_rejected_with_reason_and_line(tmp_path, row, reason):
    path = write_csv(tmp_path / "a.csv", ROWS[:2] + [row] + ROWS[2:3])
    result = run([path])
    assert len(result.items) == 3
    [rejected] = result.rejected
    assert reason in rejected.reason and rejected.line == 4 and rejected.file == str(path)


@pytest.mark.parametrize("row,note,channel", [
    (["X", "昨天下午", "电话", "路灯坏了"], "unreadable time: given the export's date", "phone"),
    (["X", "", "电话", "路灯坏了"], "no time: given the export's date", "phone"),
    (["X", "2030-01-01 08:00:00", "电话", "路灯坏了"], "time in the future: given the export's date", "phone"),
    (["X", "0001-01-01", "电话", "路灯坏了"], "time before ingest.earliest: given the export's date", "phone"),
    (["X", "2019-03-01 08:00:00", "传真", "路灯坏了"], "channel not in ingest.channels: kept as other", "other"),
])
def test_metadata_that_cannot_be_used_is_filled_in_and_flagged_never_refused(tmp_path, row, note, channel):
    path = write_csv(tmp_path / "a.csv", ROWS[:2] + [row] + ROWS[2:3])
    os.utime(path, (dt.datetime(2019, 3, 4, 15).timestamp(),) * 2)
    result = run([path])
    assert len(result.items) == 4 and not result.rejected
    [flag] = result.flagged
    assert (flag.line, flag.id, flag.reason) == (4, "X", note)
    item = result.items[2]
    assert item.channel == channel
    assert item.received_at == ("2019-03-04 00:00:00" if "time" in note else "2019-03-01 08:00:00")


@pytest.mark.parametrize("name,kind", [("意见簿", "paper"), ("12345热线", "phone"), ("E-Mail", "email"),
                                       ("信件", "paper"), ("", "other")])
def test_channel_names_map_to_kinds(tmp_path, name, kind):
    path = write_csv(tmp_path / "a.csv", [("X", "2019-03-01 08:00:00", name, "路灯坏了")])
    assert [it.channel for it in run([path]).items] == [kind] and not run([path]).flagged


def test_an_export_without_channel_or_time_columns_keeps_every_message(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("留言编号,留言主题,留言详情\n1,路灯,东关街路灯不亮\n2,噪音,工地夜间施工\n", encoding="utf-8")
    os.utime(path, (dt.datetime(2019, 3, 4, 15).timestamp(),) * 2)
    result = run([path])
    assert [(it.id, it.channel, it.received_at) for it in result.items] == [
        ("1", "other", "2019-03-04 00:00:00"), ("2", "other", "2019-03-04 00:00:00")]
    assert len(result.flagged) == 2


def test_the_channel_map_comes_from_configuration(tmp_path):
    path = write_csv(tmp_path / "a.csv", [("X", "2019-03-01 08:00:00", "市民热线", "路灯坏了")])
    config = IngestConfig(channels={"市民热线": "phone"})
    assert [it.channel for it in ingest([path], config, now=NOW).items] == ["phone"]


def test_same_id_same_content_stored_once_and_changed_content_rejected(tmp_path):
    changed = (ROWS[0][0], ROWS[0][1], ROWS[0][2], "完全不同的内容")
    result = run([write_csv(tmp_path / "a.csv", ROWS + [ROWS[0], changed])])
    assert len(result.items) == 12 and result.repeats == 1
    assert [r.reason for r in result.rejected] == ["id seen before with different content"]


def test_known_ids_from_the_database_are_checked(tmp_path):
    result = run([write_csv(tmp_path / "a.csv", ROWS[:1])], known={ROWS[0][0]: "别的内容"})
    assert not result.items and result.rejected[0].reason == "id seen before with different content"


@pytest.mark.parametrize("content,message", [
    (b"", "file is empty"),
    (b" \r\n\t\n", "file is empty"),
    (b"\x00\x01\x02binary", "binary"),
    (b"id,\xff\xff\xff" * 10, "neither UTF-8 nor GB18030"),
    ("编号,时间\n1,2019-03-01\n".encode(), "missing required column(s) content"),
])
def test_unreadable_files_raise(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(IngestError, match=message.replace("(", r"\(").replace(")", r"\)")) as exc:
        run([path])
    assert str(path) in str(exc.value)


def test_header_only_gives_no_items(tmp_path):
    result = run([write_csv(tmp_path / "a.csv", [])])
    assert result.items == [] and result.rows_read == 0


def test_truncated_last_line_rejected(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("id,received_at,channel,content\n1,2019-03-01 08:00:00,电话,路灯坏了\n2,2019-03-01", encoding="utf-8")
    result = run([path])
    assert len(result.items) == 1 and "truncated" in result.rejected[0].reason


@pytest.mark.parametrize("value,expected", [
    ("2019-03-01 08:00:00", "2019-03-01 08:00:00"), ("2019/2/28 11:25:05", "2019-02-28 11:25:05"),
    ("2019-03-01T08:00:00", "2019-03-01 08:00:00"), ("2019年3月1日", "2019-03-01 00:00:00"),
    ("2019-03-01", "2019-03-01 00:00:00"), ("nonsense", None), ("", None)])
def test_parse_time(value, expected):
    assert parse_time(value) == expected


@given(st.integers(1900, 2100), st.integers(1, 12), st.integers(1, 31), st.integers(0, 23))
def test_canonical_times_are_checked_as_strptime_checks_them(year, month, day, hour):
    """The fast path for canonical times (days 29-31 included) agrees with strptime."""
    value = f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:30:00"
    try:
        expected = dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S").strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        expected = None
    assert parse_time(value) == expected


# The CSV fast path must give read_records' items and rejections, cell for cell, whatever the rows hold.
CELLS = {
    "id": ["A1", " A2 ", "", "  ", "A3", "A1"],
    "received_at": ["2019-03-01 08:00:00", "2019-02-29 08:00:00", "2019-02-28 08:00:00", "2019/3/1 8:00",
                    " 2019-03-01 08:00:00", "2030-01-01 08:00:00", "2019-06-08 00:00:00", "昨天", "", "2019-04-31 10:00:00"],
    "channel": ["电话", "phone", "Phone", " 微信 ", "传真", "", "客户端"],
    "content": ["路灯坏了", " 路灯坏了 ", "", "   ", "长" * 30, "噪音扰民，晚上施工"],
    "title": ["", "路灯", " 标题 "],
}


@given(st.lists(st.one_of(st.fixed_dictionaries({k: st.sampled_from(v) for k, v in CELLS.items()}),
                          st.just("blank"), st.just("spaces"), st.just("empty"), st.just("short")), max_size=12),
       st.booleans(), st.booleans(), st.booleans())
@settings(max_examples=300, deadline=None)
def test_csv_fast_path_equals_reading_record_by_record(tmp_path_factory, rows, titled, tsv, cut):
    from dedup.io.ingest import Rules, _read_csv, read_records

    columns = ["id", "received_at", "channel", "content"] + (["title"] if titled else [])
    sep = "\t" if tsv else ","
    lines = [sep.join(columns)]
    for row in rows:
        if row == "blank":
            lines.append(sep * 2)
        elif row == "spaces":
            lines.append(" " + sep + "  " + sep)
        elif row == "empty":
            lines.append("")
        elif row == "short":
            lines.append("B9" + sep + "2019-03-01 08:00:00")
        else:
            lines.append(sep.join(row[c] for c in columns))
    text = "\n".join(lines) + ("" if cut else "\n")
    path = tmp_path_factory.mktemp("csv") / ("a.tsv" if tsv else "a.csv")
    path.write_text(text, encoding="utf-8")
    config = IngestConfig(max_content_chars=20)
    rules = Rules.of(path, config, dt.datetime(2019, 6, 7))
    assert _read_csv(path, config, rules) == read_records(path, config, rules)


@pytest.mark.parametrize("at", [2, 10, 990])
def test_an_unbalanced_quote_refuses_the_file_naming_its_line(tmp_path, at):
    quote = {at: '"'}
    rows = [f"{k},2019-03-01 10:00:00,网站,{quote.get(k, '')}第{k}条 小区噪音扰民" for k in range(1, 1001)]
    path = tmp_path / "a.csv"
    path.write_text("id,received_at,channel,content\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(IngestError, match=f"line {at + 1}: a quoted cell runs on .* unbalanced"):
        run([path])


def test_a_quoted_letter_over_several_lines_is_one_item(tmp_path):
    letter = '"尊敬的领导：\n您好！\n东关街路灯坏了一个月，晚上很黑。\n此致\n敬礼"'
    path = tmp_path / "a.csv"
    path.write_text(f"id,received_at,channel,content\n1,2019-03-01 10:00:00,邮箱,{letter}\n"
                    "2,2019-03-01 11:00:00,网站,路灯不亮\n", encoding="utf-8")
    result = run([path])
    assert [it.id for it in result.items] == ["1", "2"] and "东关街路灯" in result.items[0].content


def test_a_file_without_its_last_line_break_holds_its_last_row_back(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("id,received_at,channel,content\n1,2019-03-01 10:00:00,网站,路灯不亮\n"
                    "2,2019-03-01 11:00:00,网站,东关街路灯坏了一个月，晚上", encoding="utf-8")
    result = run([path])
    assert [it.id for it in result.items] == ["1"]
    assert "does not end with a line break" in result.rejected[0].reason
    path.write_text(path.read_text(encoding="utf-8") + "很黑\n", encoding="utf-8")  # the whole file, next night
    again = run([path], known={"1": "路灯不亮"})
    assert [it.content for it in again.items] == ["东关街路灯坏了一个月，晚上很黑"] and again.repeats == 1


def test_a_trailing_separator_in_the_header_is_not_a_column(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("id,received_at,channel,content,\n1,2019-03-01 10:00:00,网站,路灯不亮\n"
                    "2,2019-03-01 11:00:00,网站,井盖丢了\n", encoding="utf-8")
    result = run([path])
    assert [it.id for it in result.items] == ["1", "2"] and not result.rejected


def test_a_column_named_twice_is_refused(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("id,received_at,channel,内容,内容\n1,2019-03-01 10:00:00,网站,路灯不亮,井盖丢了\n",
                    encoding="utf-8")
    with pytest.raises(IngestError, match="more than once"):
        run([path])


@pytest.mark.parametrize("value,expected", [
    ("1714528800", "2024-05-01 10:00:00"),            # Unix seconds, shown in +08:00
    ("1714528800000", "2024-05-01 10:00:00"),         # Unix milliseconds
    (1714528800, "2024-05-01 10:00:00"),              # a JSON number
    ("2024-05-01T02:00:00Z", "2024-05-01 10:00:00"),
    ("2024-05-01 10:00:00+08:00", "2024-05-01 10:00:00"),
    ("2024-05-01T01:00:00-01:00", "2024-05-01 10:00:00"),
    ("2024-05-01T02:00:00.123Z", "2024-05-01 10:00:00"),
    ("2024-05-01T25:00:00Z", None),
])
def test_unix_and_zoned_times_are_converted_to_the_configured_zone(value, expected):
    assert parse_time(value) == expected


def test_jsonl_objects_lists_and_booleans_are_not_text(tmp_path):
    path = tmp_path / "a.jsonl"
    lines = [{"id": "1", "received_at": "2019-03-01 08:00:00", "channel": "网站", "content": {"a": 1}},
             {"id": True, "received_at": "2019-03-01 08:00:00", "channel": "网站", "content": "路灯不亮"},
             {"id": "3", "received_at": "2019-03-01 08:00:00", "channel": "网站", "content": ["路灯"]},
             {"id": "4", "received_at": "2019-03-01 08:00:00", "channel": ["网站"], "content": "井盖丢了",
              "title": {"x": 1}}]
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    result = run([path])
    assert [r.reason for r in result.rejected] == ["content is a dict, not text", "id is a bool, not text or a number",
                                                   "content is a list, not text"]
    [item] = result.items
    assert (item.channel, item.title) == ("other", "")


def _workbook(path, rows):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["id", "received_at", "channel", "content"])
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


def test_a_workbook_claiming_the_largest_dimension_is_read_by_its_cells(tmp_path):
    import zipfile

    small = _workbook(tmp_path / "small.xlsx", ROWS[:3])
    claimed = tmp_path / "claimed.xlsx"
    with zipfile.ZipFile(small) as src, zipfile.ZipFile(claimed, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.startswith("xl/worksheets/sheet"):
                data = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', data)
                data = data.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
                                                      b"</sheetData>")  # and one cell there
            dst.writestr(info, data)
    result = run([claimed])  # padded to the claim, this is 17 billion cells
    assert len(result.items) == 3 and not result.rejected  # the far cell, cut to the first 256 columns, is blank


def test_a_workbook_that_expands_past_the_size_limit_is_refused(tmp_path):
    path = _workbook(tmp_path / "big.xlsx", [(f"X{k}", "2019-03-01 08:00:00", "网站", "路灯坏了" * 50)
                                             for k in range(2000)])
    config = IngestConfig(max_file_bytes=1 << 20)
    assert path.stat().st_size < 1 << 20
    with pytest.raises(IngestError, match="expands to .* above ingest.max_file_bytes"):
        ingest([path], config, now=NOW)


def test_a_workbook_with_more_cells_than_the_limit_is_refused(tmp_path):
    path = _workbook(tmp_path / "cells.xlsx", [(f"X{k}", "2019-03-01 08:00:00", "网站", "路灯") for k in range(50)])
    with pytest.raises(IngestError, match="more than ingest.max_cells"):
        ingest([path], IngestConfig(max_cells=100), now=NOW)


def test_a_file_over_the_size_limit_is_refused(tmp_path):
    path = write_csv(tmp_path / "a.csv", ROWS)
    with pytest.raises(IngestError, match="above ingest.max_file_bytes"):
        ingest([path], IngestConfig(max_file_bytes=100), now=NOW)


def test_deeply_nested_jsonl_is_a_rejected_row_not_a_crash(tmp_path):
    path = tmp_path / "a.jsonl"
    good = json.dumps({"id": "1", "received_at": "2019-03-01 08:00:00", "channel": "网站", "content": "路灯不亮"},
                      ensure_ascii=False)
    path.write_text("[" * 100_000 + "]" * 100_000 + "\n" + good + "\n", encoding="utf-8")
    result = run([path])
    assert [it.id for it in result.items] == ["1"] and result.rejected[0].reason == "JSON nested too deeply"


@pytest.mark.parametrize("value", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+14:00", 10 ** 400, "1" * 400])
def test_times_at_the_calendars_edge_are_unreadable_not_a_crash(value):
    assert parse_time(value) is None


def test_a_json_integer_too_long_to_convert_is_a_rejected_row(tmp_path):
    path = tmp_path / "a.jsonl"
    good = json.dumps({"id": "1", "received_at": "2019-03-01 08:00:00", "channel": "网站", "content": "路灯不亮"},
                      ensure_ascii=False)
    path.write_text('{"id": ' + "9" * 5000 + ', "content": "x"}\n' + good + "\n", encoding="utf-8")
    result = run([path])
    assert [it.id for it in result.items] == ["1"] and "out of range" in result.rejected[0].reason


def test_a_file_cut_inside_a_multi_line_last_cell_holds_that_row_back(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text('id,received_at,channel,content\nC1,2019-03-01 10:00:00,网站,路灯不亮\n'
                    'C2,2019-03-01 11:00:00,邮箱,"东昌府区古楼街道路灯不亮\n已经好几', encoding="utf-8")
    result = run([path])
    assert [it.id for it in result.items] == ["C1"] and "line break" in result.rejected[0].reason
