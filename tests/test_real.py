"""End to end on real messages the project did not write: the 2020 Teddy Cup 附件3 (4,326 messages).

The texts are read from ../shared/data/real (internal evaluation only, not in the repository); without
that folder the tests are skipped and say why. Labels: the data's own exact-duplicate groups, and the
pairs labelled by reading in benchmarks/labels/real_pairs.csv (docs/labelling.md).
"""

import csv
import datetime as dt
from collections import defaultdict
from pathlib import Path

import pytest

from dedup.config import Config
from dedup.pipeline import run

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real" / "teddy2020c_fj3_messages_groups.csv"
pytestmark = pytest.mark.skipif(not REAL.exists(), reason=f"real messages absent: {REAL} (see its README)")


def _time(value: str) -> str:
    for fmt in ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M"):
        try:
            return dt.datetime.strptime(value.strip(), fmt).strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            pass
    return value


@pytest.fixture(scope="module")
def topics(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("real")
    csv.field_size_limit(1 << 30)
    with REAL.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    export = tmp / "export.csv"
    with export.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "received_at", "channel", "title", "content"])
        for r in rows:
            w.writerow([r["message_id"], _time(r["time"]), "网站", r["subject"].strip(), " ".join(r["detail"].split())])
    run([export], tmp / "db.sqlite", tmp / "out", Config(), model_path=tmp / "no-model")
    with (tmp / "out" / "assignments.csv").open(encoding="utf-8-sig", newline="") as fh:
        assigned = {r["id"]: r["topic_id"] for r in csv.DictReader(fh)}
    return rows, assigned


def test_every_exact_duplicate_group_is_one_topic(topics):
    rows, assigned = topics
    groups = defaultdict(set)
    for r in rows:
        if r["exact_dup_group"]:
            groups[r["exact_dup_group"]].add(assigned[r["message_id"]])
    assert len(groups) == 52
    assert all(len(t) == 1 for t in groups.values())


def test_labelled_pairs_put_together_are_right(topics):
    """Of the labelled pairs the run puts in one topic, at least 90% are the same complaint by reading."""
    _, assigned = topics
    with (ROOT / "benchmarks" / "labels" / "real_pairs.csv").open(encoding="utf-8", newline="") as fh:
        pairs = list(csv.DictReader(fh))
    together = [p for p in pairs if assigned[p["a_id"]] == assigned[p["b_id"]]]
    right = sum(p["same_topic"] == "1" for p in together)
    assert len(together) >= 150
    assert right / len(together) >= 0.9, (right, len(together))
