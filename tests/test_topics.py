"""Topic summaries: keywords."""

from itertools import chain

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix

from dedup.core.topics import keywords_by_topic


def _reference_keywords(node_tokens, node_weight, node_topic, n_topics, k=5):
    """Words numbered first seen, ties broken by a three-key lexsort: the code keywords_by_topic replaced."""
    flat = list(chain.from_iterable(node_tokens))
    words = list(dict.fromkeys(flat))
    if not words:
        return [[] for _ in range(n_topics)]
    code = {w: c for c, w in enumerate(words)}
    cols = np.array([code[w] for w in flat], dtype=np.int64)
    rows = np.repeat(np.arange(len(node_tokens)), [len(t) for t in node_tokens])
    keep = np.array([len(w) for w in words])[cols] > 1
    presence = csr_matrix((np.ones(int(keep.sum())), (rows[keep], cols[keep])), shape=(len(node_tokens), len(words)))
    presence.sum_duplicates()
    presence.data[:] = 1.0
    idf = np.log((1 + len(node_tokens)) / (1 + np.asarray(presence.sum(axis=0)).ravel())) + 1
    membership = csr_matrix((node_weight, (node_topic, np.arange(len(node_tokens)))),
                            shape=(n_topics, len(node_tokens)))
    scores = (membership @ presence).tocsr()
    word_rank = np.empty(len(words), dtype=np.int64)
    word_rank[sorted(range(len(words)), key=words.__getitem__)] = np.arange(len(words))
    per_topic = np.diff(scores.indptr)
    topic = np.repeat(np.arange(n_topics), per_topic)
    order = np.lexsort((word_rank[scores.indices], -(scores.data * idf[scores.indices]), topic))
    chosen = order[np.arange(len(order)) - scores.indptr[topic[order]] < k]
    chosen_words = [words[c] for c in scores.indices[chosen].tolist()]
    ends = np.cumsum(np.minimum(per_topic, k)).tolist()
    return [chosen_words[start:end] for start, end in zip([0] + ends[:-1], ends)]


def test_keywords_of_hand_made_topics():
    tokens = [["路灯", "坏", "古楼街道"], ["路灯", "不亮", "古楼街道"], ["暖气", "不热", "小区"], ["暖气", "停"]]
    got = keywords_by_topic(tokens, np.array([3.0, 1.0, 2.0, 1.0]), np.array([0, 0, 1, 1]), 2, k=2)
    assert got == [["古楼街道", "路灯"], ["暖气", "不热"]]  # single characters never; ties by word


VOCAB = ["路灯", "暖气", "噪音", "小区", "坏", "a", "bb", "不热", "古楼街道", "ab"]


@given(st.lists(st.tuples(st.lists(st.sampled_from(VOCAB), max_size=6), st.integers(1, 4), st.integers(0, 3)),
                max_size=15), st.integers(1, 4))
@settings(max_examples=300, deadline=None)
def test_keywords_equal_the_lexsort_they_replaced(nodes, k):
    tokens = [t for t, _, _ in nodes]
    weight = np.array([w for _, w, _ in nodes], dtype=np.float64)
    topic = np.array([c for _, _, c in nodes], dtype=np.int64)
    assert keywords_by_topic(tokens, weight, topic, 4, k) == _reference_keywords(tokens, weight, topic, 4, k)


def test_sample_members_centre_first_then_most_copied_with_places():
    from dedup.core.topics import sample_members

    node_topic = np.array([0, 0, 0, 1, 0, 1])
    centre = np.array([2, 5])
    weight = np.array([1.0, 5.0, 1.0, 3.0, 2.0, 1.0])
    nodes, place = sample_members(node_topic, centre, weight, ["a", "b", "c", "d", "e", "f"], k=3)
    # topic 0: the centre 2, then 1 (5 copies) and 4 (2); 0 (1 copy) is the fourth. Topic 1: 5, then 3
    assert nodes.tolist() == [1, 2, 3, 4, 5]
    assert place.tolist() == [1, 0, 1, 2, 0]
    assert nodes[place < 1].tolist() == [2, 5]  # classify.members = 1: the centres alone


TIMES = ["2019-03-01 08:00:00", "2019-03-01 08:00:01", "2019-02-28 23:59:59", "2019-03-10 00:00:00"]


@given(st.lists(st.tuples(st.sampled_from(TIMES), st.integers(0, 5)), min_size=1, max_size=20), st.randoms())
@settings(max_examples=300, deadline=None)
def test_numbering_order_is_first_received_then_smallest_id(rows, rnd):
    from dedup.batch.engine import group_texts
    from dedup.core.records import Item
    from dedup.core.topics import assign_ids, numbering_order

    # items carry node texts; nodes are put into topics; ids are distinct strings in a random order
    ids = [f"A{k}" for k in rnd.sample(range(1000), len(rows))]
    items = [Item(i, when, "phone", f"text {text}") for i, (when, text) in zip(ids, rows)]
    nodes = group_texts(ids, [it.content for it in items], [[it.content] for it in items])
    node_topic = np.array([rnd.randrange(3) for _ in nodes.texts])
    _, node_topic = np.unique(node_topic, return_inverse=True)  # topics 0..T-1, each with a node
    n_topics = int(node_topic.max()) + 1
    item_topic = node_topic[nodes.item_node]
    # the order it replaced: (first received, smallest item id) as strings
    keys = [(min(it.received_at for it, t in zip(items, item_topic) if t == c),
             min(it.id for it, t in zip(items, item_topic) if t == c)) for c in range(n_topics)]
    order = numbering_order(items, nodes.item_node, node_topic, nodes.keys, n_topics)
    assert order == sorted(range(n_topics), key=keys.__getitem__)
    topic_ids, merged, next_number = assign_ids([[] for _ in range(n_topics)], {}, 7, order)
    assert [topic_ids[c] for c in order] == [f"T{7 + k:07d}" for k in range(n_topics)] and not merged
    assert next_number == 7 + n_topics
