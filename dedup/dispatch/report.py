"""Rates per unit over a period and the numbered bulletin (期) that ranks the units, with a publication
export of topics and replies for the newspaper.

The definitions are printed in every bulletin:

- **orders**: orders dispatched in the period, less those returned and re-assigned (their new orders count);
- **办结率** (completion rate): orders completed ÷ orders;
- **按时办结率** (on-time rate): orders completed by their deadline (approved extensions included) ÷ orders
  whose deadline fell within the period;
- **overdue**: orders past their deadline by the period's end, open or completed late;
- **satisfaction**: replies whose follow-up call was one of ``dispatch.satisfied`` (by default 非常满意, 满意
  or 基本满意) ÷ replies with a follow-up call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from dedup.core.privacy import mask
from dedup.dispatch import states
from dedup.storage import orders as db
from dedup.storage.store import Store, writing

DEFINITIONS = __doc__.split("The definitions are printed in every bulletin:", 1)[1].strip()
COLUMNS = ["rank", "unit", "orders", "completed", "fell_due", "on_time", "overdue", "returned", "extended",
           "completion_rate", "on_time_rate", "visited", "satisfied", "satisfaction_rate"]


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date

    @classmethod
    def parse(cls, text: str) -> "Period":
        try:
            a, b = (dt.date.fromisoformat(p.strip()) for p in text.split(":"))
        except ValueError as exc:
            raise ValueError(f"a period is FIRST:LAST, two dates (YYYY-MM-DD), got {text!r}") from exc
        if b < a:
            raise ValueError(f"the period {text!r} ends before it starts")
        return cls(a, b)


def _rate(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def rates(rows: list[dict], end: dt.date, satisfied: Sequence[str] = ("非常满意", "满意", "基本满意")
          ) -> dict[str, dict]:
    """Counts and rates by unit, and ``"全部 all"`` for all units, from ``report_rows``."""
    last = end.isoformat()
    units: dict[str, dict] = {}
    for r in rows:
        for key in (r["unit"], "全部 all"):
            u = units.setdefault(key, {c: 0 for c in COLUMNS[2:] if not c.endswith("_rate")})
            if r["returned"]:
                u["returned"] += 1
            if r["state"] == states.REASSIGNED:
                continue  # returned and sent to another unit, whose new order counts instead
            u["orders"] += 1
            completed = r["completed_at"] is not None and r["completed_at"][:10] <= last
            due = r["deadline"] <= last
            u["completed"] += completed
            u["fell_due"] += due
            on_time = completed and r["completed_at"][:10] <= r["deadline"]
            u["on_time"] += on_time and due
            u["overdue"] += due and not on_time and r["deadline"] < last
            u["extended"] += bool(r["extended"])
            if completed and r["satisfaction"]:
                u["visited"] += 1
                u["satisfied"] += r["satisfaction"] in satisfied
    for u in units.values():
        u["completion_rate"] = _rate(u["completed"], u["orders"])
        u["on_time_rate"] = _rate(u["on_time"], u["fell_due"])
        u["satisfaction_rate"] = _rate(u["satisfied"], u["visited"])
    return units


def ranked(units: dict[str, dict]) -> list[list]:
    """Units ranked by on-time rate, then completion rate, then satisfaction; all units last."""
    def key(item):
        u = item[1]
        return (-(u["on_time_rate"] or 0), -(u["completion_rate"] or 0), -(u["satisfaction_rate"] or 0), item[0])
    out = []
    for rank, (unit, u) in enumerate(sorted(((k, v) for k, v in units.items() if k != "全部 all"), key=key), 1):
        out.append([rank, unit, *(u[c] for c in COLUMNS[2:])])
    if "全部 all" in units:
        out.append(["", "全部 all", *(units["全部 all"][c] for c in COLUMNS[2:])])
    return out


def _chart(table: list[list], path: Path, title: str) -> Path:
    from dedup.io.plots import plt_module, save_figure

    plt = plt_module()
    rows = [r for r in table if r[1] != "全部 all"][:30]
    fig, ax = plt.subplots(figsize=(8, max(3, 0.32 * len(rows) + 1.2)))
    names = [r[1] for r in rows][::-1]
    ax.barh(names, [(r[COLUMNS.index("on_time_rate")] or 0) for r in rows][::-1], label="按时办结率 on time")
    ax.scatter([(r[COLUMNS.index("completion_rate")] or 0) for r in rows][::-1], names, color="black", s=12,
               label="办结率 completed", zorder=3)
    ax.set_xlim(0, 1)
    ax.set_xlabel("比例 rate")
    ax.set_title(title)
    ax.legend(loc="lower right")
    return save_figure(plt, fig, path)


def _definitions() -> list[str]:
    """The definitions as items, each on one line."""
    items: list[str] = []
    for line in DEFINITIONS.splitlines():
        if line.startswith("- "):
            items.append(line[2:].strip())
        elif items and line.strip():
            items[-1] += " " + line.strip()
    return items


def _html(number: int, period: Period, table: list[list], chart: Path) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{'' if v is None else escape(f'{v:.1%}' if isinstance(v, float) else str(v))}"
                                    "</td>" for v in row) + "</tr>" for row in table)
    definitions = "".join(f"<li>{escape(item.replace('**', '').replace('``', ''))}</li>"
                          for item in _definitions())
    return (f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>第{number}期 通报</title>"
            "<style>body{font-family:'Noto Sans CJK SC','Noto Sans SC','Microsoft YaHei',sans-serif;margin:2rem}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccd;padding:.2rem .5rem}</style></head><body>"
            f"<h1>市民建议办理情况通报 第{number}期</h1><p>{period.start} 至 {period.end}</p>"
            f"<img src='{escape(chart.name)}' alt='按时办结率'><table><tr>{head}</tr>{body}</table>"
            f"<h2>口径 Definitions</h2><ul>{definitions}</ul></body></html>")


def bulletin(store: Store, period: Period, out: Path, satisfied: Sequence[str] = ("非常满意", "满意", "基本满意")
             ) -> tuple[int, list[Path], dict]:
    """Number the next bulletin, write it (HTML, XLSX, PNG) and the publication export; returns the
    number, the files and the rates of all units."""
    from dedup.io.export import write_csv, write_xlsx

    rows = db.report_rows(store.db, period.start.isoformat(), period.end.isoformat())
    units = rates(rows, period.end, satisfied)
    table = ranked(units)
    with writing(store) as con:  # never inside a run: the lock says so at once, instead of a long wait
        number = db.next_bulletin(con, period.start.isoformat(), period.end.isoformat(),
                                  dt.datetime.now().isoformat(timespec="seconds"))
    out.mkdir(parents=True, exist_ok=True)
    name = f"bulletin-{number:03d}"
    chart = _chart(table, out / f"{name}.png", f"第{number}期 按时办结率 ({period.start} – {period.end})")
    html = out / f"{name}.html"
    html.write_text(_html(number, period, table, chart), encoding="utf-8")
    definitions = (["definition"], [[item.replace("**", "").replace("``", "")] for item in _definitions()])
    xlsx = write_xlsx(out / f"{name}.xlsx", {"排名 ranking": (COLUMNS, table), "口径 definitions": definitions})
    published = write_csv(out / f"{name}-publication.csv", ["topic_id", "unit", "suggestion", "result", "reply",
                                                            "completed_at"],
                          [(t, u, mask(text or ""), result, mask(reply), done)
                           for t, u, text, result, reply, done in db.publication_rows(
                               store.db, period.start.isoformat(), period.end.isoformat())])
    return number, [html, xlsx, chart, published], units.get("全部 all", {})
