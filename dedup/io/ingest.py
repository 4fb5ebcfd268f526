"""Read nightly exports (CSV, TSV, JSONL, XLSX) into Items, rejecting bad rows with reasons.

A file that cannot be read at all raises ``IngestError`` before anything is
stored; a bad row becomes a ``Rejection`` and the rest of the file still runs.
"""

from __future__ import annotations

import csv
import datetime as dt
import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dedup.config import IngestConfig
from dedup.core.privacy import mask, mask_cell
from dedup.core.records import Item, Rejection
from dedup.io.fields import _CANONICAL_TIME, _fold, _real_date, channel_kind, parse_time, zone_of  # noqa: F401
from dedup.io.readers import (  # noqa: F401 (IngestError, check_file: the module's API)
    XLSX_MAX_COLUMNS,
    IngestError,
    _csv_rows,
    _jsonl_rows,
    _xlsx_rows,
    check_file,
    read_text,
)

# A message is refused only for want of an id or content; time and channel are metadata (filled and flagged).
REQUIRED = ("id", "content")

@dataclass
class IngestResult:
    items: list[Item] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    rows_read: int = 0
    repeats: int = 0          # same id, same content: stored once

    @property
    def flagged(self) -> list[Rejection]:
        """Items kept with metadata filled in (``Item.note``), as (file, line, id, note) rows."""
        return [Rejection(it.source, it.line, it.id, it.note) for it in self.items if it.note]


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
                          f"header is {', '.join(mask_cell(h) for h in header[:20])}")
    return mapping


# A field over csv's default 128 KiB limit would fail the whole file; read it, then reject the row.
csv.field_size_limit(64 * 1024 * 1024)


def iter_records(path: Path, config: IngestConfig, required: tuple[str, ...] = REQUIRED
                 ) -> Iterator[tuple[int, dict[str, object] | str]]:
    """Yield (line, record) pairs; a str record is a row-level problem to reject."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        mapping: dict[str, int] | None = None
        current_sheet = None
        found_header = False
        for sheet, number, row in _xlsx_rows(path, config):
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
        # the line the last row starts on (a row may run over several lines: a quoted letter)
        self.width = max(len(names), max(self.mapping.values()) + 1)
        self.last = next((n for n, row in reversed(self.rows) if "".join(row).strip()), 0)
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


def _scalar(value: object) -> bool:
    """Whether a cell is text or a number (JSONL may hold objects, lists and booleans, which are not)."""
    return value is None or (isinstance(value, (str, int, float)) and not isinstance(value, bool))


def _cell(value: object) -> str:
    return value.strip() if type(value) is str else str(value or "").strip()


@dataclass(frozen=True)
class Rules:
    """What a row's metadata is checked against, settled once per file."""

    latest: str                # times after this are clock errors
    earliest: str              # and times before this
    zone: dt.timezone          # times with a zone, and Unix times, are converted to this one
    export_time: str           # given to an item whose time is missing or unusable: its export's date
    channels: dict[str, str]   # channel name (as written, and folded) -> kind

    @classmethod
    def of(cls, path: Path, config: IngestConfig, now: dt.datetime) -> "Rules":
        latest = (now + dt.timedelta(days=config.future_tolerance_days)).strftime("%Y-%m-%d %H:%M:%S")
        try:
            exported = min(dt.datetime.fromtimestamp(path.stat().st_mtime), now)
        except OSError:
            exported = now
        channels = {_fold(name): kind for name, kind in config.channels.items()} | dict(config.channels)
        return cls(latest, config.earliest + " 00:00:00", zone_of(config), exported.strftime("%Y-%m-%d 00:00:00"),
                   channels)


def validate(record: dict[str, object], path: Path | str, line: int, config: IngestConfig,
             rules: Rules) -> Item | Rejection:
    """Turn one mapped record into an Item, or say why not. Only a missing id or unusable content refuse
    a row: a time or channel that cannot be used is filled in and said in ``Item.note``."""
    raw_id = record.get("id")
    if not _scalar(raw_id):
        return Rejection(str(path), line, "", f"id is a {type(raw_id).__name__}, not text or a number")
    item_id = _cell(raw_id)
    if isinstance(raw_id, float) and raw_id.is_integer():  # Excel numbers
        item_id = str(int(raw_id))
    if not item_id:
        return Rejection(str(path), line, item_id, "missing id")
    raw_content = record.get("content")
    if not _scalar(raw_content):
        return Rejection(str(path), line, item_id, f"content is a {type(raw_content).__name__}, not text")
    content = _cell(raw_content)
    if not content:
        return Rejection(str(path), line, item_id, "empty content")
    if len(content) > config.max_content_chars:
        return Rejection(str(path), line, item_id,
                         f"content too long ({len(content)} characters, limit {config.max_content_chars})")
    notes = []
    raw_time = record.get("received_at")
    received = parse_time(raw_time, rules.zone) if _scalar(raw_time) or isinstance(raw_time, dt.date) else None
    if received is None or not rules.earliest <= received <= rules.latest:
        why = ("no time" if not _cell(raw_time) else "unreadable time" if received is None
               else "time in the future" if received > rules.latest else "time before ingest.earliest")
        notes.append(f"{why}: given the export's date")
        received = rules.export_time
    raw_channel = record.get("channel")
    channel, unknown = channel_kind(raw_channel if _scalar(raw_channel) else repr(raw_channel), rules.channels)
    if unknown:
        notes.append("channel not in ingest.channels: kept as other")
    title = record.get("title")
    return Item(item_id, received, channel, content, _cell(title) if _scalar(title) else "",
                str(path), line, note="; ".join(notes))


def read_file(path: Path, config: IngestConfig, rules: Rules) -> tuple[int, list[Item], list[Rejection]]:
    """(rows read, valid items, rejections) of one file, in file order."""
    if path.suffix.lower() in (".xlsx", ".jsonl", ".ndjson"):
        return read_records(path, config, rules)
    return _read_csv(path, config, rules)


def read_records(path: Path, config: IngestConfig, rules: Rules) -> tuple[int, list[Item], list[Rejection]]:
    """``read_file`` through ``iter_records`` and ``validate``: any format, a record at a time."""
    records = list(iter_records(path, config))
    source = str(path)  # one string shared by every item of the file
    valid: list[Item] = []
    rejected: list[Rejection] = []
    for line, record in records:
        if isinstance(record, str):
            rejected.append(Rejection(source, line, "", record))
            continue
        outcome = validate(record, source, line, config, rules)
        (rejected if isinstance(outcome, Rejection) else valid).append(outcome)
    return len(records), valid, rejected


def _read_csv(path: Path, config: IngestConfig, rules: Rules) -> tuple[int, list[Item], list[Rejection]]:
    """``read_records`` for CSV and TSV, the same items and rejections (tested), twice as fast.

    A row whose cells are already what ``validate`` would accept (the common case:
    canonical time, channel spelled as the map does) becomes an Item at once, without a
    record dict or the checks' function calls; any other row goes through ``validate``.
    """
    export = _CsvExport(path, config)
    mapping, needed, width, last = export.mapping, export.needed, export.width, export.last
    at_id, at_content = mapping["id"], mapping["content"]
    at_time, at_channel, at_title = mapping.get("received_at"), mapping.get("channel"), mapping.get("title")
    source, limit, channels = str(path), config.max_content_chars, rules.channels
    latest, earliest = rules.latest, rules.earliest
    fast = at_time is not None  # without a time column every row is given its export's date, by validate
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
        if fast and len(row) >= needed:
            content, received = row[at_content].strip(), row[at_time]
            channel = channels.get(row[at_channel]) if at_channel is not None else "other"
            if (item_id and content and channel and len(content) <= limit and earliest <= received <= latest
                    and _CANONICAL_TIME.fullmatch(received) and (received[8:10] <= "28" or _real_date(received))):
                valid.append(Item(item_id, received, channel, content,
                                  row[at_title].strip() if at_title is not None else "", source, number))
                continue
        outcome = validate(export.record(row), source, number, config, rules)
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
    result = IngestResult()
    valid: list[Item] = []
    for path in paths:
        path = Path(path)
        check_file(path, config)
        rows_read, items, rejected = read_file(path, config, Rules.of(path, config, now))  # whole file first
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
    result.rejected = [Rejection(r.file, r.line, shown_id(r.id), mask(r.reason)) for r in result.rejected]
    return result


def shown_id(item_id: str) -> str:
    """A rejected row's id as rejected.csv and the console show it: an id cell of a shifted row may hold
    a phone number or a name, so one the recogniser changes, or that holds Chinese characters, is hidden."""
    if not item_id:
        return ""
    if mask_cell(item_id) != item_id or any("\u4e00" <= c <= "\u9fff" for c in item_id):
        return "(hidden: not an id)"
    return item_id
