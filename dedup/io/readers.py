"""An export file's rows, before any is read as a record: the checks made before a run takes its lock
(a regular file, not too large), the text's encoding, and the rows of CSV/TSV, JSONL and XLSX."""

from __future__ import annotations

import csv
import io
import json
import stat
from collections.abc import Iterator
from pathlib import Path

from dedup.config import IngestConfig


class IngestError(Exception):
    """A whole file is unreadable; the run must stop before storing anything."""


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
        except RecursionError:
            yield number, "JSON nested too deeply"
            continue
        except ValueError:  # e.g. an integer of more digits than Python converts
            yield number, "not valid JSON (a value out of range)"
            continue
        yield number, record if isinstance(record, dict) else "not a JSON object"


XLSX_MAX_COLUMNS = 256  # columns read of a sheet: an export has a dozen; a sheet claiming 16,384 is not padded


def _xlsx_rows(path: Path, config: IngestConfig) -> Iterator[tuple[str, int, list[object]]]:
    """Rows of every sheet, streamed (openpyxl's read-only mode). The sheet's claimed dimension is not
    trusted (a few bytes can claim A1:XFD1048576); its cells are counted against ``ingest.max_cells``."""
    import openpyxl  # deferred: only Excel inputs pay for the import

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a bad zip/xml
        raise IngestError(f"{path}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from exc
    cells = 0
    try:
        for sheet in book.worksheets:
            sheet.reset_dimensions()  # rows as long as their cells, not as the claimed dimension
            for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                if not row:
                    continue  # a gap before a far row: openpyxl yields it empty
                row = row[:XLSX_MAX_COLUMNS]
                cells += len(row)
                if cells > config.max_cells:
                    raise IngestError(f"{path}: sheet {sheet.title!r} row {number}: more than ingest.max_cells "
                                      f"({config.max_cells:,}) cells; split the workbook or raise the limit")
                yield sheet.title, number, list(row)
    except IngestError:
        raise
    except Exception as exc:  # a damaged sheet's XML, found only when it is read
        raise IngestError(f"{path}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from exc
    finally:
        book.close()


def check_file(path: Path, config: IngestConfig) -> None:
    """Refuse, before any lock is taken or row read, an input that is not a regular file of bounded size:
    a FIFO or device would hang the run, a folder has no rows, and an XLSX is a zip whose expanded
    size is what reading it costs."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise IngestError(f"{path}: no such file") from None
    except OSError as exc:
        raise IngestError(f"{path}: cannot read file: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "a FIFO" if stat.S_ISFIFO(info.st_mode) \
            else "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else "not a regular file"
        raise IngestError(f"{path}: is {kind}, not an export file")
    limit = config.max_file_bytes
    if info.st_size > limit:
        raise IngestError(f"{path}: {info.st_size:,} bytes, above ingest.max_file_bytes ({limit:,}); "
                          "split the export into smaller files")
    if path.suffix.lower() == ".xlsx":
        import zipfile

        try:
            with zipfile.ZipFile(path) as archive:
                expanded = sum(member.file_size for member in archive.infolist())
        except (zipfile.BadZipFile, OSError) as exc:
            raise IngestError(f"{path}: not a readable .xlsx workbook ({exc})") from exc
        if expanded > limit:
            raise IngestError(f"{path}: expands to {expanded:,} bytes, above ingest.max_file_bytes ({limit:,})")


def table_rows(path: Path, config: IngestConfig) -> Iterator[tuple[int, list[object]]]:
    """(line or row number, cells) of a CSV, TSV or XLSX table, its header first (the first sheet of a
    workbook): for the small tables staff hand in (units' replies), read whole."""
    check_file(path, config)
    if path.suffix.lower() == ".xlsx":
        first = None
        for sheet, number, row in _xlsx_rows(path, config):
            if first is None:
                first = sheet
            if sheet == first:
                yield number, row
        return
    text, _ = read_text(path)
    yield from _csv_rows(path, text, "\t" if path.suffix.lower() in (".tsv", ".tab") else ",")
