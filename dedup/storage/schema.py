"""The database's tables, and the recorded steps that bring a database of an older schema to this one."""

from __future__ import annotations

import json
import sqlite3

# 3: an item's topic is its node's (items.topic_id dropped); texts found by their CRC
# 4: each run's lists (run_topics) and flagged rows kept, and whether its exports were written (runs.exported_at)
# 5: keywords, channel counts and top-3 units stored as JSON values
# 6: staff decisions (the decisions log; a topic's revision, confirmation and staff-given unit)
# 7: work orders, their transitions and the units' replies; each topic's least similarity to its centre
SCHEMA_VERSION = 7

_META = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"

_NODES = """(
    node_id INTEGER PRIMARY KEY, text TEXT NOT NULL, tokens TEXT NOT NULL, key TEXT NOT NULL,
    weight INTEGER NOT NULL, topic_id TEXT NOT NULL, is_centre INTEGER NOT NULL, text_crc INTEGER NOT NULL)"""

SCHEMA = f"""
{_META};
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY, kind TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
    inputs TEXT NOT NULL, config TEXT NOT NULL, counts TEXT NOT NULL, timings TEXT NOT NULL, exported_at TEXT);
CREATE TABLE IF NOT EXISTS nodes {_NODES};
CREATE INDEX IF NOT EXISTS nodes_topic ON nodes(topic_id);
CREATE INDEX IF NOT EXISTS nodes_text ON nodes(text_crc);
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY, received_at TEXT NOT NULL, channel TEXT NOT NULL, content TEXT NOT NULL,
    title TEXT NOT NULL, source TEXT NOT NULL, line INTEGER NOT NULL,
    run_id INTEGER NOT NULL REFERENCES runs(run_id), node_id INTEGER NOT NULL REFERENCES nodes(node_id));
CREATE INDEX IF NOT EXISTS items_node ON items(node_id, id);
CREATE TABLE IF NOT EXISTS topics (
    topic_id TEXT PRIMARY KEY, size INTEGER NOT NULL, representative_id TEXT, representative_text TEXT,
    keywords TEXT, channels TEXT, first_received TEXT, last_received TEXT,
    department TEXT, department_score REAL, department_top3 TEXT, needs_review INTEGER NOT NULL DEFAULT 0,
    created_run INTEGER NOT NULL, updated_run INTEGER NOT NULL, merged_into TEXT,
    revision INTEGER NOT NULL DEFAULT 0, confirmed INTEGER NOT NULL DEFAULT 0, staff_unit TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS rejected (
    run_id INTEGER NOT NULL, file TEXT NOT NULL, line INTEGER NOT NULL, item_id TEXT NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS flagged (
    run_id INTEGER NOT NULL, file TEXT NOT NULL, line INTEGER NOT NULL, item_id TEXT NOT NULL, note TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS run_topics (
    run_id INTEGER NOT NULL, topic_id TEXT NOT NULL, status TEXT NOT NULL, merged_into TEXT);
CREATE INDEX IF NOT EXISTS run_topics_run ON run_topics(run_id);
CREATE TABLE IF NOT EXISTS decisions (
    decision_id INTEGER PRIMARY KEY, at TEXT NOT NULL, who TEXT NOT NULL, kind TEXT NOT NULL,
    topic_id TEXT NOT NULL, target TEXT NOT NULL DEFAULT '', nodes TEXT NOT NULL DEFAULT '[]',
    unit TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '', before TEXT NOT NULL, after TEXT NOT NULL,
    undoes INTEGER REFERENCES decisions(decision_id));
CREATE INDEX IF NOT EXISTS decisions_topic ON decisions(topic_id);
CREATE INDEX IF NOT EXISTS decisions_target ON decisions(target);
CREATE INDEX IF NOT EXISTS decisions_undoes ON decisions(undoes);
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY, topic_id TEXT NOT NULL, unit TEXT NOT NULL, state TEXT NOT NULL,
    dispatched_at TEXT NOT NULL, deadline TEXT NOT NULL, provisional INTEGER NOT NULL, items INTEGER NOT NULL,
    items_at_dispatch INTEGER NOT NULL, score REAL, replaces TEXT, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS orders_topic ON orders(topic_id);
CREATE INDEX IF NOT EXISTS orders_state ON orders(state, unit);
CREATE TABLE IF NOT EXISTS order_events (
    event_id INTEGER PRIMARY KEY, order_id TEXT NOT NULL, at TEXT NOT NULL, who TEXT NOT NULL, action TEXT NOT NULL,
    from_state TEXT NOT NULL, to_state TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS order_events_order ON order_events(order_id);
CREATE TABLE IF NOT EXISTS replies (
    order_id TEXT PRIMARY KEY, result TEXT NOT NULL, content TEXT NOT NULL, completed_at TEXT NOT NULL,
    leader TEXT NOT NULL, satisfaction TEXT NOT NULL DEFAULT '', imported_at TEXT NOT NULL, source TEXT NOT NULL,
    line INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS cohesion (
    topic_id TEXT PRIMARY KEY, version TEXT NOT NULL, least REAL NOT NULL);
CREATE TABLE IF NOT EXISTS bulletins (
    number INTEGER PRIMARY KEY, period_start TEXT NOT NULL, period_end TEXT NOT NULL, made_at TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS decisions_append_only_update BEFORE UPDATE ON decisions
    BEGIN SELECT RAISE(ABORT, 'the decisions log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS decisions_append_only_delete BEFORE DELETE ON decisions
    BEGIN SELECT RAISE(ABORT, 'the decisions log is append-only'); END;
"""


def _to_3(con: sqlite3.Connection) -> None:
    """items.topic_id repeated its node's topic: every change of a topic wrote it twice, and a full run could
    not insert its items before the clustering was known. A unique index on nodes.text held every text a
    second time; nodes are looked up by the CRC-32 of their text instead."""
    con.execute("DROP INDEX IF EXISTS items_topic")
    con.execute("ALTER TABLE items DROP COLUMN topic_id")
    con.execute(f"CREATE TABLE nodes_3 {_NODES}")
    con.execute("INSERT INTO nodes_3 SELECT node_id, text, tokens, key, weight, topic_id, is_centre,"
                " text_crc(text) FROM nodes")
    con.execute("DROP TABLE nodes")
    con.execute("ALTER TABLE nodes_3 RENAME TO nodes")


def _to_4(con: sqlite3.Connection) -> None:
    """When each run's files were written (a run whose files were cut off is listed again), and each run's
    lists and flagged rows (their tables are made by SCHEMA)."""
    con.execute("ALTER TABLE runs ADD COLUMN exported_at TEXT")
    con.execute("UPDATE runs SET exported_at = finished_at")  # their lists were written, or are gone


def _to_5(con: sqlite3.Connection) -> None:
    """Keywords, channel counts and the top-3 units as JSON values instead of the CSV cells' text."""
    if con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'topics'").fetchone() is None:
        return  # (made by SCHEMA)
    rows = con.execute("SELECT topic_id, keywords, channels, department_top3 FROM topics").fetchall()
    con.executemany("UPDATE topics SET keywords = ?, channels = ?, department_top3 = ? WHERE topic_id = ?",
                    [(*json_fields(*_parsed(keywords, channels, top3)), topic_id)
                     for topic_id, keywords, channels, top3 in rows])


def _to_6(con: sqlite3.Connection) -> None:
    """Staff decisions: each topic's revision (optimistic locking), whether a person confirmed it, and the
    unit a person gave it (the decisions table itself is made by SCHEMA)."""
    if con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'topics'").fetchone() is None:
        return
    have = {row[1] for row in con.execute("PRAGMA table_info(topics)")}
    for column in ("revision INTEGER NOT NULL DEFAULT 0", "confirmed INTEGER NOT NULL DEFAULT 0",
                   "staff_unit TEXT NOT NULL DEFAULT ''"):
        if column.split()[0] not in have:
            con.execute(f"ALTER TABLE topics ADD COLUMN {column}")


def _to_7(con: sqlite3.Connection) -> None:
    """Work orders and their transitions (tables made by SCHEMA; nothing to convert)."""


def _parsed(keywords: str | None, channels: str | None, top3: str | None) -> tuple[list, dict, list]:
    """The values of schema 4's text forms ("a b c", "phone:3,wechat:1", "unit:0.910, unit:0.050")."""
    words = (keywords or "").split()
    counts = {c: int(n) for c, _, n in (part.rpartition(":") for part in (channels or "").split(",") if part)}
    units = [[u, float(p)] for u, _, p in (part.strip().rpartition(":") for part in (top3 or "").split(",")
                                           if part.strip())]
    return words, counts, units


def statements(script: str) -> list[str]:
    """The statements of a script, each whole (a trigger's body holds semicolons of its own)."""
    out, current = [], ""
    for part in script.split(";"):
        current += part + ";"
        if sqlite3.complete_statement(current):
            if current.strip(" \n;"):
                out.append(current.strip())
            current = ""
    return out


def json_fields(keywords: list, channels: dict, top3: list) -> tuple[str, str, str]:
    return (json.dumps(keywords, ensure_ascii=False), json.dumps(channels, ensure_ascii=False),
            json.dumps(top3, ensure_ascii=False))


# schema version -> the step that brings a database of that version to the next
MIGRATIONS = {2: _to_3, 3: _to_4, 4: _to_5, 5: _to_6, 6: _to_7}


