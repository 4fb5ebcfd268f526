"""A night summarises the topics it touched from stored totals and samples; held to summarising them from
every item (``night_summaries_reference``), night after night, with merges."""

import csv
import sqlite3

import pytest
from conftest import write_csv

from dedup.batch import pipeline
from dedup.batch.pipeline import run
from dedup.batch.summaries import night_summaries, night_summaries_reference
from dedup.config import Config
from dedup.tools.sample import generate

NO_MODEL = "no-model.joblib"
LOOSE = Config().with_overrides({"cluster.bands": 42, "cluster.rows": 3, "cluster.threshold": 0.4,
                                 "cluster.scorer": "none"})
STRICT = LOOSE.with_overrides({"cluster.threshold": 0.95})


def topics_table(db):
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT topic_id, size, representative_id, representative_text, keywords, channels,"
                           " first_received, last_received, merged_into FROM topics ORDER BY topic_id").fetchall()
    finally:
        con.close()


def nights(tmp_path, name, files, configs, summaries, monkeypatch):
    monkeypatch.setattr(pipeline, "night_summaries", summaries)
    db = tmp_path / f"{name}.sqlite"
    for path, config in zip(files, configs):
        run([path], db, None, config, NO_MODEL)
    return topics_table(db)


def test_generated_nights_summarise_as_from_every_item(tmp_path, monkeypatch):
    sample = generate(2400, seed=3, history=0)
    rows = sorted(sample.export, key=lambda r: (r["received_at"], r["id"]))
    files = []
    for k in range(4):
        path = tmp_path / f"night{k}.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, ["id", "received_at", "channel", "content"], extrasaction="ignore")
            w.writeheader()
            w.writerows(rows[k * 600:(k + 1) * 600] + rows[:40])  # and some repeats of stored items
        files.append(path)
    config = Config().with_overrides({"places.gazetteer": str(sample.gazetteer.path)})
    fast = nights(tmp_path, "fast", files, [config] * 4, night_summaries, monkeypatch)
    slow = nights(tmp_path, "slow", files, [config] * 4, night_summaries_reference, monkeypatch)
    assert fast == slow
    assert max(size for _, size, *_ in fast) > 20  # topics grew over the nights


@pytest.mark.parametrize("summaries", [night_summaries, night_summaries_reference])
def test_a_merge_adds_the_merged_topics_totals(tmp_path, monkeypatch, summaries):
    a = ("M1", "2019-03-01 08:00:00", "电话", "古楼街道星光花园门口的路灯坏了三盏晚上出行非常不方便请尽快维修")
    b = ("M2", "2019-03-02 08:00:00", "微信", "古楼街道星光花园门口的路灯坏了三盏晚上出行特别危险老人容易摔倒")
    bridge = ("M3", "2019-03-03 08:00:00", "网站", "古楼街道星光花园门口的路灯坏了三盏晚上出行非常不方便老人容易摔倒")
    files = [write_csv(tmp_path / "n1.csv", [a, b]), write_csv(tmp_path / "n2.csv", [bridge])]
    table = nights(tmp_path, "merge", files, [STRICT, LOOSE], summaries, monkeypatch)
    live = [row for row in table if row[-1] is None]
    assert len(live) == 1
    topic_id, size, rep, _, _, channels, first, last, _ = live[0]
    assert (size, rep, first, last) == (3, "M1", "2019-03-01 08:00:00", "2019-03-03 08:00:00")
    assert channels == '{"phone": 1, "website": 1, "wechat": 1}'

