"""The clustering core on hand-written suggestions with known topics."""

import random

import numpy as np
import pytest
from conftest import SUGGESTIONS, same_partition
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.batch.engine import StageTimer, find_topics, group_texts, sign, sign_docs
from dedup.batch.prepare import prepare
from dedup.config import Config
from dedup.core.normalize import item_text
from dedup.core.records import Item
from dedup.core.segment import Segmenter, node_places
from dedup.core.verify import place_codes
from dedup.runtime import parallel
from dedup.runtime.arrays import ranks

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


@given(st.lists(st.tuples(st.text(alphabet="ab\x00z", max_size=3), st.sampled_from(["路灯坏了", "暖气不热", "x", ""])),
                unique_by=lambda r: r[0]))
def test_group_texts_numbers_texts_first_seen_with_their_smallest_id(rows):
    ids, texts = [r[0] for r in rows], [r[1] for r in rows]
    tokens = [[f"tok{k}"] for k in range(len(rows))]
    nodes = group_texts(ids, texts, tokens)
    assert nodes.key_rank.tolist() == ranks(nodes.keys).tolist()  # from the items' ranks, as the keys' own
    assert nodes.texts == list(dict.fromkeys(texts))
    assert [nodes.texts[n] for n in nodes.item_node.tolist()] == texts
    for n, text in enumerate(nodes.texts):
        mine = [k for k in range(len(rows)) if texts[k] == text]
        assert nodes.keys[n] == min(ids[k] for k in mine)
        assert nodes.tokens[n] == tokens[mine[0]] and nodes.weight[n] == len(mine)


# Contents that normalise to one text (greetings, full-width forms), that keep no words, and titles.
CONTENTS = [("", "路灯坏了"), ("", "您好，路灯坏了"), ("", "路灯坏了！！"), ("", "😀😀"), ("", "！？"), ("路灯", "路灯坏了"),
            ("暖气", "暖气不热"), ("", "暖气不热"), ("", "ＡＢＣ"), ("", "市民来电反映：")]


@given(st.lists(st.tuples(st.text(alphabet="abz", min_size=1, max_size=3), st.sampled_from(CONTENTS)),
                unique_by=lambda r: r[0]))
@settings(max_examples=200, deadline=None)
def test_prepare_gives_the_nodes_and_rejections_of_the_plain_composition(rows):
    items = [Item(id, "2019-03-09 08:00:00", "phone", content, title, "x.csv", k + 2)
             for k, (id, (title, content)) in enumerate(rows)]
    prepared = prepare([Item(**{f: getattr(it, f) for f in Item.__slots__}) for it in items], Config(), SEG,
                       StageTimer())
    texts = [item_text(it.title, it.content) for it in items]
    words = [SEG(t) for t in texts]
    kept = [k for k in range(len(items)) if words[k]]
    assert [it.id for it in prepared.items] == [items[k].id for k in kept]
    assert [it.text for it in prepared.items] == [texts[k] for k in kept]
    assert [(r.line, r.id) for r in prepared.rejected] == [(k + 2, items[k].id) for k in range(len(items))
                                                           if not words[k]]
    expected = group_texts([items[k].id for k in kept], [texts[k] for k in kept], [words[k] for k in kept])
    got = prepared.nodes
    assert (got.texts, got.tokens, got.keys) == (expected.texts, expected.tokens, expected.keys)
    assert got.weight.tolist() == expected.weight.tolist()
    assert got.item_node.tolist() == expected.item_node.tolist()


@given(st.lists(st.text(alphabet="ab\x00z", max_size=3), unique=True))
def test_nodes_rank_their_items_by_id(ids):
    nodes = group_texts(ids, ["路灯坏了"] * len(ids), [["路灯"]] * len(ids))
    assert [ids[k] for k in np.argsort(nodes.item_rank)] == sorted(ids)


@pytest.mark.parametrize("shingle", [("char", 3), ("word", 2)])
def test_sign_on_workers_gives_the_reference_values(monkeypatch, shingle):
    texts = [item_text("", s[3]) for s in SUGGESTIONS]
    nodes = group_texts([s[0] for s in SUGGESTIONS], texts, [SEG(t) for t in texts])
    config = Config().with_overrides({"sign.shingle": shingle[0], "sign.ngram": shingle[1]})
    hashes, lengths, sig = sign_docs(nodes.texts if shingle[0] == "char" else nodes.tokens, config.sign)[0]
    in_process = sign(nodes, config, workers=1)
    monkeypatch.setattr(parallel, "SERIAL_BELOW", 2)  # forked workers, a few nodes each
    forked = sign(nodes, config, workers=2)
    for signed in (in_process, forked):
        assert np.array_equal(signed.sig, sig)
        assert np.array_equal(signed.columns, sig.T)
        assert np.array_equal(signed.hashes, hashes) and np.array_equal(signed.lengths, lengths)
        assert list(signed.places) == [node_places(t, x, config.sign.entities) for t, x in zip(nodes.tokens, nodes.texts)]
        assert np.array_equal(signed.codes, place_codes(signed.places))
