"""The clustering core on hand-written suggestions with known topics."""

import random

from conftest import SUGGESTIONS, same_partition

from dedup.config import Config
from dedup.engine import find_topics
from dedup.normalize import item_text
from dedup.segment import Segmenter

SEG = Segmenter()


def topics_of(rows, config=Config()):
    texts = [item_text("", r[3]) for r in rows]
    clustering = find_topics([r[0] for r in rows], texts, [SEG(t) for t in texts], config)
    return {r[0]: int(t) for r, t in zip(rows, clustering.item_topic)}, clustering


def test_fixture_topics_recovered_exactly():
    pred, _ = topics_of(SUGGESTIONS)
    assert same_partition(pred, {s[0]: s[4] for s in SUGGESTIONS})


def test_same_complaint_at_another_place_is_another_topic():
    pred, _ = topics_of(SUGGESTIONS)
    assert pred["A1"] != pred["B1"]


def test_shuffled_input_gives_the_same_topics():
    base, _ = topics_of(SUGGESTIONS)
    for seed in range(5):
        rows = SUGGESTIONS[:]
        random.Random(seed).shuffle(rows)
        shuffled, _ = topics_of(rows)
        assert shuffled == base  # same topic numbers too, not only the same grouping


def test_identical_texts_share_one_node():
    rows = SUGGESTIONS + [("A1-copy", "2019-03-09 08:00:00", "电话", SUGGESTIONS[0][3], "light-gulou")]
    pred, clustering = topics_of(rows)
    assert pred["A1-copy"] == pred["A1"]
    assert clustering.stats["nodes"] == len(SUGGESTIONS)
