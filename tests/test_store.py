"""The run's transaction, written ahead by a forked process: all or nothing, whatever happens."""

import multiprocessing as mp
import os
import signal
import sqlite3
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from dedup.runtime.parallel import can_fork
from dedup.storage.store import SCHEMA_VERSION, Store, StoreError
from dedup.storage.transaction import Transaction

ahead = pytest.mark.parametrize("ahead", [False, pytest.param(True, marks=pytest.mark.skipif(
    not can_fork(), reason="writing ahead needs fork"))])


def _rows(path: Path) -> list[tuple]:
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT key, value FROM meta WHERE key LIKE 'k%' ORDER BY key").fetchall()
    finally:
        con.close()


def _body(store, con, later):
    store.set_meta(con, "k1", "written ahead")
    pid = os.getpid()
    value = later()
    store.set_meta(con, "k2", value)
    return pid


@ahead
def test_commits_what_it_wrote_ahead_and_what_it_was_sent(tmp_path, ahead):
    store = Store(tmp_path / "db.sqlite")
    writer = Transaction(store, _body, ahead=ahead)
    assert _rows(store.path) == []  # nothing visible before the commit
    pid = writer.commit("sent at commit")
    assert _rows(store.path) == [("k1", "written ahead"), ("k2", "sent at commit")]
    assert (pid != os.getpid()) == ahead
    assert writer.result() == pid  # asked again: the same answer, the body not run again
    writer.abandon()  # after a commit: nothing to undo
    assert len(_rows(store.path)) == 2


def _two_part_body(store, con, later):
    store.set_meta(con, "k1", "written ahead")
    store.set_meta(con, "k2", later())
    store.set_meta(con, "k3", later())


@ahead
def test_messages_reach_the_body_in_the_order_sent(tmp_path, ahead):
    store = Store(tmp_path / "db.sqlite")
    writer = Transaction(store, _two_part_body, ahead=ahead)
    writer.send("first")
    assert _rows(store.path) == []
    writer.commit("second")
    assert _rows(store.path) == [("k1", "written ahead"), ("k2", "first"), ("k3", "second")]


@pytest.mark.skipif(not can_fork(), reason="writing ahead needs fork")
def test_the_run_goes_on_while_a_message_larger_than_the_pipe_waits_for_the_writer(tmp_path):
    went_on = mp.get_context("fork").Event()

    def body(store, con, later):
        if not went_on.wait(60):  # the run is stuck in send() until this body reads: it never will
            raise RuntimeError("the run waited for the writer to read its message")
        store.set_meta(con, "k1", str(len(later())))

    store = Store(tmp_path / "db.sqlite")
    writer = Transaction(store, body, ahead=True)
    writer.send("x" * 4_000_000)  # a pipe holds 64 KiB
    went_on.set()
    writer.result()
    assert _rows(store.path) == [("k1", "4000000")]


@ahead
def test_abandoned_between_messages_leaves_nothing(tmp_path, ahead):
    store = Store(tmp_path / "db.sqlite")
    writer = Transaction(store, _two_part_body, ahead=ahead)
    writer.send("first")
    writer.abandon()
    assert _rows(store.path) == []
    writer = Transaction(store, _two_part_body, ahead=ahead)
    with pytest.raises(StoreError):  # asked for a message never sent: rolled back, said why
        writer.commit("only one")
    assert _rows(store.path) == []


@ahead
def test_abandoned_or_failed_transaction_leaves_nothing(tmp_path, ahead):
    store = Store(tmp_path / "db.sqlite")
    writer = Transaction(store, _body, ahead=ahead)
    writer.abandon()
    assert _rows(store.path) == []

    def failing(store, con, later):
        store.set_meta(con, "k1", "half")
        raise ValueError("disk on fire")

    writer = Transaction(store, failing, ahead=ahead)
    with pytest.raises(ValueError, match="disk on fire"):
        writer.commit("anything")
    assert _rows(store.path) == []
    store.set_meta(store.db, "k3", "the database is usable after it")
    assert _rows(store.path) == [("k3", "the database is usable after it")]


@pytest.mark.skipif(not can_fork(), reason="writing ahead needs fork")
def test_killed_run_rolls_back_what_was_written_ahead(tmp_path):
    """kill -9 while the forked writer holds the transaction: its rows never appear, the database opens."""
    db = tmp_path / "db.sqlite"
    script = (
        "import sys, time\n"
        "from dedup.storage.store import Store, StoreError\nfrom dedup.storage.transaction import Transaction\n"
        "def body(store, con, later):\n"
        "    con.executemany('INSERT INTO meta VALUES (?, ?)', ((f'k{i}', 'x') for i in range(20000)))\n"
        "    print('written', flush=True)\n"
        "    return later()\n"
        f"store = Store({str(db)!r})\n"
        "Transaction(store, body, ahead=True)\n"
        "time.sleep(60)\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "written"  # 20,000 rows inserted, not committed
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _rows(db) == []
    store = Store(db)  # and the next run can write
    Transaction(store, _body).commit("next")
    assert [k for k, _ in _rows(db)] == ["k1", "k2"]


def test_texts_are_stored_as_text_and_leave_no_utf8_copy_behind(tmp_path):
    """Contents, titles and node texts round-trip exactly (NUL, emoji, empty) as TEXT, and writing them
    does not make Python cache a UTF-8 copy inside each string (hundreds of MB in a full run's writer)."""
    from dedup.core.records import Item

    store = Store(tmp_path / "db.sqlite")
    texts = ["市民来电反映\x00路灯不亮", "", "噪音扰民😀", "ascii only"]
    items = [Item(f"A{k}", "2019-03-01 08:00:00", "phone", text, title=text[:2], source="f.csv", line=k + 2,
                  text=text) for k, text in enumerate(texts)]
    sizes = [sys.getsizeof(t) for t in texts]
    with store.transaction() as con:
        run_id = store.write_run(con, kind="run", started_at="t", finished_at=None, inputs=[], config={},
                                 counts={}, timings={})
        store.write_nodes(con, [(k, text, "路灯 不亮", f"A{k}", 1, "T1", int(k == 0))
                                for k, text in enumerate(texts)])
        store.write_items(con, run_id, list(zip(items, range(len(items)))))
    assert [sys.getsizeof(t) for t in texts] == sizes
    stored = store.all_items()
    assert [(it.content, it.title, it.text) for it, _, _ in stored] == [(t, t[:2], t) for t in texts]
    assert store.db.execute("SELECT DISTINCT typeof(content), typeof(title) FROM items").fetchall() == [("text", "text")]
    assert store.db.execute("SELECT DISTINCT typeof(text) FROM nodes").fetchall() == [("text",)]
    assert store.db.execute("SELECT node_id FROM nodes WHERE text = ?", ("噪音扰民😀",)).fetchall() == [(2,)]


_SCHEMA_2 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs (run_id INTEGER PRIMARY KEY, kind TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
    inputs TEXT NOT NULL, config TEXT NOT NULL, counts TEXT NOT NULL, timings TEXT NOT NULL);
CREATE TABLE nodes (node_id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE, tokens TEXT NOT NULL, key TEXT NOT NULL,
    weight INTEGER NOT NULL, topic_id TEXT NOT NULL, is_centre INTEGER NOT NULL);
CREATE INDEX nodes_topic ON nodes(topic_id);
CREATE TABLE items (id TEXT PRIMARY KEY, received_at TEXT NOT NULL, channel TEXT NOT NULL, content TEXT NOT NULL,
    title TEXT NOT NULL, source TEXT NOT NULL, line INTEGER NOT NULL, run_id INTEGER NOT NULL REFERENCES runs(run_id),
    node_id INTEGER NOT NULL REFERENCES nodes(node_id), topic_id TEXT NOT NULL);
CREATE INDEX items_topic ON items(topic_id);
INSERT INTO meta VALUES ('schema_version', '2');
INSERT INTO runs VALUES (1, 'run', 't', 't', '[]', '{}', '{}', '{}');
INSERT INTO nodes VALUES (0, '路灯不亮', '路灯 不亮', 'A1', 2, 'T0000001', 1), (1, '噪音扰民', '噪音 扰民', 'A3', 1,
    'T0000002', 1);
INSERT INTO items VALUES ('A1', 't', 'phone', '路灯不亮', '', 'f.csv', 2, 1, 0, 'T0000001'),
    ('A2', 't', 'email', '路灯不亮', '', 'f.csv', 3, 1, 0, 'T0000001'),
    ('A3', 't', 'app', '噪音扰民', '', 'f.csv', 4, 1, 1, 'T0000002');
"""


def test_a_schema_2_database_is_upgraded_in_place_keeping_every_assignment(tmp_path):
    db = tmp_path / "old.sqlite"
    con = sqlite3.connect(db)
    con.executescript(_SCHEMA_2)
    con.close()
    store = Store(db)
    try:
        assert store.meta("schema_version") == str(SCHEMA_VERSION)
        columns = [row[1] for row in store.db.execute("PRAGMA table_info(items)")]
        assert "topic_id" not in columns and columns[-1] == "node_id"
        indexes = {row[0] for row in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"items_node", "nodes_text", "nodes_topic"} <= indexes and "items_topic" not in indexes
        assert not any(name.startswith("sqlite_autoindex_nodes") for name in indexes)  # no unique text index
        assert store.nodes_for_texts(["路灯不亮", "没有这条"]) == {"路灯不亮": (0, "T0000001")}
        assert store.db.execute("SELECT text_crc FROM nodes ORDER BY node_id").fetchall() == \
            [(zlib.crc32("路灯不亮".encode()),), (zlib.crc32("噪音扰民".encode()),)]
        assert list(store.assignments()) == [("A1", "T0000001"), ("A2", "T0000001"), ("A3", "T0000002")]
        assert [m[0] for m in store.members("T0000001")] == ["A1", "A2"]
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        store.close()
    Store(db).close()  # opening it again changes nothing


def test_a_database_older_than_schema_2_is_refused_not_misread(tmp_path):
    db = tmp_path / "older.sqlite"
    con = sqlite3.connect(db)
    con.executescript(_SCHEMA_2.replace("'schema_version', '2'", "'schema_version', '1'"))
    con.close()
    with pytest.raises(StoreError, match="schema 1 is too old"):
        Store(db)


def test_texts_are_found_by_text_when_their_crcs_collide(tmp_path, monkeypatch):
    from dedup.storage import store as store_module

    monkeypatch.setattr(store_module, "text_crc", lambda data: 7)  # every text collides
    store = Store(tmp_path / "db.sqlite")
    texts = ["路灯不亮", "噪音扰民", "路灯不亮了"]
    with store.transaction() as con:
        store.write_nodes(con, [(k, text, "x", f"A{k}", 1, f"T{k}", 1) for k, text in enumerate(texts)])
    assert store.nodes_for_texts(["噪音扰民", "路灯不亮", "别的"]) == {"噪音扰民": (1, "T1"), "路灯不亮": (0, "T0")}


def _typed_body(store, con, later):
    store.set_meta(con, "k1", "written ahead")
    store.set_meta(con, "k2", later(str))


@ahead
def test_a_message_of_another_type_than_the_body_expects_writes_nothing(tmp_path, ahead):
    store = Store(tmp_path / "db.sqlite")
    writer = Transaction(store, _typed_body, ahead=ahead)
    writer.send(42)  # the run sent its stages in another order than the body reads them
    with pytest.raises(StoreError, match="expected str and the run sent int"):
        writer.result()
    assert _rows(store.path) == []


def test_a_schema_4_database_is_upgraded_to_json_values_and_exports_the_same_files(tmp_path, suggestions_csv):
    """Schema 4 kept keywords, channels and the top-3 units as the CSV cells' text; schema 5 keeps JSON
    values, and the files exported from an upgraded database are the same bytes."""
    import json

    from click.testing import CliRunner

    from dedup.cli import main

    db = tmp_path / "d.sqlite"
    runner = CliRunner()
    assert runner.invoke(main, ["run", str(suggestions_csv), "--db", str(db), "--out", str(tmp_path / "a"),
                                "--model", str(Path(__file__).parents[1] / "models" / "department.joblib")]
                         ).exit_code == 0
    before = (tmp_path / "a" / "topics.csv").read_bytes()
    con = sqlite3.connect(db)
    rows = con.execute("SELECT topic_id, keywords, channels, department_top3 FROM topics").fetchall()
    assert any(json.loads(top3) for _, _, _, top3 in rows)
    con.executemany("UPDATE topics SET keywords = ?, channels = ?, department_top3 = ? WHERE topic_id = ?", [
        (" ".join(json.loads(k)), ",".join(f"{c}:{n}" for c, n in json.loads(ch).items()),
         ", ".join(f"{u}:{p:.3f}" for u, p in json.loads(t3)), tid) for tid, k, ch, t3 in rows])
    con.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    store = Store(db)  # upgraded on opening for writing
    assert store.meta("schema_version") == str(SCHEMA_VERSION)
    upgraded = store.db.execute("SELECT topic_id, keywords, channels, department_top3 FROM topics").fetchall()
    store.close()
    assert sorted(upgraded) == sorted(
        (tid, k, ch, json.dumps([[u, round(p, 3)] for u, p in json.loads(t3)], ensure_ascii=False))
        for tid, k, ch, t3 in rows)
    assert runner.invoke(main, ["export", "--db", str(db), "--out", str(tmp_path / "b")]).exit_code == 0
    assert (tmp_path / "b" / "topics.csv").read_bytes() == before
