"""Files a person opens: assignments.csv, topics.csv/.xlsx, rejected.csv, flagged.csv, run.json.

Files are written under temporary names and renamed into place, so a reader
never sees half a file. No cell runs as a formula: XLSX cells are inline
strings, and a CSV cell that begins with =, +, -, @, tab or CR is written
with a leading apostrophe (the OWASP rule).
"""

from __future__ import annotations

import csv
import json
import math
import os
import queue
import re
import shutil
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from pathlib import Path

from dedup.core.records import Rejection
from dedup.runtime.parallel import is_serial


def _replace(tmp: Path, final: Path) -> None:
    os.replace(tmp, final)


def pending(path: Path) -> Path:
    """The temporary name a file is written under."""
    return path.with_name(path.name + ".tmp")


def publish(tmp: Path) -> Path:
    """Put a file written with ``final=False`` in place; returns its final path."""
    final = tmp.with_name(tmp.name.removesuffix(".tmp"))
    _replace(tmp, final)
    return final


@contextmanager
def _cleaned(tmp: Path) -> Iterator[None]:
    """Remove the temporary file when writing it, or putting it in place, fails (a full disk, a folder in
    the way): a failed export leaves no ``*.tmp`` behind."""
    try:
        yield
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence], final: bool = True) -> Path:
    """Write a CSV; with ``final=False`` it is left under its temporary name (see ``publish``)."""
    tmp = pending(path)
    with _cleaned(tmp):
        _write_csv(tmp, header, rows)
        if final:
            _replace(tmp, path)
    return path if final else tmp


def _write_csv(tmp: Path, header: Sequence[str], rows: Iterable[Sequence]) -> None:
    # The BOM makes Excel open Chinese text correctly; written by hand, because the
    # utf-8-sig codec encodes every write in Python (a third of the time for 1M rows).
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        fh.write("\ufeff")
        writer = csv.writer(fh)
        writer.writerow(header)
        rows = iter(rows)
        while block := list(islice(rows, _CSV_BLOCK)):
            text = _plain_lines(block)
            if text is None:
                writer.writerows(map(inert, block))
            else:
                fh.write(text)


_CSV_BLOCK = 65536
_NEEDS_CSV = re.compile(r'[,"\r\n\x00]')  # a cell the csv module would quote (or refuse)


def _plain_lines(block: list[Sequence]) -> str | None:
    """The block as ``csv.writer`` writes it, when every cell is a string it writes as is (no delimiter,
    quote, line break or NUL): joined in C, 1.28M rows of (id, topic) in a fraction of the writer's time.
    None when some cell is not."""
    try:
        cells = "".join(map("".join, block))
    except TypeError:  # a number or None: the csv module formats it
        return None
    if _NEEDS_CSV.search(cells) or any(len(row) == 1 and not row[0] for row in block):  # ("",) is written '""'
        return None
    text = "\r\n".join(map(",".join, block)) + "\r\n"
    return None if _FORMULA_START.search(text) else text


# A cell a spreadsheet program would run as a formula (OWASP's CSV injection rule): it is written with a
# leading apostrophe, which Excel and LibreOffice show as text. JSON and the database keep the true text.
_FORMULA_START = re.compile(r"(?:^|[,\n])[=+\-@\t\r]")
_FORMULA_CHARS = ("=", "+", "-", "@", "\t", "\r")


def inert(row: Sequence) -> Sequence:
    """The row with every cell that begins like a formula made text (see ``_FORMULA_START``)."""
    if not any(type(cell) is str and cell.startswith(_FORMULA_CHARS) for cell in row):
        return row
    return [f"'{cell}" if type(cell) is str and cell.startswith(_FORMULA_CHARS) else cell for cell in row]


def copy_file(source: Path, path: Path) -> Path:
    """``path`` as a copy of ``source`` (a file that would be written again with the same rows)."""
    tmp = pending(path)
    with _cleaned(tmp):
        shutil.copyfile(source, tmp)
        _replace(tmp, path)
    return path


def write_xlsx(path: Path, sheets: dict[str, tuple[Sequence[str], Iterable[Sequence]]], final: bool = True) -> Path:
    """A workbook with one sheet per entry: name -> (header, rows), header bold and frozen.

    Cell text is written as text, never as a formula or a link: a complaint
    that starts with "=" must not run in the office's spreadsheet. Numbers are
    numbers; None and "" leave the cell empty. The SpreadsheetML is written here
    rather than by XlsxWriter, which spends about 13 µs a cell (19 s for the
    1.5M cells of a 1.28M-item run; ~3 s here); the cells are what XlsxWriter
    writes for them (inline strings, its escapes, its 32,767-unit limit), checked
    by reading the files back with openpyxl.
    """
    for name in sheets:
        if not 0 < len(name) <= 31 or any(c in name for c in "[]:*?/\\"):
            raise ValueError(f"{name!r} cannot name a worksheet")
    tmp = pending(path)
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        book.writestr("[Content_Types].xml", _content_types(len(sheets)))
        book.writestr("_rels/.rels", _RELS)
        book.writestr("xl/workbook.xml", _workbook(list(sheets)))
        book.writestr("xl/_rels/workbook.xml.rels", _workbook_rels(len(sheets)))
        book.writestr("xl/styles.xml", _STYLES)
        for k, (header, rows) in enumerate(sheets.values(), start=1):
            with book.open(f"xl/worksheets/sheet{k}.xml", "w", force_zip64=True) as fh, _behind(fh.write) as write:
                _write_sheet(write, list(header), rows)
    if not final:
        return tmp
    _replace(tmp, path)
    return path


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_RELS = (f'{_HEAD}<Relationships xmlns="{_PACKAGE_REL}"><Relationship Id="rId1" Type="{_REL}/officeDocument"'
         ' Target="xl/workbook.xml"/></Relationships>')
_STYLES = (f'{_HEAD}<styleSheet xmlns="{_MAIN}">'
           '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
           '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
           '<fills count="2"><fill><patternFill patternType="none"/></fill>'
           '<fill><patternFill patternType="gray125"/></fill></fills>'
           '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
           '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
           '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
           '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
           '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>')
_STRING_UNITS = 32767  # Excel's longest cell text, in UTF-16 code units
_ESCAPED = re.compile("(_x[0-9a-fA-F]{4}_)")  # Excel reads these as escapes: escape their underscore
_CONTROL = re.compile("([\x00-\x08\x0b-\x1f])")  # not allowed in XML: written as _xHHHH_
_NEEDS_WORK = re.compile("[&<>_\x00-\x08\x0b-\x1f\ufffe\uffff]")


def _content_types(n_sheets: int) -> str:
    sheets = "".join(f'<Override PartName="/xl/worksheets/sheet{k}.xml" ContentType="application/'
                     'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                     for k in range(1, n_sheets + 1))
    return (f'{_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/'
            f'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>{sheets}</Types>')


def _workbook(names: list[str]) -> str:
    sheets = "".join(f'<sheet name="{_text(name)}" sheetId="{k}" r:id="rId{k}"/>' for k, name in enumerate(names, 1))
    return f'{_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>{sheets}</sheets></workbook>'


def _workbook_rels(n_sheets: int) -> str:
    sheets = "".join(f'<Relationship Id="rId{k}" Type="{_REL}/worksheet" Target="worksheets/sheet{k}.xml"/>'
                     for k in range(1, n_sheets + 1))
    return (f'{_HEAD}<Relationships xmlns="{_PACKAGE_REL}">{sheets}'
            f'<Relationship Id="rId{n_sheets + 1}" Type="{_REL}/styles" Target="styles.xml"/></Relationships>')


def _column_name(k: int) -> str:
    name = ""
    k += 1
    while k:
        k, rest = divmod(k - 1, 26)
        name = chr(65 + rest) + name
    return name


def _text(value: str) -> str:
    """Cell text as XlsxWriter escapes it."""
    if len(value) > _STRING_UNITS // 2 and len(value.encode("utf-16-le")) > 2 * _STRING_UNITS:
        value = value.encode("utf-16-le")[:2 * _STRING_UNITS].decode("utf-16-le", errors="ignore")
    if not _NEEDS_WORK.search(value):
        return value
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _CONTROL.sub(lambda m: f"_x{ord(m.group(1)):04X}_", _ESCAPED.sub(r"_x005F\1", value))
    return value.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")


def _cell(ref: str, value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)) and math.isfinite(value):
        return f'<c r="{ref}"><v>{value:.16G}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{_text(str(value))}</t></is></c>'


def _write_sheet(write: Callable[[bytes], object], header: list[str], rows: Iterable[Sequence]) -> None:
    rows = rows if isinstance(rows, list) else list(rows)
    width = max([len(header), *map(len, rows)]) or 1
    letters = [_column_name(k) for k in range(width)]
    widths = "".join(f'<col min="{k}" max="{k}" width="{w + 0.7109375}" customWidth="1"/>'
                     for k, w in enumerate(_widths(header), start=1))
    write((f'{_HEAD}<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}"><dimension ref="A1:{letters[-1]}{len(rows) + 1}"/>'
           '<sheetViews><sheetView workbookViewId="0">'
           '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
           '<selection pane="bottomLeft"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
           + (f"<cols>{widths}</cols>" if widths else "") + "<sheetData>").encode("utf-8"))
    cells = "".join(f'<c r="{letters[k]}1" s="1" t="inlineStr"><is><t xml:space="preserve">{_text(str(name))}</t>'
                    '</is></c>' for k, name in enumerate(header))
    write(f'<row r="1">{cells}</row>'.encode("utf-8"))
    for start in range(0, len(rows), _BLOCK):
        block = rows[start:start + _BLOCK]
        first = start + 2
        if all(len(row) == width for row in block):  # cells made a column at a time
            columns = [_column(letters[k], [row[k] for row in block], first) for k in range(width)]
            part = [f'<row r="{r}">{"".join(cells)}</row>' for r, cells in enumerate(zip(*columns), start=first)]
        else:
            part = [f'<row r="{r}">' + "".join([_cell(f"{letters[k]}{r}", v) for k, v in enumerate(row)]) + "</row>"
                    for r, row in enumerate(block, start=first)]
        write("".join(part).encode("utf-8"))
    write(b"</sheetData></worksheet>")


_BLOCK = 4096  # rows made and written at a time


@contextmanager
def _behind(write: Callable[[bytes], object]) -> Iterator[Callable[[bytes], None]]:
    """``write`` called from a thread of its own, in order: deflating and checksumming a block of a
    worksheet (zlib lets go of the GIL) overlaps making the next (a 143 MB sheet: 1 s of 3). In serial
    mode (``parallel.serial``) it is ``write`` itself."""
    if is_serial():
        yield write
        return
    blocks: queue.Queue = queue.Queue(maxsize=2)
    failed: list[BaseException] = []

    def drain() -> None:
        while (data := blocks.get()) is not None:
            if not failed:
                try:
                    write(data)
                except BaseException as exc:  # raised in the caller's thread
                    failed.append(exc)

    def put(data: bytes) -> None:
        if failed:
            raise failed[0]
        blocks.put(data)

    thread = threading.Thread(target=drain, name="xlsx-deflate", daemon=True)
    thread.start()
    try:
        yield put
    finally:
        blocks.put(None)
        thread.join()
    if failed:
        raise failed[0]


def _column(letter: str, values: list, first: int) -> list[str]:
    """``_cell`` of each value of one column, rows ``first``...: a column of text that needs no escape
    or of whole numbers (every column of topics.csv, usually) without a call and type tests per cell."""
    kinds = set(map(type, values))
    if kinds == {str} and max(map(len, values)) <= _STRING_UNITS // 2 and not _NEEDS_WORK.search("\n".join(values)):
        return [f'<c r="{letter}{r}" t="inlineStr"><is><t xml:space="preserve">{v}</t></is></c>' if v else ""
                for r, v in enumerate(values, start=first)]
    if kinds == {int}:
        return [f'<c r="{letter}{r}"><v>{v:.16G}</v></c>' for r, v in enumerate(values, start=first)]
    return [_cell(f"{letter}{r}", v) for r, v in enumerate(values, start=first)]


def _widths(header: Sequence[str]) -> list[int]:
    wide = {"representative_text": 60, "keywords": 30, "department_top3": 45, "channels": 28, "reason": 40}
    return [wide.get(name, max(12, len(name) + 2)) for name in header]


def write_rejected(path: Path, rejected: Sequence[Rejection], last: str = "reason") -> Path:
    """rejected.csv (or, with ``last="note"``, flagged.csv): file, line, id and why."""
    return write_csv(path, ["file", "line", "id", last], ((r.file, r.line, r.id, r.reason) for r in rejected))


def write_json(path: Path, data: dict) -> Path:
    tmp = pending(path)
    with _cleaned(tmp):
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
        _replace(tmp, path)
    return path
