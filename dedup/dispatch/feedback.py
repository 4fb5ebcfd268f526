"""The units' replies to their orders, imported from a CSV or XLSX table.

Each row names an order, its result (solved, explained, cannot solve), the reply, when it was completed,
the leader who approved it and, optionally, the citizen's satisfaction from the follow-up call. A good row
completes its order (and records the visit when it has a satisfaction); a bad row is listed with its
reason for the unit to correct, and the good rows are imported in one transaction, so a file is never
half-imported.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from dedup.config import IngestConfig
from dedup.core.privacy import mask_cell
from dedup.dispatch import states
from dedup.io.readers import table_rows
from dedup.storage import orders as db
from dedup.storage.store import Store, writing

RESULTS = {"solved": "solved", "已解决": "solved", "解决": "solved", "explained": "explained", "已解释": "explained",
           "解释说明": "explained", "cannot_solve": "cannot_solve", "cannot solve": "cannot_solve",
           "无法解决": "cannot_solve", "暂无法解决": "cannot_solve"}
SATISFACTION = ("非常满意", "满意", "基本满意", "不满意", "非常不满意")
COLUMNS = {"order_id": ("order_id", "工单编号", "工单号"), "result": ("result", "办理结果"),
           "content": ("content", "答复内容", "reply"), "completed_at": ("completed_at", "办结时间"),
           "leader": ("leader", "审核领导", "审批领导"), "satisfaction": ("satisfaction", "满意度", "回访满意度")}
REQUIRED = ("order_id", "result", "content", "completed_at", "leader")


class FeedbackError(ValueError):
    """A replies file that cannot be read at all (names the file and the problem)."""


@dataclass
class Imported:
    replies: int = 0
    visits: int = 0
    rejected: list[tuple[str, int, str, str]] = field(default_factory=list)  # file, line, order id, reason


def _time(value: object) -> str | None:
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return f"{value.isoformat()} 00:00:00"
    text = str(value or "").strip().replace("/", "-").replace("T", " ")
    for form in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, form).isoformat(sep=" ", timespec="seconds")
        except ValueError:
            continue
    return None


def _problem(order_id: str, order: dict | None, seen: set[str], cells: dict, outcome: str | None, content: str,
             leader: str, done: str | None, satisfaction: str) -> str:
    """Why a reply row cannot be imported, or "" when it can."""
    if not order_id:
        return "no order id"
    if order is None:
        return f"no order {order_id}"
    if order_id in seen:
        return "the order appears twice in this file"
    if outcome is None:
        return f"result {mask_cell(cells['result'])} is not solved, explained or cannot_solve"
    if not content:
        return "no reply text"
    if not leader:
        return "no approving leader"
    if done is None:
        return f"completed_at {mask_cell(cells['completed_at'])} is not a date"
    if satisfaction and satisfaction not in SATISFACTION:
        return f"satisfaction {mask_cell(satisfaction)} is not one of {', '.join(SATISFACTION)}"
    if order["state"] not in states.OPEN:
        return f"the order is {order['state']}: a reply completes an order still open"
    if done[:10] < order["dispatched_at"][:10]:
        return "completed before it was dispatched"
    return ""


def import_replies(store: Store, path: Path, who: str = "feedback") -> Imported:
    rows = list(table_rows(path, IngestConfig()))
    if not rows:
        raise FeedbackError(f"{path}: no header")
    header = [str(c or "").strip().lower() for c in rows[0][1]]
    where = {}
    for ours, names in COLUMNS.items():
        found = [header.index(n.lower()) for n in names if n.lower() in header]
        if found:
            where[ours] = found[0]
    missing = [c for c in REQUIRED if c not in where]
    if missing:
        raise FeedbackError(f"{path}, row 1: missing column(s) {', '.join(missing)}")
    result = Imported()
    at = dt.datetime.now().isoformat(timespec="seconds")
    with writing(store) as con:
        cells = [(line, {k: (row[i] if i < len(row) else None) for k, i in where.items()}) for line, row in rows[1:]
                 if any(str(c or "").strip() for c in row)]
        known = db.orders_by_id(con, [str(c["order_id"] or "").strip() for _, c in cells])
        seen: set[str] = set()
        replies, moves, events = [], [], []
        for line, c in cells:
            order_id = str(c["order_id"] or "").strip()
            outcome = RESULTS.get(str(c["result"] or "").strip().lower())
            content, leader = str(c["content"] or "").strip(), str(c["leader"] or "").strip()
            done, satisfaction = _time(c["completed_at"]), str(c.get("satisfaction") or "").strip()
            order = known.get(order_id)
            reason = _problem(order_id, order, seen, c, outcome, content, leader, done, satisfaction)
            if reason:
                result.rejected.append((str(path), line, order_id, reason))
                continue
            seen.add(order_id)
            replies.append({"order_id": order_id, "result": outcome, "content": content, "completed_at": done,
                            "leader": leader, "satisfaction": satisfaction, "imported_at": at, "source": str(path),
                            "line": line})
            state = order["state"]
            events.append((order_id, done, leader, "complete", state, states.COMPLETED, "", outcome))
            final = states.COMPLETED
            if satisfaction:
                events.append((order_id, at, who, "visit", states.COMPLETED, states.VISITED, "", satisfaction))
                final = states.VISITED
                result.visits += 1
            moves.append((final, at, order_id))
        db.save_replies(con, replies, moves, events)
        result.replies = len(replies)
    return result
