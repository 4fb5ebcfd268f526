"""Working days in China's official calendar: weekends, public holidays and the make-up workdays (调休)
that the State Council publishes each year, from the ``chinesecalendar`` package.

A day the package does not cover (a year not yet published) counts as a working day on Monday to Friday;
a deadline that crossed such a day is *provisional*, and the calendar says so once. Overrides (a file of
``day,workday,note`` rows, or the database's table) are read first: they add a year's official days when
they are published, or a local closure.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping
from pathlib import Path


class CalendarError(ValueError):
    """An overrides file that cannot be read as asked (names the file and row)."""


class Calendar:
    """``is_workday`` and ``add`` (a deadline ``n`` working days after a day), with overrides first."""

    def __init__(self, overrides: Mapping[dt.date, bool] | None = None) -> None:
        self.overrides = dict(overrides or {})
        self.uncovered: set[int] = set()  # years counted by weekdays alone, for the warning

    def is_workday(self, day: dt.date) -> tuple[bool, bool]:
        """(whether ``day`` is a working day, whether that is provisional: the year is not covered)."""
        if day in self.overrides:
            return self.overrides[day], False
        import chinese_calendar

        try:
            return chinese_calendar.is_workday(day), False
        except NotImplementedError:
            self.uncovered.add(day.year)
            return day.weekday() < 5, True

    def add(self, start: dt.date, n: int) -> tuple[dt.date, bool]:
        """The ``n``-th working day after ``start`` (the day after dispatch is the first counted), and
        whether it is provisional. 2019-09-27 + 5 = 2019-10-10: the National Day week is skipped and
        Sunday 2019-09-29 is a make-up working day."""
        if n < 0:
            raise ValueError(f"a number of working days cannot be negative ({n})")
        day, counted, provisional = start, 0, False
        while counted < n:
            day += dt.timedelta(days=1)
            working, guessed = self.is_workday(day)
            provisional |= guessed
            counted += working
        return day, provisional

    def between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 when ``end`` is not later)."""
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            count += self.is_workday(day)[0]
        return count

    def warning(self) -> str:
        if not self.uncovered:
            return ""
        years = ", ".join(str(y) for y in sorted(self.uncovered))
        return (f"the official holiday calendar of {years} is not known to this version of chinesecalendar: "
                "deadlines there count Monday to Friday and are marked provisional; add the official days to "
                "the calendar file named by `dispatch.calendar` when they are published")


def read_overrides(path: str | Path) -> dict[dt.date, bool]:
    """``day,workday[,note]`` rows: a date (YYYY-MM-DD) and 1 (a working day) or 0 (a day off)."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise CalendarError(f"{path}: cannot read the calendar file ({exc.strerror or exc})") from exc
    if not rows or [c.strip().lower() for c in rows[0][:2]] != ["day", "workday"]:
        raise CalendarError(f"{path}, row 1: the header must be day,workday[,note]")
    out = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        try:
            day = dt.date.fromisoformat(row[0].strip())
        except (ValueError, IndexError) as exc:
            raise CalendarError(f"{path}, row {line}: {row[0] if row else ''!r} is not a date (YYYY-MM-DD)") from exc
        flag = row[1].strip() if len(row) > 1 else ""
        if flag not in ("0", "1"):
            raise CalendarError(f"{path}, row {line}: workday must be 1 or 0, got {flag!r}")
        out[day] = flag == "1"
    return out
