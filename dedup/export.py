"""Files a person opens: assignments.csv, topics.csv/.xlsx, rejected.csv, run.json.

Files are written under temporary names and renamed into place, so a reader
never sees half a file.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from .records import Rejection


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


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence], final: bool = True) -> Path:
    """Write a CSV; with ``final=False`` it is left under its temporary name (see ``publish``)."""
    tmp = pending(path)
    # The BOM makes Excel open Chinese text correctly; written by hand, because the
    # utf-8-sig codec encodes every write in Python (a third of the time for 1M rows).
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        fh.write("\ufeff")
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    if not final:
        return tmp
    _replace(tmp, path)
    return path


def write_xlsx(path: Path, sheets: dict[str, tuple[Sequence[str], Iterable[Sequence]]], final: bool = True) -> Path:
    """A workbook with one sheet per entry: name -> (header, rows), header frozen.

    Cell text is written as text, never as a formula or a link: a complaint
    that starts with "=" must not run in the office's spreadsheet.
    """
    import xlsxwriter

    tmp = pending(path)
    book = xlsxwriter.Workbook(str(tmp), {"constant_memory": True, "strings_to_formulas": False,
                                          "strings_to_urls": False, "strings_to_numbers": False})
    bold = book.add_format({"bold": True})
    for name, (header, rows) in sheets.items():
        ws = book.add_worksheet(name)
        ws.write_row(0, 0, list(header), bold)
        ws.freeze_panes(1, 0)
        for column, width in enumerate(_widths(header)):
            ws.set_column(column, column, width)
        for r, row in enumerate(rows, start=1):
            ws.write_row(r, 0, row)
    book.close()
    if not final:
        return tmp
    _replace(tmp, path)
    return path


def _widths(header: Sequence[str]) -> list[int]:
    wide = {"representative_text": 60, "keywords": 30, "department_top3": 45, "channels": 28, "reason": 40}
    return [wide.get(name, max(12, len(name) + 2)) for name in header]


def write_rejected(path: Path, rejected: Sequence[Rejection]) -> Path:
    return write_csv(path, ["file", "line", "id", "reason"], ((r.file, r.line, r.id, r.reason) for r in rejected))


def write_json(path: Path, data: dict) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    _replace(tmp, path)
    return path
