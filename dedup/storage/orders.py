"""Work orders in the database: the orders, their transitions (append-only), and the reads dispatch needs.
All SQL of the dispatch layer is here."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

ORDER_COLUMNS = ("order_id", "topic_id", "unit", "state", "dispatched_at", "deadline", "provisional", "items",
                 "items_at_dispatch", "score", "replaces", "updated_at")
TOPIC_COLUMNS = ("topic_id", "size", "representative_text", "keywords", "channels", "department",
                 "department_score", "needs_review", "confirmed", "staff_unit")


def topics_routed_on(db: sqlite3.Connection, day: str) -> list[dict]:
    """Live, routed topics that a run started on ``day`` (YYYY-MM-DD) created or changed."""
    rows = db.execute(
        f"SELECT {', '.join('t.' + c for c in TOPIC_COLUMNS)} FROM topics t WHERE t.merged_into IS NULL"
        " AND t.size > 0 AND t.department != '' AND t.updated_run IN"
        " (SELECT run_id FROM runs WHERE substr(started_at, 1, 10) = ?) ORDER BY t.topic_id", (day,)).fetchall()
    return [dict(zip(TOPIC_COLUMNS, r)) for r in rows]


def open_orders_of(db: sqlite3.Connection, topic_ids: Sequence[str], open_states: Sequence[str]) -> dict[str, dict]:
    """Topic -> its open order (one at most), among ``topic_ids``."""
    out: dict[str, dict] = {}
    marks = ", ".join("?" * len(open_states))
    for start in range(0, len(topic_ids), 800):
        chunk = list(topic_ids[start:start + 800])
        for row in db.execute(f"SELECT {', '.join(ORDER_COLUMNS)} FROM orders WHERE state IN ({marks}) AND topic_id"
                              f" IN ({', '.join('?' * len(chunk))})", (*open_states, *chunk)):
            record = dict(zip(ORDER_COLUMNS, row))
            out[record["topic_id"]] = record
    return out


def next_number(db: sqlite3.Connection, prefix: str) -> int:
    row = db.execute("SELECT MAX(CAST(substr(order_id, ?) AS INTEGER)) FROM orders WHERE order_id LIKE ?",
                     (len(prefix) + 1, prefix + "%")).fetchone()
    return (row[0] or 0) + 1


def insert_order(con: sqlite3.Connection, order: dict) -> None:
    con.execute(f"INSERT INTO orders ({', '.join(ORDER_COLUMNS)}) VALUES ({', '.join('?' * len(ORDER_COLUMNS))})",
                tuple(order.get(c) for c in ORDER_COLUMNS))


def set_items(con: sqlite3.Connection, order_id: str, items: int, at: str) -> None:
    con.execute("UPDATE orders SET items = ?, updated_at = ? WHERE order_id = ?", (items, at, order_id))


def set_state(con: sqlite3.Connection, order_id: str, state: str, at: str, deadline: str | None = None,
              provisional: bool | None = None) -> None:
    con.execute("UPDATE orders SET state = ?, updated_at = ?, deadline = COALESCE(?, deadline),"
                " provisional = COALESCE(?, provisional) WHERE order_id = ?",
                (state, at, deadline, None if provisional is None else int(provisional), order_id))


def add_event(con: sqlite3.Connection, order_id: str, at: str, who: str, action: str, from_state: str,
              to_state: str, reason: str = "", detail: str = "") -> None:
    con.execute("INSERT INTO order_events (order_id, at, who, action, from_state, to_state, reason, detail)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (order_id, at, who, action, from_state, to_state, reason, detail))


def order(db: sqlite3.Connection, order_id: str) -> dict | None:
    row = db.execute(f"SELECT {', '.join(ORDER_COLUMNS)} FROM orders WHERE order_id = ?", (order_id,)).fetchone()
    return dict(zip(ORDER_COLUMNS, row)) if row else None


def events(db: sqlite3.Connection, order_id: str) -> list[dict]:
    names = ("event_id", "order_id", "at", "who", "action", "from_state", "to_state", "reason", "detail")
    return [dict(zip(names, r)) for r in db.execute(
        f"SELECT {', '.join(names)} FROM order_events WHERE order_id = ? ORDER BY event_id", (order_id,))]


def orders_in(db: sqlite3.Connection, states: Sequence[str]) -> list[dict]:
    return [dict(zip(ORDER_COLUMNS, r)) for r in db.execute(
        f"SELECT {', '.join(ORDER_COLUMNS)} FROM orders WHERE state IN ({', '.join('?' * len(states))})"
        " ORDER BY unit, deadline, order_id", tuple(states))]


def topic_view(db: sqlite3.Connection, topic_id: str) -> dict:
    row = db.execute(f"SELECT {', '.join(TOPIC_COLUMNS)} FROM topics WHERE topic_id = ?", (topic_id,)).fetchone()
    return dict(zip(TOPIC_COLUMNS, row))
