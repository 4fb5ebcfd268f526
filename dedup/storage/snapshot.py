"""Reads for the exports: the SQL that gives topics.csv and assignments.csv their rows, and read-only
connections of their own that see the database as one run left it (exports are written in forked
processes while the next run's work goes on)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# topics.csv columns as stored (TOPIC_COLUMNS, in order)
# (the JSON values written as the CSV cells show them, in SQL: exports read a million rows through it)
TOPIC_SELECT = (
    "SELECT topic_id, size, representative_id, representative_text,"
    " COALESCE((SELECT group_concat(value, ' ') FROM json_each(topics.keywords)), ''),"
    " COALESCE((SELECT group_concat(key || ':' || value, ',') FROM json_each(topics.channels)), ''),"
    " first_received, last_received, department,"
    " CASE WHEN department != '' THEN printf('%.3f', department_score) ELSE '' END,"
    " COALESCE((SELECT group_concat(json_extract(value, '$[0]') || ':' || printf('%.3f', json_extract(value, '$[1]')),"
    " ', ') FROM json_each(topics.department_top3)), ''), needs_review")

# every item's topic, its node's (read in node order, through the indexes); assignments.csv is it by id
ITEM_TOPICS_SQL = "SELECT i.id, n.topic_id FROM items i JOIN nodes n ON n.node_id = i.node_id"
ASSIGNMENTS_SQL = ITEM_TOPICS_SQL + " ORDER BY i.id"


@contextmanager
def read_only(db_path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection of its own: a forked process must not use its parent's."""
    con = sqlite3.connect(f"{Path(db_path).resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    try:
        con.execute("PRAGMA busy_timeout=60000")
        yield con
    finally:
        con.close()


def snapshot(db_path: Path, last_run: int, sql: str, ready=None) -> list[tuple] | None:
    """Rows of ``sql`` as the database stood after run ``last_run``, or None if a later run has committed.

    ``ready`` (an Event) is set once the read holds its lock: from then on a writer's commit waits for it.
    """
    with read_only(db_path) as con:
        con.execute("BEGIN")  # one snapshot for both reads
        current = con.execute("SELECT COALESCE(MAX(run_id), 0) FROM runs").fetchone()[0]
        if ready is not None:
            ready.set()
        if current != last_run:
            return None
        return con.execute(sql).fetchall()
