"""The database keeps each distinct text once, whichever schema made it."""

from __future__ import annotations

import sqlite3

import pytest

from dedup.config import Config
from dedup.pipeline import run
from dedup.store import Store

NODE = (1, "路灯坏了", "路灯 坏", "k1", 1, "T0000001", 1)


def _indexes(db) -> set[str]:
    with sqlite3.connect(db) as con:
        return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'nodes'")}


def _insert_twice(store: Store) -> None:
    with store.transaction() as con:
        store.write_nodes(con, [NODE])
    with pytest.raises(sqlite3.IntegrityError):
        with store.transaction() as con:
            con.execute("INSERT INTO nodes VALUES (?, ?, ?, ?, ?, ?, ?)", (2, *NODE[1:]))


def test_texts_are_unique_in_a_new_database(tmp_path):
    store = Store(tmp_path / "d.sqlite")
    assert "nodes_text" in _indexes(tmp_path / "d.sqlite")
    _insert_twice(store)


def test_full_run_builds_the_text_index_again(tmp_path, suggestions_csv):
    db = tmp_path / "d.sqlite"
    run([suggestions_csv], db, None, Config(), model_path="no-model.joblib")
    assert {"nodes_text", "nodes_topic"} <= _indexes(db)
    store = Store(db)
    text = store.db.execute("SELECT text FROM nodes LIMIT 1").fetchone()[0]
    with pytest.raises(sqlite3.IntegrityError):
        with store.transaction() as con:
            con.execute("INSERT INTO nodes VALUES (?, ?, ?, ?, ?, ?, ?)", (10**6, text, "", "", 1, "T9", 0))


def test_database_made_with_the_column_constraint_keeps_it(tmp_path, suggestions_csv):
    db = tmp_path / "old.sqlite"
    with sqlite3.connect(db) as con:  # the nodes table as schema 2 first made it
        con.execute("CREATE TABLE nodes (node_id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE, tokens TEXT NOT NULL,"
                    " key TEXT NOT NULL, weight INTEGER NOT NULL, topic_id TEXT NOT NULL, is_centre INTEGER NOT NULL)")
    run([suggestions_csv], db, None, Config(), model_path="no-model.joblib")
    names = _indexes(db)
    assert "nodes_text" not in names and any(n.startswith("sqlite_autoindex_nodes") for n in names)
    assert Store(db).counts()["distinct_texts"] > 0
