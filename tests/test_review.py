"""Staff decisions: made by the library, the command line and the page; logged; honoured by the next night."""

import csv
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import sample_parts, write_csv

from dedup.batch.pipeline import run
from dedup.cli import main
from dedup.config import Config, load_config
from dedup.review import decide
from dedup.review.decide import DecisionError, Reviewer, Stale
from dedup.storage import decisions as db
from dedup.storage.schema import SCHEMA_VERSION
from dedup.storage.store import Store

ROOT = Path(__file__).resolve().parents[1]
REVIEWER, OTHER, VIEWER = Reviewer("王芳"), Reviewer("李强"), Reviewer("赵敏", "viewer")


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> tuple[Path, Path]:
    """A database of the bundled sample's first 1,500 items, and the export rows of the rest."""
    folder = tmp_path_factory.mktemp("review")
    first, _rest = sample_parts(folder, (1500,))
    run([first], folder / "d.sqlite", None, _config())
    return folder / "d.sqlite", folder


def _config() -> Config:
    return load_config(ROOT / "sample_data" / "dedup.toml")


@pytest.fixture
def store(base, tmp_path) -> Store:
    path = tmp_path / "d.sqlite"
    shutil.copy(base[0], path)
    for extra in Path(base[0]).parent.glob("d.sqlite.index"):
        shutil.copytree(extra, tmp_path / extra.name)
    s = Store(path)
    yield s
    s.close()


def _largest(store: Store, n: int = 1) -> list[str]:
    return [r[0] for r in store.db.execute("SELECT topic_id FROM topics WHERE merged_into IS NULL"
                                           " ORDER BY size DESC, topic_id LIMIT ?", (n,))]


def _texts_of(store: Store, topic_id: str) -> list[tuple[str, str]]:
    """(item id, text) of a topic's members, one item per distinct text."""
    return store.db.execute("SELECT MIN(i.id), n.text FROM items i JOIN nodes n ON n.node_id = i.node_id"
                            " WHERE n.topic_id = ? GROUP BY n.node_id ORDER BY MIN(i.id)", (topic_id,)).fetchall()


def _night(store: Store, rows: list[list[str]], folder: Path, out: Path | None = None):
    path = write_csv(folder / "night.csv", rows, ["id", "received_at", "channel", "content"])
    return run([path], store.path, out, _config())


def _raw(store: Store, item_id: str) -> str:
    return store.db.execute("SELECT content FROM items WHERE id = ?", (item_id,)).fetchone()[0]


def test_split_members_stay_out_when_copies_come_the_next_night(store, tmp_path):
    topic = _largest(store)[0]
    (a, _), (b, _) = _texts_of(store, topic)[1:3]
    number, target = decide.split(store, REVIEWER, topic, [a, b])
    assert target != topic and db.state(store.db, target)["size"] >= 2
    copies = [[f"NEW{k}", "2019-05-01 09:00:00", "wechat", _raw(store, i)] for k, i in enumerate((a, b, a))]
    _night(store, copies, tmp_path)
    got = dict(store.db.execute("SELECT i.id, n.topic_id FROM items i JOIN nodes n ON n.node_id = i.node_id"
                                " WHERE i.id LIKE 'NEW%'"))
    assert set(got.values()) == {target}
    assert db.apart(store.db) == {frozenset((topic, target))}
    entry = db.log(store.db)[-1]
    assert (entry["decision_id"], entry["who"], entry["kind"], entry["target"]) == (number, "王芳", "split", target)


def test_a_reroute_binds_the_next_night_and_becomes_training_history(store, tmp_path):
    topic = _largest(store)[0]
    unit = next(u for u in db.units(store.db) if u != db.state(store.db, topic)["department"])
    decide.reroute(store, REVIEWER, topic, unit, "辖区调整")
    item = _texts_of(store, topic)[0][0]
    out = tmp_path / "out"
    _night(store, [["AGAIN1", "2019-05-02 08:00:00", "phone", _raw(store, item)]], tmp_path, out)
    with (out / "topics.csv").open(encoding="utf-8-sig") as fh:
        row = next(r for r in csv.DictReader(fh) if r["topic_id"] == topic)
    assert row["department"] == unit and row["department_score"] == "1.000" and row["needs_review"] == "0"
    history = tmp_path / "history.csv"
    result = CliRunner().invoke(main, ["decisions", "--db", str(store.path), "--history", str(history)])
    assert result.exit_code == 0, result.output
    with history.open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["department"] for r in rows} == {unit} and "AGAIN1" in {r["id"] for r in rows}


def test_merge_redirects_and_undo_restores(store):
    a, b = _largest(store, 2)
    size_a, size_b = db.state(store.db, a)["size"], db.state(store.db, b)["size"]
    number = decide.merge(store, OTHER, b, a)
    assert store.resolve(b) == (a, [b, a]) and db.state(store.db, a)["size"] == size_a + size_b
    decide.undo(store, REVIEWER, number)
    assert store.resolve(b)[0] == b
    assert (db.state(store.db, a)["size"], db.state(store.db, b)["size"]) == (size_a, size_b)
    with pytest.raises(DecisionError, match="undone by"):
        decide.undo(store, REVIEWER, number)


def test_undo_of_a_split_puts_the_members_back(store):
    topic = _largest(store)[0]
    size = db.state(store.db, topic)["size"]
    number, target = decide.split(store, REVIEWER, topic, [_texts_of(store, topic)[1][0]])
    decide.undo(store, REVIEWER, number)
    assert db.state(store.db, topic)["size"] == size
    assert db.state(store.db, target)["merged_into"] == topic  # the emptied new topic redirects
    assert db.apart(store.db) == set()


def test_a_stale_decision_names_who_changed_the_topic(store):
    topic = _largest(store)[0]
    seen = db.token(db.state(store.db, topic))
    decide.confirm(store, OTHER, topic, seen)
    with pytest.raises(Stale, match="李强"):
        decide.reroute(store, REVIEWER, topic, "市城管局", "reason", seen)
    assert db.state(store.db, topic)["staff_unit"] == ""


def test_refused_decisions_write_nothing(store):
    topic = _largest(store)[0]
    before = store.db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0]
    with pytest.raises(DecisionError, match="viewer"):
        decide.confirm(store, VIEWER, topic)
    with pytest.raises(DecisionError, match="reason"):
        decide.reroute(store, REVIEWER, topic, "市城管局", " ")
    with pytest.raises(DecisionError, match="not members"):
        decide.split(store, REVIEWER, topic, ["NO-SUCH-ITEM"])
    with pytest.raises(DecisionError, match="every text"):
        decide.split(store, REVIEWER, topic, [i for i, _ in _texts_of(store, topic)])
    assert store.db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == before


def test_the_log_is_append_only(store):
    decide.confirm(store, REVIEWER, _largest(store)[0])
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.db.execute("UPDATE decisions SET who = 'someone else'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.db.execute("DELETE FROM decisions")


def test_bulk_confirm_over_a_filter(store):
    unit = db.units(store.db)[0]
    f = db.QueueFilter(unit=unit)
    expected = len(db.matching(store.db, f))
    assert decide.bulk(store, REVIEWER, "confirm", f) == expected > 0
    assert db.matching(store.db, f) == []  # confirmed topics leave the open queue


def test_the_queue_puts_doubtful_topics_first(store):
    rows, total = db.queue(store.db, db.QueueFilter(status="all"), 0, 50)
    assert len(rows) == min(50, total)
    flagged = [r["needs_review"] for r in rows]
    assert flagged == sorted(flagged, reverse=True)
    scores = [r["department_score"] for r in rows if r["needs_review"] == rows[0]["needs_review"]]
    assert scores == sorted(scores)


def test_decide_from_the_command_line(store):
    topic = _largest(store)[0]
    store.close()
    runner = CliRunner()
    ok = runner.invoke(main, ["decide", "confirm", topic, "--db", str(store.path), "--who", "王芳"])
    assert ok.exit_code == 0 and "confirmed" in ok.output
    bad = runner.invoke(main, ["decide", "merge", topic, "T9999999", "--db", str(store.path), "--who", "王芳"])
    assert bad.exit_code == 2 and "no topic" in bad.output and "Traceback" not in bad.output
    listed = runner.invoke(main, ["decisions", "--db", str(store.path)])
    assert "王芳: confirm " + topic in listed.output


def test_a_schema_5_database_is_upgraded_with_its_topics_kept(store):
    """Schema 6 adds the decisions log and three topic columns; a schema-5 database gains them on opening."""
    topics = store.db.execute("SELECT topic_id, size, department FROM topics ORDER BY topic_id").fetchall()
    con = store.db
    con.execute("DROP TABLE decisions")
    for column in ("revision", "confirmed", "staff_unit"):
        con.execute(f"ALTER TABLE topics DROP COLUMN {column}")
    con.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
    store.close()
    upgraded = Store(store.path)
    assert upgraded.meta("schema_version") == str(SCHEMA_VERSION)
    assert upgraded.db.execute("SELECT topic_id, size, department FROM topics ORDER BY topic_id").fetchall() == topics
    decide.confirm(upgraded, REVIEWER, topics[0][0])
    assert db.state(upgraded.db, topics[0][0])["confirmed"] == 1
    upgraded.close()


def _membership(store: Store, topic_id: str) -> set[str]:
    return {r[0] for r in store.db.execute("SELECT i.id FROM items i JOIN nodes n ON n.node_id = i.node_id"
                                           " WHERE n.topic_id = ?", (topic_id,))}


def test_a_rebuild_keeps_the_topics_people_decided_on(store, tmp_path):
    from dedup.batch.pipeline import rebuild

    a, b, c, d = _largest(store, 4)
    _, split_out = decide.split(store, REVIEWER, a, [_texts_of(store, a)[1][0]])
    decide.confirm(store, REVIEWER, b)
    unit = next(u for u in db.units(store.db) if u != db.state(store.db, c)["department"])
    decide.reroute(store, REVIEWER, c, unit, "辖区")
    decide.merge(store, REVIEWER, d, b)
    kept = {t: _membership(store, t) for t in (a, split_out, b, c)}
    store.close()
    # a much lower threshold would regroup everything; the held topics must not move
    rebuild(store.path, tmp_path / "out", _config().with_overrides({"cluster.threshold": 0.2}))
    after = Store(store.path)
    try:
        assert {t: _membership(after, t) for t in kept} == kept
        assert db.state(after.db, c)["department"] == unit and db.state(after.db, b)["confirmed"] == 1
        assert after.resolve(d)[0] == b
    finally:
        after.close()


def test_hold_matches_its_plain_definition():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from dedup.batch.held import hold, hold_reference

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, 5), st.integers(1, 4), st.integers(-1, 2)), min_size=1, max_size=14),
           st.randoms(use_true_random=False))
    def check(rows, rnd):
        clusters = sorted({t for t, _, _ in rows})
        node_topic = np.array([clusters.index(t) for t, _, _ in rows])
        centre = np.array([rnd.choice([k for k, t in enumerate(node_topic) if t == c]) for c in range(len(clusters))])
        weight, held = np.array([w for _, w, _ in rows]), np.array([h for _, _, h in rows])
        got = hold(node_topic, centre, weight, held)
        assert (got[0].tolist(), got[1].tolist(), got[2]) == hold_reference(
            node_topic.tolist(), centre.tolist(), weight.tolist(), held.tolist())

    check()


def test_a_topic_whose_members_stray_from_the_centre_comes_first(store):
    from dedup.review import cohesion

    store.db.execute("UPDATE topics SET department_score = 0.95, needs_review = 0")
    assert cohesion.refresh(store) == store.db.execute(
        "SELECT COUNT(*) FROM topics WHERE merged_into IS NULL AND size > 0").fetchone()[0]
    assert cohesion.refresh(store) == 0  # nothing changed since
    rows, _ = db.queue(store.db, db.QueueFilter(status="all"), 0, 50)
    least = [r["least"] for r in rows]
    assert least == sorted(least) and least[0] < 1.0
    topic = _largest(store)[0]
    decide.split(store, REVIEWER, topic, [_texts_of(store, topic)[1][0]])
    assert cohesion.refresh(store) == 2  # the split topic and the new one


def test_least_similarity_of_members_to_the_centre():
    from dedup.review.cohesion import least_similarity

    rows = [("T1", "路灯 不亮 北门", 1), ("T1", "路灯 不亮 南门", 0), ("T1", "路灯 不亮 北门", 0), ("T2", "暖气 不热", 1)]
    assert least_similarity(rows) == {"T1": 0.5, "T2": 1.0}


def test_an_undo_that_later_decisions_depend_on_is_refused(store):
    a, b, c = _largest(store, 3)
    first = decide.reroute(store, REVIEWER, a, "市城管局", "辖区")
    decide.reroute(store, REVIEWER, a, "市水利局", "再改")
    with pytest.raises(DecisionError, match="undo that one first"):
        decide.undo(store, REVIEWER, first)
    assert db.state(store.db, a)["staff_unit"] == "市水利局"
    split, target = decide.split(store, REVIEWER, b, [_texts_of(store, b)[1][0]])
    decide.merge(store, REVIEWER, b, c)
    with pytest.raises(DecisionError, match="undo that one first"):
        decide.undo(store, REVIEWER, split)
    live = store.db.execute("SELECT COUNT(*) FROM items i JOIN nodes n ON n.node_id = i.node_id JOIN topics t"
                            " ON t.topic_id = n.topic_id WHERE t.merged_into IS NULL").fetchone()[0]
    assert live == store.db.execute("SELECT COUNT(*) FROM items").fetchone()[0]  # no item left in a dead topic
