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


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence]) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8-sig", newline="") as fh:  # BOM: Excel opens Chinese text correctly
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    _replace(tmp, path)
    return path


def write_xlsx(path: Path, sheets: dict[str, tuple[Sequence[str], Iterable[Sequence]]]) -> Path:
    """A workbook with one sheet per entry: name -> (header, rows)."""
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    for name, (header, rows) in sheets.items():
        ws = book.create_sheet(name)
        ws.append(list(header))
        for row in rows:
            ws.append(list(row))
    tmp = path.with_name(path.name + ".tmp")
    book.save(tmp)
    _replace(tmp, path)
    return path


def write_rejected(path: Path, rejected: Sequence[Rejection]) -> Path:
    return write_csv(path, ["file", "line", "id", "reason"], ((r.file, r.line, r.id, r.reason) for r in rejected))


def write_json(path: Path, data: dict) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    _replace(tmp, path)
    return path
