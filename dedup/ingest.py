"""Read nightly exports (CSV, TSV, JSONL, XLSX) into Items, rejecting bad rows with reasons.

A file that cannot be read at all raises ``IngestError`` before anything is
stored; a bad row becomes a ``Rejection`` and the rest of the file still runs.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import IngestConfig
from .records import CHANNELS, Item, Rejection

REQUIRED = ("id", "received_at", "channel", "content")

CHANNEL_ALIASES = {
    "phone": "phone", "电话": "phone", "热线": "phone", "12345": "phone", "市长热线": "phone", "tel": "phone",
    "email": "email", "e-mail": "email", "mail": "email", "邮箱": "email", "邮件": "email", "电子邮件": "email",
    "website": "website", "web": "website", "网站": "website", "网页": "website", "门户网站": "website",
    "wechat": "wechat", "微信": "wechat", "微信公众号": "wechat", "公众号": "wechat",
    "app": "app", "客户端": "app", "手机客户端": "app", "应用": "app",
}

_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                 "%Y/%m/%d", "%Y-%m-%dT%H:%M:%S", "%Y%m%d%H%M%S", "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M",
                 "%Y年%m月%d日")


class IngestError(Exception):
    """A whole file is unreadable; the run must stop before storing anything."""


@dataclass
class IngestResult:
    items: list[Item] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    rows_read: int = 0
    repeats: int = 0          # same id, same content: stored once


def read_text(path: Path) -> tuple[str, str]:
    """Decode a file as UTF-8 (BOM or not), UTF-16 with a BOM, or GB18030; refuse binary data."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{path}: cannot read file: {exc.strerror or exc}") from exc
    if not raw or raw.isspace():  # (strip() would copy a 300 MB file to find out)
        raise IngestError(f"{path}: file is empty")
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):  # Excel's "Unicode text" export is UTF-16 with a BOM
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise IngestError(f"{path}: starts like UTF-16 but does not decode ({exc.reason})") from exc
    if b"\x00" in raw[:65536]:
        raise IngestError(f"{path}: looks like a binary file, not a text export (NUL bytes)")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding), encoding.replace("-sig", "")
        except UnicodeDecodeError:
            continue
    raise IngestError(f"{path}: encoding is neither UTF-8 nor GB18030")


_CANONICAL_TIME = re.compile(r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]) ([01]\d|2[0-3]):[0-5]\d:[0-5]\d")


def parse_time(value: object) -> str | None:
    """Normalise a time cell to 'YYYY-MM-DD HH:MM:SS', or None when it cannot be read."""
    if isinstance(value, str) and _CANONICAL_TIME.fullmatch(value):
        if value[8:10] <= "28" or _real_date(value):
            return value  # the common case, already canonical and a real date: skip strptime
        return None
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day).strftime("%Y-%m-%d %H:%M:%S")
    text = str(value or "").strip()
    if not text:
        return None
    text = re.sub(r"\.\d+$", "", text.replace("T", " ") if re.match(r"\d{4}-\d\d-\d\dT", text) else text)
    for fmt in _TIME_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt.replace("T", " ")).strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            continue
    return None


def _real_date(value: str) -> bool:
    """Whether a canonical time's day 29-31 exists in its month."""
    try:
        dt.date(int(value[:4]), int(value[5:7]), int(value[8:10]))
    except ValueError:
        return False
    return True


def normalize_channel(value: object) -> str | None:
    found = CHANNEL_ALIASES.get(value) if type(value) is str else None  # most exports spell it as we do
    return found or CHANNEL_ALIASES.get(str(value or "").strip().lower())


def _fold(name: object) -> str:
    return re.sub(r"[\s_\-]+", "", str(name or "")).lower()


def map_header(header: list[object], config: IngestConfig, path: Path,
               required: tuple[str, ...] = REQUIRED) -> dict[str, int]:
    """Our column name -> position in the file; missing required columns raise IngestError."""
    folded = [_fold(h) for h in header]
    mapping: dict[str, int] = {}
    for ours, accepted in config.columns.items():
        for name in accepted:
            if _fold(name) in folded:
                if folded.count(_fold(name)) > 1:
                    raise IngestError(f"{path}: the header names column {name!r} more than once; "
                                      "which one holds the data is ambiguous")
                mapping[ours] = folded.index(_fold(name))
                break
    missing = [c for c in required if c not in mapping]
    if missing:
        raise IngestError(f"{path}: missing required column(s) {', '.join(missing)}; "
                          f"header is {', '.join(str(h) for h in header)}")
    return mapping


# A field over csv's default 128 KiB limit would fail the whole file; read it, then reject the row.
csv.field_size_limit(64 * 1024 * 1024)


def _csv_rows(path: Path, text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    try:
        for row in reader:
            yield start, row
            start = reader.line_num + 1
    except csv.Error as exc:
        raise IngestError(f"{path}: line {reader.line_num}: malformed CSV: {exc}") from exc


def _jsonl_rows(path: Path, text: str) -> Iterator[tuple[int, dict | str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, f"not valid JSON ({exc.msg})"
            continue
        yield number, record if isinstance(record, dict) else "not a JSON object"


def _xlsx_rows(path: Path) -> Iterator[tuple[str, int, list[object]]]:
    import openpyxl  # deferred: only Excel inputs pay for the import

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a bad zip/xml
        raise IngestError(f"{path}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from exc
    try:
        for sheet in book.worksheets:
            for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield sheet.title, number, list(row)
    finally:
        book.close()


def iter_records(path: Path, config: IngestConfig, required: tuple[str, ...] = REQUIRED
                 ) -> Iterator[tuple[int, dict[str, object] | str]]:
    """Yield (line, record) pairs; a str record is a row-level problem to reject."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        mapping: dict[str, int] | None = None
        current_sheet = None
        found_header = False
        for sheet, number, row in _xlsx_rows(path):
            if sheet != current_sheet:
                current_sheet, mapping = sheet, None
            if all(cell in (None, "") for cell in row):
                continue
            if mapping is None:
                try:
                    mapping = map_header(row, config, path, required)
                    found_header = True
                except IngestError:
                    mapping = {}  # a sheet without our header (notes, charts) is skipped whole
                continue
            if mapping:
                yield number, {k: (row[i] if i < len(row) else None) for k, i in mapping.items()}
        if not found_header:
            map_header([], config, path, required)  # raises the missing-columns error
        return
    if suffix == ".jsonl" or suffix == ".ndjson":
        text, _encoding = read_text(path)
        saw_any = False
        for number, record in _jsonl_rows(path, text):
            saw_any = True
            if isinstance(record, str):
                yield number, record
                continue
            folded = {_fold(k): v for k, v in record.items()}
            out: dict[str, object] = {}
            for ours, accepted in config.columns.items():
                for name in accepted:
                    if _fold(name) in folded:
                        out[ours] = folded[_fold(name)]
                        break
            yield number, out
        if not saw_any:
            raise IngestError(f"{path}: no records")
        return
    export = _CsvExport(path, config, required)
    for number, row in export.rows:
        if not "".join(row).strip():  # a blank line, or only separators
            continue
        problem = export.truncated(number, row)
        yield number, problem if problem is not None else export.record(row)


class _CsvExport:
    """A CSV or TSV export parsed whole (a malformed one raises before any row is used), its rows after
    the header, and how a row maps to our columns."""

    def __init__(self, path: Path, config: IngestConfig, required: tuple[str, ...] = REQUIRED) -> None:
        text, _encoding = read_text(path)
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        rows = _csv_rows(path, text, delimiter)
        header = next(rows, None)
        if header is None:
            raise IngestError(f"{path}: file is empty")
        self.mapping = map_header(header[1], config, path, required)
        self.rows = list(rows)
        names = header[1]
        while names and not names[-1].strip():  # a trailing separator in the header is not a column
            names = names[:-1]
        self.width, self.last = max(len(names), max(self.mapping.values()) + 1), _last_line(text)
        self.unended = not text.endswith(("\n", "\r"))  # cut off, perhaps inside its last cell
        _refuse_runaway_quotes(path, self.rows, self.width, self.mapping, delimiter)
        self.needed = max(self.mapping.values()) + 1
        self._names, self._pick = list(self.mapping), operator.itemgetter(*self.mapping.values())

    def truncated(self, number: int, row: list[str]) -> str | None:
        """Why the last row is refused when the file may be cut off (a short row, or no line break after
        it), or None. The id is not remembered: the whole row is read when the whole file arrives."""
        if number != self.last:
            return None
        if len(row) < self.width:
            return f"truncated row ({len(row)} of {self.width} fields): file may be cut off"
        if self.unended:
            return "the file does not end with a line break: its last row may be cut off"
        return None

    def record(self, row: list[str]) -> dict[str, object]:
        """The row's cells under our column names; cells beyond a short row are None."""
        if len(row) >= self.needed:
            values = self._pick(row)
            return dict(zip(self._names, values if len(self._names) > 1 else (values,)))
        return {k: (row[i] if i < len(row) else None) for k, i in self.mapping.items()}


def _refuse_runaway_quotes(path: Path, rows: list[tuple[int, list[str]]], width: int, mapping: dict[str, int],
                           delimiter: str) -> None:
    """Raise IngestError when a quoted cell has swallowed lines that read as rows of their own.

    A stray ``"`` at the start of a cell makes the csv module read on to the next
    quote, rows and all: the file would parse, and the rows inside would be lost
    into one item's text. A cell may hold line breaks; but a line inside it that
    has the header's width and a readable time in the time column is a row, and
    the file is refused, naming the line the quote opened on.
    """
    at_time = mapping.get("received_at")
    starts = np.fromiter(map(operator.itemgetter(0), rows), dtype=np.int64, count=len(rows))
    spanning = np.flatnonzero(np.diff(starts) > 1).tolist() + [len(rows) - 1] if rows else []
    for k in spanning:  # rows over more than one physical line (few; found from the line numbers alone)
        start, row = rows[k]
        for cell in row:
            if "\n" not in cell and "\r" not in cell:
                continue
            lines = cell.splitlines()[1:]
            inner = [line for line in lines if _reads_as_row(line, width, at_time, delimiter)]
            if inner:
                raise IngestError(f"{path}: line {start}: a quoted cell runs on over {len(lines)} more line(s), "
                                  f"{len(inner)} of which read as rows of their own; is a quote (\") unbalanced "
                                  "there? Fix the file and run again")


def _reads_as_row(line: str, width: int, at_time: int | None, delimiter: str) -> bool:
    if line.count(delimiter) < width - 1:
        return False
    cells = next(csv.reader([line], delimiter=delimiter), [])
    return (len(cells) == width and at_time is not None and at_time < len(cells)
            and parse_time(cells[at_time].strip()) is not None)


def _last_line(text: str) -> int:
    """The number of the file's last line that is not blank (without copying a 300 MB text to strip it)."""
    end = len(text)
    while end and text[end - 1] in "\r\n":
        end -= 1
    return text.count("\n", 0, end) + 1


def _cell(value: object) -> str:
    return value.strip() if type(value) is str else str(value or "").strip()


def validate(record: dict[str, object], path: Path | str, line: int, config: IngestConfig,
             latest: str) -> Item | Rejection:
    """Turn one mapped record into an Item, or say why not; times after ``latest`` are in the future."""
    raw_id = record.get("id")
    item_id = _cell(raw_id)
    if isinstance(raw_id, float) and raw_id.is_integer():  # Excel numbers
        item_id = str(int(raw_id))
    if not item_id:
        return Rejection(str(path), line, item_id, "missing id")
    content = _cell(record.get("content"))
    if not content:
        return Rejection(str(path), line, item_id, "empty content")
    if len(content) > config.max_content_chars:
        return Rejection(str(path), line, item_id,
                         f"content too long ({len(content)} characters, limit {config.max_content_chars})")
    received = parse_time(record.get("received_at"))
    if received is None:
        return Rejection(str(path), line, item_id, f"unparseable time {str(record.get('received_at') or '')!r}")
    if received > latest:
        return Rejection(str(path), line, item_id, f"time {received} is in the future")
    channel = normalize_channel(record.get("channel"))
    if channel is None:
        return Rejection(str(path), line, item_id, f"unknown channel {str(record.get('channel') or '')!r} "
                         f"(expected one of {', '.join(CHANNELS)})")
    return Item(item_id, received, channel, content, _cell(record.get("title")), str(path), line)


def read_file(path: Path, config: IngestConfig, latest: str) -> tuple[int, list[Item], list[Rejection]]:
    """(rows read, valid items, rejections) of one file, in file order; times after ``latest`` are in the future."""
    if path.suffix.lower() in (".xlsx", ".jsonl", ".ndjson"):
        return read_records(path, config, latest)
    return _read_csv(path, config, latest)


def read_records(path: Path, config: IngestConfig, latest: str) -> tuple[int, list[Item], list[Rejection]]:
    """``read_file`` through ``iter_records`` and ``validate``: any format, a record at a time."""
    records = list(iter_records(path, config))
    source = str(path)  # one string shared by every item of the file
    valid: list[Item] = []
    rejected: list[Rejection] = []
    for line, record in records:
        if isinstance(record, str):
            rejected.append(Rejection(source, line, "", record))
            continue
        outcome = validate(record, source, line, config, latest)
        (rejected if isinstance(outcome, Rejection) else valid).append(outcome)
    return len(records), valid, rejected


def _read_csv(path: Path, config: IngestConfig, latest: str) -> tuple[int, list[Item], list[Rejection]]:
    """``read_records`` for CSV and TSV, the same items and rejections (tested), twice as fast.

    A row whose cells are already what ``validate`` would accept (the common case:
    canonical time, channel spelled as we do) becomes an Item at once, without a
    record dict or the checks' function calls; any other row goes through ``validate``.
    """
    export = _CsvExport(path, config)
    mapping, needed, width, last = export.mapping, export.needed, export.width, export.last
    at_id, at_time, at_channel, at_content = (mapping[c] for c in ("id", "received_at", "channel", "content"))
    at_title = mapping.get("title")
    source, limit, channels = str(path), config.max_content_chars, CHANNEL_ALIASES
    valid: list[Item] = []
    rejected: list[Rejection] = []
    rows_read = 0
    for number, row in export.rows:
        item_id = row[at_id].strip() if len(row) > at_id else ""
        if not item_id and not "".join(row).strip():  # a blank line, or only separators (a row with an id is neither)
            continue
        rows_read += 1
        if number == last and (len(row) < width or export.unended):
            rejected.append(Rejection(source, number, "", export.truncated(number, row)))
            continue
        if len(row) >= needed:
            content, received = row[at_content].strip(), row[at_time]
            channel = channels.get(row[at_channel])
            if (item_id and content and channel and len(content) <= limit and received <= latest
                    and _CANONICAL_TIME.fullmatch(received) and (received[8:10] <= "28" or _real_date(received))):
                valid.append(Item(item_id, received, channel, content,
                                  row[at_title].strip() if at_title is not None else "", source, number))
                continue
        outcome = validate(export.record(row), source, number, config, latest)
        (rejected if isinstance(outcome, Rejection) else valid).append(outcome)
    return rows_read, valid, rejected


def ingest(paths: list[Path], config: IngestConfig,
           known: dict[str, str] | Callable[[list[str]], dict[str, str]] | None = None,
           now: dt.datetime | None = None) -> IngestResult:
    """Read and validate every file, then settle repeated ids.

    ``known`` gives the content already stored under an id: a dict, or a
    function asked once with all of tonight's ids (so a night never loads the
    whole database). The same id with the same content is a repeat, stored
    once; with different content it is rejected.
    """
    now = now or dt.datetime.now()
    latest = (now + dt.timedelta(days=config.future_tolerance_days)).strftime("%Y-%m-%d %H:%M:%S")
    result = IngestResult()
    valid: list[Item] = []
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise IngestError(f"{path}: no such file")
        rows_read, items, rejected = read_file(path, config, latest)  # whole file first: a bad one stores nothing
        result.rows_read += rows_read
        valid += items
        result.rejected += rejected
    ids = [it.id for it in valid]
    distinct = len(set(ids)) == len(ids)
    if callable(known):
        seen = dict(known(ids if distinct else list(dict.fromkeys(ids))))
    else:
        seen = dict(known or {})
    if distinct and not seen:  # nothing to settle (a first night: the loop took 2 s at 1.28M)
        result.items = valid
    else:
        for item in valid:
            previous = seen.get(item.id)
            if previous is not None:
                if previous == item.content:
                    result.repeats += 1
                else:
                    result.rejected.append(Rejection(item.source, item.line, item.id,
                                                     "id seen before with different content"))
                continue
            seen[item.id] = item.content
            result.items.append(item)
    order = {str(Path(p)): k for k, p in enumerate(paths)}
    result.rejected.sort(key=lambda r: (order.get(r.file, len(order)), r.line))
    return result
