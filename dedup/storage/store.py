"""The embedded SQLite state: items, topics, memberships, runs and rejected rows.

A run writes everything in one transaction, so a crash leaves the database
as it was before the run or as it is after it. A lock file beside the
database keeps a second run from starting while one is in progress.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from dedup.core.records import Item, NodeRow, Rejection
from dedup.core.topics import TOPIC_COLUMNS, TopicSummary
from dedup.storage.guard import DatabaseError, NotFound, StoreError, _hot_journal, _refuse_unsafe, run_lock  # noqa: F401
from dedup.storage.schema import _META, MIGRATIONS, SCHEMA, SCHEMA_VERSION, json_fields, statements  # noqa: F401 (SCHEMA_VERSION: the store's interface)
from dedup.storage.snapshot import ASSIGNMENTS_SQL, TOPIC_SELECT

# indexes that a full run or rebuild drops and builds again once their column is filled; items_node
# holds the ids too, so that every item's topic is read from indexes in node order (1.3 s at 1.28M
# items, against 3.0 s through the table)
_BULK_INDEXES = {"nodes_text": "CREATE INDEX nodes_text ON nodes(text_crc)",
                 "nodes_topic": "CREATE INDEX nodes_topic ON nodes(topic_id)",
                 "items_node": "CREATE INDEX items_node ON items(node_id, id)"}


def text_crc(data: bytes) -> int:
    """The key a text is looked up by (CRC-32 of its UTF-8): an index of these is a twentieth of one
    of the texts; a lookup compares the texts it finds."""
    return zlib.crc32(data)


class Store:
    """The database of one deployment. A run opens it to write (``readonly=False``) and creates it when
    no file is there; a read command opens it read-only and never changes a byte of it."""

    def __init__(self, path: str | Path, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        _refuse_unsafe(self.path, readonly)
        try:
            if readonly:
                if _hot_journal(self.path):
                    raise StoreError(f"{self.path}: a run was cut off while it committed (its journal is still "
                                     "beside the database); the next `dedup run` or `dedup rebuild` rolls it back, "
                                     "and read commands work again after that")
                self.db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
                self.db.execute("PRAGMA busy_timeout=60000")  # readers (`dedup status`) wait out a commit
                self._check_ours()
                version = self.meta("schema_version")
                if int(version) != SCHEMA_VERSION:
                    raise StoreError(f"{self.path}: schema {version}, this dedup reads {SCHEMA_VERSION}: "
                                     "the next `dedup run` upgrades it (or upgrade dedup)")
                return
            self.db = sqlite3.connect(self.path, isolation_level=None)
            # A run writes in one large transaction. A rollback journal copies only the
            # pages it changes that existed before (few, for a night; none, for a fresh
            # database), where WAL writes every new page twice: 5 s of a 1.28M-item commit.
            self.db.execute("PRAGMA journal_mode=DELETE")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA busy_timeout=60000")
            self.db.execute("PRAGMA cache_size=-262144")  # 256 MiB of page cache: a big night inserts in bulk
            fresh = self._check_ours()
            if fresh:
                self.db.execute(_META)
            version = self.meta("schema_version")
            if version is not None and int(version) > SCHEMA_VERSION:
                raise StoreError(f"{self.path}: made by a newer dedup (schema {version}); upgrade dedup")
            if version is not None and int(version) < SCHEMA_VERSION:
                self._upgrade(int(version))
            self.db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a usable dedup database ({exc})") from exc
        except ValueError as exc:  # a schema_version that is not a number
            raise StoreError(f"{self.path}: not a dedup database (schema_version {exc})") from exc
        if version is None:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def _check_ours(self) -> bool:
        """Whether the database is new (no table at all); raises StoreError if it holds another
        application's tables, so that no command adds ours beside them."""
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            if self.readonly:
                raise StoreError(f"{self.path}: holds no dedup database (no tables)")
            return True
        if "meta" not in tables or self.db.execute(
                "SELECT 1 FROM meta WHERE key = 'schema_version'").fetchone() is None:
            raise StoreError(f"{self.path}: not a dedup database (it holds tables {', '.join(sorted(tables)[:5])}); "
                             "give --db a dedup database or a new path")
        return False

    def _upgrade(self, version: int) -> None:
        """Bring a database of an older schema to this one: each recorded step (``MIGRATIONS``) in turn, all
        in one transaction."""
        if version not in MIGRATIONS:
            raise StoreError(f"{self.path}: schema {version} is too old to upgrade; run the exports again"
                             " into a new database")
        self.db.create_function("text_crc", 1, lambda text: text_crc(text.encode()), deterministic=True)
        with self.transaction() as con:
            for step in range(version, SCHEMA_VERSION):
                MIGRATIONS[step](con)
            for statement in statements(SCHEMA):  # the new tables and indexes (executescript would commit first)
                con.execute(statement)
            self.set_meta(con, "schema_version", str(SCHEMA_VERSION))

    def close(self) -> None:
        self.db.close()

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def drop_indexes(self, con: sqlite3.Connection) -> None:
        """Drop the indexes a bulk write fills (each built again by ``build_index``, in the same transaction).

        Filling a million-row table and then sorting once for each index costs
        about half of keeping the indexes up to date row by row, in random order.
        """
        for name in _BULK_INDEXES:
            con.execute(f"DROP INDEX IF EXISTS {name}")

    def build_index(self, con: sqlite3.Connection, name: str) -> None:
        con.execute(_BULK_INDEXES[name])

    def set_meta(self, con: sqlite3.Connection, key: str, value: str) -> None:
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # reads
    def select_in(self, sql: str, values: list, chunk: int = 900) -> list[tuple]:
        """Run ``sql`` with its ``IN (?)`` filled chunk by chunk (SQLite caps bound variables)."""
        out: list[tuple] = []
        for k in range(0, len(values), chunk):
            part = values[k:k + chunk]
            out.extend(self.db.execute(sql.replace("(?)", "(" + ",".join("?" * len(part)) + ")"), part))
        return out

    def contents_for(self, ids: list[str]) -> dict[str, str]:
        if self.db.execute("SELECT 1 FROM items LIMIT 1").fetchone() is None:
            return {}  # a first run: a million ids need not be looked up one chunk at a time
        return dict(self.select_in("SELECT id, content FROM items WHERE id IN (?)", ids))

    def nodes_for_texts(self, texts: list[str]) -> dict[str, tuple[int, str]]:
        """text -> (node_id, topic_id) of the texts already stored, found by their CRC."""
        wanted = set(texts)
        rows = self.select_in("SELECT text, node_id, topic_id FROM nodes WHERE text_crc IN (?)",
                              sorted({text_crc(text.encode()) for text in wanted}))
        return {text: (node_id, topic) for text, node_id, topic in rows if text in wanted}

    def node_rows(self, node_ids: list[int]) -> list[NodeRow]:
        """These nodes' rows."""
        return list(map(NodeRow._make, self.select_in("SELECT node_id, text, tokens, key, weight, topic_id, is_centre"
                                                      " FROM nodes WHERE node_id IN (?)", node_ids)))

    def nodes_of_topics(self, topic_ids: list[str]) -> list[NodeRow]:
        return list(map(NodeRow._make, self.select_in("SELECT node_id, text, tokens, key, weight, topic_id, is_centre"
                                                      " FROM nodes WHERE topic_id IN (?)", topic_ids)))

    def sample_nodes_of_topics(self, topic_ids: list[str], k: int) -> list[NodeRow]:
        """Up to ``k`` nodes per topic: its centre, then the most copied, ties by key (``sample_members``'
        order), chosen inside SQLite: a night reads a campaign's few texts that summarise it, not all of
        them. (An index in this order spared the sort but slowed every night's node writes as much.)"""
        return list(map(NodeRow._make, self.select_in(
            "SELECT node_id, text, tokens, key, weight, topic_id, is_centre FROM (SELECT *, ROW_NUMBER() OVER"
            " (PARTITION BY topic_id ORDER BY is_centre DESC, weight DESC, key) AS place FROM nodes"
            f" WHERE topic_id IN (?)) WHERE place <= {int(k)}", topic_ids)))

    def topic_totals(self, topic_ids: list[str]) -> dict[str, tuple[int, str, dict[str, int], str, str]]:
        """(size, representative_id, channel counts, first_received, last_received) of these stored topics."""
        rows = self.select_in("SELECT topic_id, size, representative_id, channels, first_received, last_received"
                              " FROM topics WHERE topic_id IN (?)", topic_ids)
        return {t: (size, rep, json.loads(channels or "{}"), first, last)
                for t, size, rep, channels, first, last in rows}

    def items_of_topics(self, topic_ids: list[str]) -> list[tuple[Item, int, str]]:
        """(item, node_id, topic_id) of every item in these topics."""
        rows = self.select_in("SELECT i.id, i.received_at, i.channel, i.content, i.title, i.source, i.line, n.text,"
                        " i.node_id, n.topic_id FROM nodes n JOIN items i ON i.node_id = n.node_id"
                        " WHERE n.topic_id IN (?)", topic_ids)
        return [(Item(*row[:8]), row[8], row[9]) for row in rows]

    def all_items(self) -> list[tuple[Item, int, str]]:
        rows = self.db.execute("SELECT i.id, i.received_at, i.channel, i.content, i.title, i.source, i.line, n.text,"
                               " i.node_id, n.topic_id FROM items i JOIN nodes n ON n.node_id = i.node_id")
        return [(Item(*row[:8]), row[8], row[9]) for row in rows]

    def all_nodes(self) -> list[NodeRow]:
        return list(map(NodeRow._make, self.db.execute("SELECT node_id, text, tokens, key, weight, topic_id,"
                                                       " is_centre FROM nodes ORDER BY node_id")))

    def item_node(self, item_id: str) -> tuple | None:
        """(node_id, text, tokens, topic_id) of an item's node, or None."""
        return self.db.execute("SELECT i.node_id, n.text, n.tokens, n.topic_id FROM items i JOIN nodes n"
                               " ON n.node_id = i.node_id WHERE i.id = ?", (item_id,)).fetchone()

    def centre_of(self, topic_id: str) -> tuple | None:
        """(node_id, text, tokens) of a topic's centre, or None."""
        return self.db.execute("SELECT node_id, text, tokens FROM nodes WHERE topic_id = ? AND is_centre = 1",
                               (topic_id,)).fetchone()

    def first_item_of_nodes(self) -> dict[int, str]:
        """node_id -> the smallest id of its items."""
        return dict(self.db.execute("SELECT node_id, MIN(id) FROM items GROUP BY node_id"))

    def topic_ids(self, among: list[str] | None = None) -> set[str]:
        """Every stored topic id, or those of ``among`` that are stored."""
        if among is None:
            return {row[0] for row in self.db.execute("SELECT topic_id FROM topics")}
        return {row[0] for row in self.select_in("SELECT topic_id FROM topics WHERE topic_id IN (?)", among)}

    def clear_nodes(self, con: sqlite3.Connection) -> None:
        """Delete every node (a full run or rebuild writes them all again, in its transaction)."""
        con.execute("DELETE FROM nodes")

    def renumber_items(self, con: sqlite3.Connection, rows: Iterable[tuple[int, str]]) -> None:
        """Give stored items new nodes, from (node_id, item id) rows (a rebuild)."""
        con.executemany("UPDATE items SET node_id = ? WHERE id = ?", rows)

    def next_node_id(self) -> int:
        return (self.db.execute("SELECT MAX(node_id) FROM nodes").fetchone()[0] or -1) + 1

    def next_topic_number(self) -> int:
        row = self.db.execute("SELECT MAX(CAST(SUBSTR(topic_id, 2) AS INTEGER)) FROM topics").fetchone()
        return (row[0] or 0) + 1

    def resolve(self, topic_id: str) -> tuple[str, list[str]]:
        """Follow merge redirects: the live topic id and the path taken."""
        path = [topic_id]
        while True:
            row = self.db.execute("SELECT merged_into FROM topics WHERE topic_id = ?", (path[-1],)).fetchone()
            if row is None:
                raise NotFound(f"no topic {topic_id!r} in {self.path}")
            if not row[0] or row[0] in path:
                return path[-1], path
            path.append(row[0])

    def topic(self, topic_id: str) -> dict:
        """A topic's columns; keywords (a list), channels (counts by kind) and department_top3 ([unit,
        probability] pairs) as values."""
        cur = self.db.execute("SELECT * FROM topics WHERE topic_id = ?", (topic_id,))
        names = [d[0] for d in cur.description]
        row = dict(zip(names, cur.fetchone()))
        for key in ("keywords", "channels", "department_top3"):
            row[key] = json.loads(row[key]) if row[key] else ([] if key != "channels" else {})
        return row

    def members(self, topic_id: str) -> list[tuple[str, str, str, str]]:
        return self.db.execute("SELECT i.id, i.received_at, i.channel, n.text FROM items i JOIN nodes n"
                               " ON n.node_id = i.node_id WHERE n.topic_id = ? ORDER BY i.id",
                               (topic_id,)).fetchall()

    def runs(self) -> list[dict]:
        cur = self.db.execute("SELECT * FROM runs ORDER BY run_id")
        names = [d[0] for d in cur.description]
        out = []
        for row in cur:
            record = dict(zip(names, row))
            for key in ("inputs", "config", "counts", "timings"):
                record[key] = json.loads(record[key])
            out.append(record)
        return out

    def topic_rows(self, run_id: int | None = None, every: bool = True) -> tuple[list[tuple], list[tuple],
                                                                                 list[tuple]]:
        """Live topics as export rows (TOPIC_COLUMNS), largest first: all of them (unless ``every`` is
        False), those run ``run_id`` created, and those it changed without creating (read in one pass)."""
        where = "merged_into IS NULL" + ("" if every else " AND updated_run = ?")
        rows = self.db.execute(f"{TOPIC_SELECT}, created_run, updated_run FROM topics WHERE {where}",
                               () if every else (run_id,)).fetchall()
        # ORDER BY size DESC, topic_id, sorted here: SQLite sorted whole rows, texts and all (0.5 s of
        # 1.3 at 123k topics); ids are compared as SQLite compares them, ASCII or UTF-8 alike
        rows.sort(key=lambda r: (-r[1], r[0]))
        width = len(TOPIC_COLUMNS)
        return ([r[:width] for r in rows] if every else [], [r[:width] for r in rows if r[width] == run_id],
                [r[:width] for r in rows if r[width + 1] == run_id and r[width] != run_id])

    def topic_sizes(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT topic_id, size FROM topics WHERE merged_into IS NULL AND size > 0"))

    def assignments(self) -> Iterator[tuple[str, str]]:
        return self.db.execute(ASSIGNMENTS_SQL)

    def last_run(self) -> int:
        """The id of the latest committed run (0 for none)."""
        return self.db.execute("SELECT COALESCE(MAX(run_id), 0) FROM runs").fetchone()[0]

    def counts(self) -> dict[str, int]:
        q = self.db.execute
        return {"items": q("SELECT COUNT(*) FROM items").fetchone()[0],
                "distinct_texts": q("SELECT COUNT(*) FROM nodes").fetchone()[0],
                "topics": q("SELECT COUNT(*) FROM topics WHERE merged_into IS NULL").fetchone()[0],
                "merged_topics": q("SELECT COUNT(*) FROM topics WHERE merged_into IS NOT NULL").fetchone()[0],
                "runs": q("SELECT COUNT(*) FROM runs").fetchone()[0],
                "rejected": q("SELECT COUNT(*) FROM rejected").fetchone()[0]}

    # writes, inside one transaction
    def write_run(self, con: sqlite3.Connection, *, kind: str, started_at: str, finished_at: str | None, inputs: list,
                  config: dict, counts: dict, timings: dict) -> int:
        cur = con.execute("INSERT INTO runs (kind, started_at, finished_at, inputs, config, counts, timings)"
                          " VALUES (?, ?, ?, ?, ?, ?, ?)",
                          (kind, started_at, finished_at, json.dumps(inputs, ensure_ascii=False),
                           json.dumps(config, ensure_ascii=False), json.dumps(counts), json.dumps(timings)))
        return int(cur.lastrowid)

    def finish_run(self, con: sqlite3.Connection, run_id: int, *, finished_at: str, counts: dict,
                   timings: dict) -> None:
        con.execute("UPDATE runs SET finished_at = ?, counts = ?, timings = ? WHERE run_id = ?",
                    (finished_at, json.dumps(counts), json.dumps(timings), run_id))

    # Texts are bound as their UTF-8 bytes and cast back to TEXT (the same stored value): binding a
    # str makes Python keep a UTF-8 copy inside the string for as long as it lives, which in a full
    # run's forked writer is every content and text of the run (430 MB at 1.28M items).

    def write_nodes(self, con: sqlite3.Connection, rows: Iterable[NodeRow]) -> None:
        """Insert or replace these nodes."""
        con.executemany("INSERT OR REPLACE INTO nodes VALUES (?, CAST(? AS TEXT), ?, ?, ?, ?, ?, ?)",
                        map(_bound_node, rows))

    def set_node_topics(self, con: sqlite3.Connection, rows: Iterable[tuple[str, int, int]], expected: int) -> None:
        """Set (topic_id, is_centre) of nodes written before their topics were known, from
        (topic_id, is_centre, node_id) rows; every one of the ``expected`` nodes must be there."""
        cur = con.executemany("UPDATE nodes SET topic_id = ?, is_centre = ? WHERE node_id = ?", rows)
        if cur.rowcount != expected:
            raise StoreError(f"{self.path}: {cur.rowcount} of {expected} nodes were given their topics")

    def write_items(self, con: sqlite3.Connection, run_id: int, rows: Iterable[tuple[Item, int]]) -> None:
        """Insert (item, node_id) rows, best in id order: the primary-key index then grows at its end."""
        con.executemany("INSERT INTO items VALUES (?, ?, ?, CAST(? AS TEXT), CAST(? AS TEXT), ?, ?, ?, ?)",
                        ((it.id, it.received_at, it.channel, it.content.encode(), it.title.encode(), it.source,
                          it.line, run_id, node) for it, node in rows))

    def move_topics(self, con: sqlite3.Connection, moves: dict[str, str]) -> None:
        """The nodes (and so the items) of topic a now belong to topic b, for each a -> b."""
        con.executemany("UPDATE nodes SET topic_id = ? WHERE topic_id = ?", ((b, a) for a, b in moves.items()))

    def write_topics(self, con: sqlite3.Connection, run_id: int, records: Iterable[tuple],
                     merged: dict[str, str], rejected: list[Rejection], flagged: Sequence[Rejection] = ()) -> None:
        """Upsert ``topic_records(...)``, mark merged topics, store the rejected and flagged rows and the
        run's lists."""
        con.executemany(
            "INSERT INTO topics (topic_id, size, representative_id, representative_text, keywords, channels,"
            " first_received, last_received, department, department_score, department_top3, needs_review,"
            " created_run, updated_run, merged_into) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)"
            " ON CONFLICT(topic_id) DO UPDATE SET size=excluded.size, representative_id=excluded.representative_id,"
            " representative_text=excluded.representative_text, keywords=excluded.keywords,"
            " channels=excluded.channels, first_received=excluded.first_received,"
            " last_received=excluded.last_received, department=excluded.department,"
            " department_score=excluded.department_score, department_top3=excluded.department_top3,"
            " needs_review=excluded.needs_review, updated_run=excluded.updated_run, merged_into=NULL",
            ((*record, run_id, run_id) for record in records))
        con.executemany("UPDATE topics SET merged_into = ?, size = 0, updated_run = ? WHERE topic_id = ?",
                        ((into, run_id, old) for old, into in merged.items()))
        con.executemany("INSERT INTO rejected VALUES (?, ?, ?, ?, ?)",
                        ((run_id, r.file, r.line, r.id, r.reason) for r in rejected))
        con.executemany("INSERT INTO flagged VALUES (?, ?, ?, ?, ?)",
                        ((run_id, r.file, r.line, r.id, r.reason) for r in flagged))
        # the night's lists, kept so that they can be written again (`dedup export --run N`)
        con.execute("INSERT INTO run_topics SELECT ?, topic_id, CASE WHEN merged_into IS NOT NULL THEN 'merged'"
                    " WHEN created_run = ? THEN 'new' ELSE 'changed' END, merged_into FROM topics"
                    " WHERE updated_run = ?", (run_id, run_id, run_id))

    def purge_raw(self, before: str) -> int:
        """Replace the raw content and title of items received before ``before`` with their masked forms
        (the only raw texts the database holds); returns how many items changed. Repeats of a purged
        item are then compared with its masked text."""
        import unicodedata

        from dedup.core.privacy import mask

        def masked(text: str) -> str:  # as normalisation sees a text: full-width digits and spaces folded
            return mask(unicodedata.normalize("NFKC", text))

        self.db.create_function("dedup_mask", 1, masked, deterministic=True)
        with self.transaction() as con:
            cur = con.execute("UPDATE items SET content = dedup_mask(content), title = dedup_mask(title)"
                              " WHERE received_at < ? AND (content != dedup_mask(content)"
                              " OR title != dedup_mask(title))", (before,))
            return cur.rowcount

    def mark_exported(self, run_ids: Iterable[int]) -> None:
        """Record that the exports of these runs were written whole."""
        stamp = dt.datetime.now().isoformat(timespec="seconds")
        with self.transaction() as con:
            con.executemany("UPDATE runs SET exported_at = ? WHERE run_id = ?", ((stamp, r) for r in run_ids))

    def unexported_run(self) -> int | None:
        """The latest run, if its exports were never written whole (interrupted after its commit)."""
        row = self.db.execute("SELECT run_id, exported_at FROM runs ORDER BY run_id DESC LIMIT 1").fetchone()
        return row[0] if row is not None and row[1] is None else None

    def run_lists(self, run_id: int) -> tuple[list[tuple], list[tuple]]:
        """The topics run ``run_id`` created and those it changed, as export rows as they stand now; the
        changed ones end with the ids merged into them that run (``merged_from``)."""
        rows = self.db.execute(f"{TOPIC_SELECT}, r.status FROM run_topics r JOIN topics USING (topic_id)"
                               " WHERE r.run_id = ? AND r.status != 'merged'", (run_id,)).fetchall()
        rows.sort(key=lambda r: (-r[1], r[0]))
        sources: dict[str, list[str]] = {}
        for old, into in self.db.execute("SELECT topic_id, merged_into FROM run_topics WHERE run_id = ?"
                                         " AND status = 'merged' ORDER BY topic_id", (run_id,)):
            sources.setdefault(into, []).append(old)
        width = len(TOPIC_COLUMNS)
        return ([r[:width] for r in rows if r[width] == "new"],
                [(*r[:width], " ".join(sources.get(r[0], []))) for r in rows if r[width] == "changed"])

    def problems(self, run_id: int) -> tuple[list[Rejection], list[Rejection]]:
        """The rows run ``run_id`` rejected, and those it kept with metadata filled in."""
        return tuple([Rejection(*row) for row in self.db.execute(
            f"SELECT file, line, item_id, {column} FROM {table} WHERE run_id = ? ORDER BY rowid", (run_id,))]
            for table, column in (("rejected", "reason"), ("flagged", "note")))



def _bound_node(row: tuple) -> tuple:
    """A node row as ``write_nodes`` binds it: its text as UTF-8 bytes, and their CRC last."""
    data = row[1].encode()
    return (row[0], data, *row[2:], text_crc(data))


def topic_records(topics: Sequence[TopicSummary]) -> list[tuple]:
    """Topics as the topics table holds them, less the run columns: keywords, channel counts and the top-3
    units as JSON, the rest as the summary has them."""
    out = []
    for t in topics:
        keywords, channels, top3 = json_fields(list(t.keywords), {c: n for c, n in t.channels.items() if n},
                                                [[unit, p] for unit, p in t.department_top3])
        out.append((t.topic_id, t.size, t.representative_id, t.representative_text, keywords, channels,
                    t.first_received, t.last_received, t.department, t.department_score, top3,
                    int(t.needs_review)))
    return out


@contextmanager
def writing(store: Store) -> Iterator[sqlite3.Connection]:
    """One transaction under the run lock: a person's decision or an order's move never lands in the middle
    of a run (while one runs, StoreError says so at once)."""
    with run_lock(store.path), store.transaction() as con:
        yield con
