"""Dispatching the day's topics as work orders, moving orders through their states, and flagging those
near or past their deadline.

One order per topic routed that day that has no open order; a topic that grew while its order is open
has its order's item count raised, and the unit's sheet lists it again as grown. Topics whose routing
score is below ``classify.review_below`` wait for a reviewer's confirmation (confirm or re-route on the
review page) unless ``include_unconfirmed``. Every change of state is one transaction with its event.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from dedup.config import DispatchConfig as DispatchRules
from dedup.dispatch import states
from dedup.dispatch.workdays import Calendar
from dedup.storage import orders as db
from dedup.storage.store import Store, writing

SHEET_COLUMNS = ["order_id", "topic_id", "status", "items", "channels", "representative_text", "keywords", "unit",
                 "routing_score", "dispatched_at", "deadline", "provisional", "contact"]


@dataclass
class Dispatched:
    day: str
    new: list[dict] = field(default_factory=list)       # orders made today
    grown: list[dict] = field(default_factory=list)     # open orders whose topic grew
    waiting: list[dict] = field(default_factory=list)   # topics waiting for a reviewer
    day_orders: list[dict] = field(default_factory=list)  # every order dispatched that day, made now or earlier
    warning: str = ""


def _now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


def dispatch(store: Store, day: dt.date, calendar: Calendar, rules: DispatchRules, review_below: float,
             include_unconfirmed: bool = False, who: str = "dispatch") -> Dispatched:
    """Make the day's orders (one transaction)."""
    result = Dispatched(day.isoformat())
    deadline, provisional = calendar.add(day, rules.days)
    prefix = f"GD{day:%Y%m%d}"
    at = f"{day.isoformat()}T{dt.datetime.now():%H:%M:%S}"
    with writing(store) as con:
        topics = db.topics_routed_on(con, day.isoformat())
        open_orders = db.open_orders_of(con, [t["topic_id"] for t in topics], states.OPEN)
        number = db.next_number(con, prefix)
        for t in topics:
            existing = open_orders.get(t["topic_id"])
            if existing is not None:
                if t["size"] > existing["items"]:
                    db.set_items(con, existing["order_id"], t["size"], at)
                    db.add_event(con, existing["order_id"], at, who, "grow", existing["state"], existing["state"],
                                 detail=f"{existing['items']} -> {t['size']} items")
                    result.grown.append({**existing, "items": t["size"], "topic": t})
                continue
            doubtful = (t["department_score"] or 0) < review_below and not t["confirmed"] and not t["staff_unit"]
            if doubtful and not include_unconfirmed:
                result.waiting.append(t)
                continue
            order = {"order_id": f"{prefix}{number:05d}", "topic_id": t["topic_id"], "unit": t["department"],
                     "state": states.PENDING, "dispatched_at": at, "deadline": deadline.isoformat(),
                     "provisional": int(provisional), "items": t["size"], "items_at_dispatch": t["size"],
                     "score": t["department_score"], "replaces": None, "updated_at": at}
            number += 1
            db.insert_order(con, order)
            db.add_event(con, order["order_id"], at, who, "dispatch", "", states.PENDING)
            result.new.append({**order, "topic": t})
    result.day_orders = db.dispatched_on(store.db, day.isoformat())
    result.warning = calendar.warning()
    return result


def act(store: Store, order_id: str, action: str, who: str, calendar: Calendar, rules: DispatchRules,
        reason: str = "", unit: str = "", today: dt.date | None = None) -> dict:
    """Move an order by ``action`` (see ``states``); returns the order as it stands (and, for a
    re-assignment, ``new_order``)."""
    if not who.strip():
        raise states.TransitionError("a transition needs the name of who made it")
    today = today or dt.date.today()
    at = f"{today.isoformat()}T{dt.datetime.now():%H:%M:%S}"
    with writing(store) as con:
        order = db.order(con, order_id)
        if order is None:
            raise states.TransitionError(f"no order {order_id!r}")
        target = states.check(order["state"], action, reason)
        deadline = provisional = None
        if action == "return":
            dispatched = dt.date.fromisoformat(order["dispatched_at"][:10])
            late = calendar.between(dispatched, today)
            if late > rules.return_within:
                raise states.TransitionError(
                    f"order {order_id} was dispatched {late} working days ago: it can be returned within "
                    f"{rules.return_within}")
        if action == "approve":
            new, guessed = calendar.add(dt.date.fromisoformat(order["deadline"]), rules.extension_days)
            deadline, provisional = new.isoformat(), bool(order["provisional"]) or guessed
        if action == "reassign" and not unit.strip():
            raise states.TransitionError("a re-assignment names the unit the order goes to")
        db.set_state(con, order_id, target, at, deadline, provisional)
        db.add_event(con, order_id, at, who, action, order["state"], target, reason,
                     detail=f"deadline {deadline}" if deadline else (f"to {unit}" if unit else ""))
        out = db.order(con, order_id)
        if action == "reassign":
            prefix = f"GD{today:%Y%m%d}"
            due, guessed = calendar.add(today, rules.days)
            new_order = {**order, "order_id": f"{prefix}{db.next_number(con, prefix):05d}", "unit": unit.strip(),
                         "state": states.PENDING, "dispatched_at": at, "deadline": due.isoformat(),
                         "provisional": int(guessed), "replaces": order_id, "updated_at": at}
            db.insert_order(con, new_order)
            db.add_event(con, new_order["order_id"], at, who, "dispatch", "", states.PENDING,
                         detail=f"re-assigned from {order_id} ({order['unit']})")
            out["new_order"] = new_order["order_id"]
        return out


def flags(store: Store, day: dt.date, calendar: Calendar) -> list[dict]:
    """Open orders due within a working day (yellow) or past their deadline (red), by unit."""
    out = []
    for order in db.orders_in(store.db, states.OPEN):
        due = dt.date.fromisoformat(order["deadline"])
        if day > due:
            out.append({**order, "flag": "red", "overdue_working_days": calendar.between(due, day)})
        elif calendar.between(day, due) <= 1:
            out.append({**order, "flag": "yellow", "overdue_working_days": 0})
    return out


def _row(order: dict, status: str, rules: DispatchRules) -> list:
    t = order["topic"]
    channels = json.loads(t["channels"] or "{}")
    keywords = json.loads(t["keywords"] or "[]")
    return [order["order_id"], order["topic_id"], status, order["items"],
            ", ".join(f"{c}:{n}" for c, n in channels.items() if n), t["representative_text"] or "",
            " ".join(keywords), order["unit"], round(order["score"] or 0, 3), order["dispatched_at"],
            order["deadline"], "provisional" if order["provisional"] else "", rules.contact]


def _safe(name: str) -> str:
    return re.sub(r'[\\/:*?"<>|\s]+', "_", name).strip("_") or "unit"


def write_sheets(result: Dispatched, out: Path, rules: DispatchRules) -> list[Path]:
    """One sheet per unit (XLSX and CSV) and a summary of all units, under ``out``: the day's orders (those
    made by an earlier call the same day marked ``earlier``) and the open orders whose topic grew."""
    from dedup.io.export import write_csv, write_xlsx

    out.mkdir(parents=True, exist_ok=True)
    by_unit: dict[str, list[list]] = {}
    made_now = {o["order_id"] for o in result.new}
    for order in result.day_orders or result.new:  # a day's sheets list all its orders, however many runs made them
        status = "new" if order["order_id"] in made_now else "earlier"
        by_unit.setdefault(order["unit"], []).append(_row(order, status, rules))
    for order in result.grown:
        by_unit.setdefault(order["unit"], []).append(_row(order, "grown", rules))
    written = []
    for unit, rows in sorted(by_unit.items()):
        name = f"{result.day}_{_safe(unit)}"
        written.append(write_csv(out / f"{name}.csv", SHEET_COLUMNS, rows))
        written.append(write_xlsx(out / f"{name}.xlsx", {"工单 orders": (SHEET_COLUMNS, rows)}))
    summary = [[unit, sum(r[2] == "new" for r in rows), sum(r[2] == "earlier" for r in rows),
                sum(r[2] == "grown" for r in rows), sum(r[3] for r in rows)] for unit, rows in sorted(by_unit.items())]
    header = ["unit", "new_orders", "earlier_orders", "grown_orders", "items"]
    written.append(write_csv(out / f"{result.day}_summary.csv", header, summary))
    written.append(write_xlsx(out / f"{result.day}_summary.xlsx", {"汇总 summary": (header, summary)}))
    if result.waiting:
        wait_header = ["topic_id", "size", "department", "department_score", "representative_text"]
        written.append(write_csv(out / f"{result.day}_waiting_for_review.csv", wait_header,
                                 [[t["topic_id"], t["size"], t["department"], round(t["department_score"] or 0, 3),
                                   t["representative_text"] or ""] for t in result.waiting]))
    return written
