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
    """Topic -> its open order (one at most), among ``topic_ids`` (looked up by topic: the state index
    would scan every open order for each chunk)."""
    out: dict[str, dict] = {}
    wanted = set(open_states)
    for start in range(0, len(topic_ids), 900):
        chunk = list(topic_ids[start:start + 900])
        for row in db.execute(f"SELECT {', '.join(ORDER_COLUMNS)} FROM orders INDEXED BY orders_topic WHERE topic_id"
                              f" IN ({', '.join('?' * len(chunk))})", chunk):
            record = dict(zip(ORDER_COLUMNS, row))
            if record["state"] in wanted:
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


REPLY_COLUMNS = ("order_id", "result", "content", "completed_at", "leader", "satisfaction", "imported_at", "source",
                 "line")


def orders_by_id(db: sqlite3.Connection, ids: Sequence[str]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for start in range(0, len(ids), 900):
        chunk = list(ids[start:start + 900])
        for row in db.execute(f"SELECT {', '.join(ORDER_COLUMNS)} FROM orders WHERE order_id IN"
                              f" ({', '.join('?' * len(chunk))})", chunk):
            out[row[0]] = dict(zip(ORDER_COLUMNS, row))
    return out


def save_replies(con: sqlite3.Connection, replies: Sequence[dict], moves: Sequence[tuple], events: Sequence[tuple]
                 ) -> None:
    """Store replies (a later reply to a re-handled order replaces the earlier), the orders' new states
    ((state, at, order_id) rows) and their events, in the caller's transaction."""
    con.executemany(f"INSERT OR REPLACE INTO replies ({', '.join(REPLY_COLUMNS)}) VALUES"
                    f" ({', '.join('?' * len(REPLY_COLUMNS))})", [tuple(r[c] for c in REPLY_COLUMNS) for r in replies])
    con.executemany("UPDATE orders SET state = ?, updated_at = ? WHERE order_id = ?", moves)
    con.executemany("INSERT INTO order_events (order_id, at, who, action, from_state, to_state, reason, detail)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", events)


def report_rows(db: sqlite3.Connection, start: str, end: str) -> list[dict]:
    """Every order dispatched from ``start`` to ``end`` (dates, inclusive), with its reply, when it was
    completed (the reply's time, else the ``complete`` move's), and whether it was returned or had an
    extension approved."""
    names = (*ORDER_COLUMNS, "result", "completed_at", "satisfaction", "returned", "extended")
    rows = db.execute(
        f"SELECT {', '.join('o.' + c for c in ORDER_COLUMNS)}, r.result,"
        " COALESCE(r.completed_at, (SELECT MIN(e.at) FROM order_events e WHERE e.order_id = o.order_id"
        " AND e.action = 'complete')), r.satisfaction,"
        " EXISTS (SELECT 1 FROM order_events e WHERE e.order_id = o.order_id AND e.action = 'return'),"
        " EXISTS (SELECT 1 FROM order_events e WHERE e.order_id = o.order_id AND e.action = 'approve')"
        " FROM orders o LEFT JOIN replies r ON r.order_id = o.order_id"
        " WHERE substr(o.dispatched_at, 1, 10) BETWEEN ? AND ? ORDER BY o.order_id", (start, end)).fetchall()
    return [dict(zip(names, r)) for r in rows]


def publication_rows(db: sqlite3.Connection, start: str, end: str) -> list[tuple]:
    """(topic, unit, the topic's representative text, result, reply, completed at) of the orders answered
    in the period."""
    return db.execute(
        "SELECT o.topic_id, o.unit, t.representative_text, r.result, r.content, r.completed_at FROM replies r"
        " JOIN orders o ON o.order_id = r.order_id JOIN topics t ON t.topic_id = o.topic_id"
        " WHERE substr(r.completed_at, 1, 10) BETWEEN ? AND ? ORDER BY r.completed_at, o.order_id",
        (start, end)).fetchall()


def next_bulletin(con: sqlite3.Connection, start: str, end: str, at: str) -> int:
    number = (con.execute("SELECT MAX(number) FROM bulletins").fetchone()[0] or 0) + 1
    con.execute("INSERT INTO bulletins VALUES (?, ?, ?, ?)", (number, start, end, at))
    return number


def dispatched_on(db: sqlite3.Connection, day: str) -> list[dict]:
    """Every order dispatched on ``day``, with its topic's view (the day's sheets list them all)."""
    names = (*ORDER_COLUMNS, *("t_" + c for c in TOPIC_COLUMNS))
    columns = ", ".join([*("o." + c for c in ORDER_COLUMNS), *("t." + c for c in TOPIC_COLUMNS)])
    rows = db.execute(f"SELECT {columns}"
                      " FROM orders o JOIN topics t ON t.topic_id = o.topic_id WHERE substr(o.dispatched_at, 1, 10) = ?"
                      " ORDER BY o.order_id", (day,)).fetchall()
    out = []
    for row in rows:
        record = dict(zip(names, row))
        record["topic"] = {c: record.pop("t_" + c) for c in TOPIC_COLUMNS}
        out.append(record)
    return out
