"""Staff decisions in the database: the append-only log, the topic columns a decision changes, and the
reads the review page needs (the queue, a page of members). All SQL of the review layer is here.

A decision changes the database when it is made (nodes move, a unit is set) and is logged with the
state before and after; an undo is another decision that restores the state before. Later runs honour
the result: a night never moves a stored text, never bridges two topics a split kept apart, and keeps a
unit a person gave.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

TOPIC_STATE = ("topic_id", "size", "department", "department_score", "needs_review", "confirmed", "staff_unit",
               "merged_into", "revision", "updated_run")


@dataclass(frozen=True)
class QueueFilter:
    """What the queue shows: by unit, channel, received dates, size and status (all optional)."""

    unit: str = ""
    channel: str = ""
    since: str = ""          # last received on or after (YYYY-MM-DD)
    until: str = ""          # first received on or before (YYYY-MM-DD)
    min_size: int = 0
    max_size: int = 0        # 0: no bound
    status: str = "open"     # open | review | confirmed | rerouted | all


def state(db: sqlite3.Connection, topic_id: str) -> dict | None:
    row = db.execute(f"SELECT {', '.join(TOPIC_STATE)} FROM topics WHERE topic_id = ?", (topic_id,)).fetchone()
    return dict(zip(TOPIC_STATE, row)) if row else None


def token(topic: dict) -> str:
    """A topic's version as a form carries it: a run or a decision that changed it since makes it stale."""
    return f"{topic['updated_run']}.{topic['revision']}"


def nodes_of_items(db: sqlite3.Connection, topic_id: str, item_ids: Sequence[str]) -> tuple[list[int], list[str]]:
    """(the nodes of ``item_ids`` that are in ``topic_id``, the ids that are not in it)."""
    found: dict[str, int] = {}
    for start in range(0, len(item_ids), 900):
        chunk = list(item_ids[start:start + 900])
        found.update(db.execute(
            f"SELECT i.id, i.node_id FROM items i JOIN nodes n ON n.node_id = i.node_id WHERE n.topic_id = ?"
            f" AND i.id IN ({', '.join('?' * len(chunk))})", (topic_id, *chunk)).fetchall())
    return sorted(set(found.values())), [i for i in item_ids if i not in found]


def node_ids(db: sqlite3.Connection, topic_id: str) -> list[int]:
    return [r[0] for r in db.execute("SELECT node_id FROM nodes WHERE topic_id = ? ORDER BY node_id", (topic_id,))]


def move_nodes(con: sqlite3.Connection, nodes: Iterable[int], topic_id: str) -> None:
    """Move texts (and so every copy of them) to ``topic_id``; ``refresh`` then picks each topic's centre."""
    con.executemany("UPDATE nodes SET topic_id = ? WHERE node_id = ?",
                    [(topic_id, n) for n in nodes])


def new_topic_id(con: sqlite3.Connection) -> str:
    row = con.execute("SELECT MAX(CAST(SUBSTR(topic_id, 2) AS INTEGER)) FROM topics").fetchone()
    return f"T{(row[0] or 0) + 1:07d}"


def create_topic(con: sqlite3.Connection, topic_id: str, like: str) -> None:
    """A new topic with ``like``'s unit and keywords, flagged for review; ``refresh`` fills the rest."""
    con.execute("INSERT INTO topics (topic_id, size, representative_id, representative_text, keywords, channels,"
                " first_received, last_received, department, department_score, department_top3, needs_review,"
                " created_run, updated_run, merged_into, revision, confirmed, staff_unit)"
                " SELECT ?, 0, NULL, NULL, keywords, '{}', '', '', department, department_score, department_top3,"
                " 1, updated_run, updated_run, NULL, 0, 0, staff_unit FROM topics WHERE topic_id = ?", (topic_id, like))


def refresh(con: sqlite3.Connection, topic_id: str) -> None:
    """A topic's size, channels, time span, centre and representative from the texts it holds now (its
    keywords stay until a run recomputes them). The centre stays a stored centre where the topic holds one
    (a night finds topics by their centres' signatures), else it is the most copied text."""
    size, first, last = con.execute(
        "SELECT COUNT(*), MIN(i.received_at), MAX(i.received_at) FROM items i JOIN nodes n ON n.node_id = i.node_id"
        " WHERE n.topic_id = ?", (topic_id,)).fetchone()
    channels = dict(con.execute("SELECT i.channel, COUNT(*) FROM items i JOIN nodes n ON n.node_id = i.node_id"
                                " WHERE n.topic_id = ? GROUP BY i.channel ORDER BY i.channel", (topic_id,)).fetchall())
    centre = con.execute("SELECT node_id FROM nodes WHERE topic_id = ? ORDER BY is_centre DESC, weight DESC, node_id"
                         " LIMIT 1", (topic_id,)).fetchone()
    if centre is None:
        con.execute("UPDATE topics SET size = 0 WHERE topic_id = ?", (topic_id,))
        return
    con.execute("UPDATE nodes SET is_centre = (node_id = ?) WHERE topic_id = ?", (centre[0], topic_id))
    rep = con.execute("SELECT i.id, n.text FROM items i JOIN nodes n ON n.node_id = i.node_id WHERE n.node_id = ?"
                      " ORDER BY i.id LIMIT 1", (centre[0],)).fetchone()
    con.execute("UPDATE topics SET size = ?, channels = ?, first_received = ?, last_received = ?,"
                " representative_id = ?, representative_text = ? WHERE topic_id = ?",
                (size, json.dumps(channels, ensure_ascii=False), first, last, rep[0], rep[1], topic_id))


def update(con: sqlite3.Connection, topic_id: str, **columns) -> None:
    """Set topic columns and count one more revision."""
    sets = ", ".join(f"{name} = ?" for name in columns)
    con.execute(f"UPDATE topics SET {sets}{', ' if sets else ''}revision = revision + 1 WHERE topic_id = ?",
                (*columns.values(), topic_id))


def append(con: sqlite3.Connection, *, who: str, kind: str, topic_id: str, target: str = "",
           nodes: Sequence[int] = (), unit: str = "", reason: str = "", before: dict, after: dict,
           undoes: int | None = None, at: str | None = None) -> int:
    at = at or dt.datetime.now().isoformat(timespec="seconds")
    cur = con.execute("INSERT INTO decisions (at, who, kind, topic_id, target, nodes, unit, reason, before, after,"
                      " undoes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (at, who, kind, topic_id, target, json.dumps(list(nodes)), unit, reason,
                       json.dumps(before, ensure_ascii=False), json.dumps(after, ensure_ascii=False), undoes))
    return int(cur.lastrowid)


DECISION_COLUMNS = ("decision_id", "at", "who", "kind", "topic_id", "target", "nodes", "unit", "reason", "before",
                    "after", "undoes")


def log(db: sqlite3.Connection, topic_id: str | None = None, decision_id: int | None = None) -> list[dict]:
    """Decisions, oldest first, each with ``undone_by``: all, those naming ``topic_id`` (as topic or target),
    or the one ``decision_id``."""
    where, args = "", ()
    if topic_id is not None:
        where, args = "WHERE d.topic_id = ? OR d.target = ?", (topic_id, topic_id)
    elif decision_id is not None:
        where, args = "WHERE d.decision_id = ?", (decision_id,)
    rows = db.execute(f"SELECT {', '.join('d.' + c for c in DECISION_COLUMNS)},"
                      " (SELECT MIN(u.decision_id) FROM decisions u WHERE u.undoes = d.decision_id)"
                      f" FROM decisions d {where} ORDER BY d.decision_id", args).fetchall()
    out = []
    for row in rows:
        record = dict(zip((*DECISION_COLUMNS, "undone_by"), row))
        for key in ("nodes", "before", "after"):
            record[key] = json.loads(record[key])
        out.append(record)
    return out


def run_finished(db: sqlite3.Connection, run_id: int) -> str:
    row = db.execute("SELECT finished_at FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    return (row[0] or "") if row else ""


def apart(db: sqlite3.Connection) -> set[frozenset[str]]:
    """Pairs of topics a person split apart (and did not undo): a night never bridges them again."""
    rows = db.execute("SELECT d.topic_id, d.target FROM decisions d WHERE d.kind = 'split' AND NOT EXISTS"
                      " (SELECT 1 FROM decisions u WHERE u.undoes = d.decision_id)").fetchall()
    return {frozenset(r) for r in rows if r[0] != r[1]}


def staff_units(db: sqlite3.Connection) -> dict[str, str]:
    """Topic -> the unit a person gave it (a run keeps it whatever the model says)."""
    return dict(db.execute("SELECT topic_id, staff_unit FROM topics WHERE staff_unit != '' AND merged_into IS NULL"))


def rerouted_items(db: sqlite3.Connection) -> list[tuple[str, str, str, str]]:
    """(item id, text, unit, topic) of every item in a topic a person re-routed: training history."""
    return db.execute("SELECT i.id, n.text, t.staff_unit, t.topic_id FROM topics t JOIN nodes n ON n.topic_id ="
                      " t.topic_id JOIN items i ON i.node_id = n.node_id WHERE t.staff_unit != ''"
                      " AND t.merged_into IS NULL ORDER BY i.id").fetchall()


def _where(f: QueueFilter) -> tuple[str, list]:
    clauses, args = ["merged_into IS NULL", "size > 0"], []
    if f.unit:
        clauses.append("department = ?")
        args.append(f.unit)
    if f.channel:
        clauses.append("COALESCE(json_extract(channels, '$.' || ?), 0) > 0")
        args.append(f.channel)
    if f.since:
        clauses.append("last_received >= ?")
        args.append(f.since)
    if f.until:
        clauses.append("first_received <= ?")
        args.append(f.until + "\uffff")
    if f.min_size:
        clauses.append("size >= ?")
        args.append(f.min_size)
    if f.max_size:
        clauses.append("size <= ?")
        args.append(f.max_size)
    clauses.append({"open": "confirmed = 0", "review": "needs_review = 1 AND confirmed = 0",
                    "confirmed": "confirmed = 1", "rerouted": "staff_unit != ''", "all": "1"}[f.status])
    return " AND ".join(clauses), args


# most doubtful first: not confirmed, flagged, unrouted, then a low routing score and a member far from the
# centre (the two doubts added), merged into by the last run, large
QUEUE_ORDER = ("confirmed, needs_review DESC, (department_score IS NULL OR department = '') DESC,"
               " (1 - COALESCE(department_score, 0)) + (1 - COALESCE((SELECT least FROM cohesion c WHERE"
               " c.topic_id = topics.topic_id), 1)) DESC,"
               " (updated_run = (SELECT MAX(run_id) FROM runs) AND EXISTS (SELECT 1 FROM topics m"
               " WHERE m.merged_into = topics.topic_id)) DESC, size DESC, topic_id")

QUEUE_COLUMNS = ("topic_id", "size", "representative_text", "department", "department_score", "needs_review",
                 "confirmed", "staff_unit", "first_received", "last_received", "channels", "keywords",
                 "(SELECT least FROM cohesion c WHERE c.topic_id = topics.topic_id) AS least")


def queue(db: sqlite3.Connection, f: QueueFilter, offset: int = 0, limit: int = 50) -> tuple[list[dict], int]:
    """A page of the queue and the number of topics the filter matches."""
    where, args = _where(f)
    total = db.execute(f"SELECT COUNT(*) FROM topics WHERE {where}", args).fetchone()[0]
    rows = db.execute(f"SELECT {', '.join(QUEUE_COLUMNS)} FROM topics WHERE {where} ORDER BY {QUEUE_ORDER}"
                      " LIMIT ? OFFSET ?", (*args, limit, offset)).fetchall()
    out = []
    for row in rows:
        record = dict(zip((*QUEUE_COLUMNS[:-1], "least"), row))
        record["channels"] = json.loads(record["channels"] or "{}")
        record["keywords"] = json.loads(record["keywords"] or "[]")
        out.append(record)
    return out, total


def matching(db: sqlite3.Connection, f: QueueFilter) -> list[dict]:
    """Every topic the filter matches, with its state (a bulk decision's scope)."""
    where, args = _where(f)
    return [dict(zip(TOPIC_STATE, r)) for r in db.execute(
        f"SELECT {', '.join(TOPIC_STATE)} FROM topics WHERE {where} ORDER BY topic_id", args)]


def units(db: sqlite3.Connection) -> list[str]:
    return [r[0] for r in db.execute("SELECT DISTINCT department FROM topics WHERE department != ''"
                                     " ORDER BY department")]


def members_page(db: sqlite3.Connection, topic_id: str, offset: int = 0, limit: int = 50) -> list[dict]:
    """A page of a topic's items: id, channel, time, its text (masked, as clustered) and tokens, its node."""
    # each distinct text once first (the centre's, then by node), then the further copies: the first page
    # shows how the members differ, not forty copies of one text
    rows = db.execute("SELECT i.id, i.channel, i.received_at, n.text, n.tokens, n.node_id, n.is_centre"
                      " FROM nodes n JOIN items i ON i.node_id = n.node_id WHERE n.topic_id = ?"
                      " ORDER BY ROW_NUMBER() OVER (PARTITION BY n.node_id ORDER BY i.id), n.is_centre DESC,"
                      " n.node_id, i.id LIMIT ? OFFSET ?", (topic_id, limit, offset)).fetchall()
    return [dict(zip(("id", "channel", "received_at", "text", "tokens", "node_id", "is_centre"), r)) for r in rows]


def centre_tokens(db: sqlite3.Connection, topic_id: str) -> str:
    row = db.execute("SELECT tokens FROM nodes WHERE topic_id = ? AND is_centre = 1", (topic_id,)).fetchone()
    return row[0] if row else ""


def held_topics(db: sqlite3.Connection) -> set[str]:
    """Live topics a person decided on (confirmed, re-routed, split, or merged into), which a rebuild keeps
    whole."""
    rows = db.execute(
        "SELECT topic_id FROM topics WHERE merged_into IS NULL AND (confirmed = 1 OR staff_unit != '')"
        " UNION SELECT d.topic_id FROM decisions d WHERE d.kind = 'split' AND NOT EXISTS"
        " (SELECT 1 FROM decisions u WHERE u.undoes = d.decision_id)"
        " UNION SELECT d.target FROM decisions d WHERE d.kind IN ('split', 'merge') AND NOT EXISTS"
        " (SELECT 1 FROM decisions u WHERE u.undoes = d.decision_id)").fetchall()
    live = {r[0] for r in db.execute("SELECT topic_id FROM topics WHERE merged_into IS NULL AND size > 0")}
    return {r[0] for r in rows} & live


def stale_cohesion(db: sqlite3.Connection, limit: int) -> list[tuple[str, str]]:
    """(topic, version) of up to ``limit`` live topics whose least similarity is not known at their version."""
    return db.execute(
        "SELECT t.topic_id, t.updated_run || '.' || t.revision FROM topics t LEFT JOIN cohesion c ON c.topic_id ="
        " t.topic_id WHERE t.merged_into IS NULL AND t.size > 0 AND (c.version IS NULL OR c.version !="
        " t.updated_run || '.' || t.revision) ORDER BY t.topic_id LIMIT ?", (limit,)).fetchall()


def topic_tokens(db: sqlite3.Connection, topic_ids: Sequence[str]) -> list[tuple[str, str, int]]:
    """(topic, tokens, is_centre) of every text of ``topic_ids``."""
    out: list[tuple[str, str, int]] = []
    for start in range(0, len(topic_ids), 900):
        chunk = list(topic_ids[start:start + 900])
        out += db.execute(f"SELECT topic_id, tokens, is_centre FROM nodes WHERE topic_id IN"
                          f" ({', '.join('?' * len(chunk))})", chunk).fetchall()
    return out


def save_cohesion(con: sqlite3.Connection, rows: Iterable[tuple[str, str, float]]) -> None:
    con.executemany("INSERT OR REPLACE INTO cohesion VALUES (?, ?, ?)", rows)
