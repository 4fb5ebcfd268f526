"""Star clustering over LSH buckets: no chaining, order-free, every node in exactly one topic."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dedup.core.candidates import bucket_ids
from dedup.core.cluster import lsh_star_cluster, split_conflicts
from dedup.core.joins import bucket_join, keyed_buckets


def graph(n, pairs):
    """One band per pair, holding that pair in one bucket; and a similarity that knows only these pairs."""
    buckets = np.tile(np.arange(n), (max(len(pairs), 1), 1))
    sims = {}
    for band, (a, b, s) in enumerate(pairs):
        buckets[band, b] = a
        sims[(a, b)] = sims[(b, a)] = s

    def similar(i, j):
        return np.array([sims.get((a, b), -1.0) for a, b in zip(i.tolist(), j.tolist())])

    return buckets, similar


def cluster(n, pairs, keys=None, weights=None):
    buckets, similar = graph(n, pairs)
    keys = keys or [f"{k:03d}" for k in range(n)]
    return lsh_star_cluster(buckets, np.ones(n) if weights is None else weights, keys, similar)


def test_chain_is_bounded_by_the_centre():
    # 0~1~2~3~4: a star may hold 0..2 or 2..4, never 0 with 4
    labels = cluster(5, [(0, 1, 0.8), (1, 2, 0.8), (2, 3, 0.8), (3, 4, 0.8)])
    assert labels[0] != labels[4]


def test_long_chain_splits_into_stars():
    n = 10
    labels = cluster(n, [(k, k + 1, 0.9) for k in range(n - 1)])
    for node, centre in enumerate(labels):
        assert centre == node or abs(centre - node) == 1  # every member is adjacent to its centre


def test_refused_pairs_never_share_a_topic_alone():
    labels = cluster(3, [(0, 1, -1.0), (1, 2, -1.0)])
    assert len(set(labels.tolist())) == 3


def test_heavy_text_is_the_centre():
    weights = np.array([1.0, 50.0, 1.0, 1.0])
    labels = cluster(4, [(0, 1, 0.8), (1, 2, 0.8), (1, 3, 0.8)], weights=weights)
    assert labels.tolist() == [1, 1, 1, 1]


def test_member_joins_most_similar_centre():
    # 0 and 3 are heavy centres; 1 is a little similar to 0 and very similar to 3
    weights = np.ones(5)
    weights[[0, 3]] = 20
    labels = cluster(5, [(0, 1, 0.5), (1, 3, 0.9), (0, 2, 0.9), (3, 4, 0.9)], weights=weights)
    assert labels[0] == 0 and labels[3] == 3 and labels[1] == 3


def test_isolated_nodes_are_their_own_topic():
    assert cluster(3, []).tolist() == [0, 1, 2]


def test_placeless_centre_does_not_join_two_streets():
    places = [{2: frozenset({"古楼街道"})}, {}, {2: frozenset({"柳园街道"})}]
    labels = cluster(3, [(0, 1, 0.8), (1, 2, 0.8)], weights=np.array([1.0, 5.0, 1.0]))
    assert labels[0] == labels[2] == 1  # the star alone would put both streets with the placeless centre
    split = split_conflicts(labels, places, np.array([1.0, 5.0, 1.0]), list("abc"))
    assert split[0] != split[2]
    assert all(split[split[k]] == split[k] for k in range(3))  # each label is a member of its topic


def test_bucket_join():
    band = np.array([0, 0, 1, 1, 2])
    left, right = bucket_join(band, np.array([0, 2, 4]), np.array([1, 3]))
    assert sorted(zip(left.tolist(), right.tolist())) == [(0, 1), (2, 3)]


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 12).flatmap(lambda n: st.tuples(
    st.just(n),
    st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.sampled_from([-1.0, 0.5, 0.6, 0.7, 0.9])),
             max_size=30),
    st.randoms(use_true_random=False))))
def test_order_free_and_partition(case):
    n, raw, rnd = case
    pairs = {}
    for a, b, s in raw:
        if a != b:
            pairs[(min(a, b), max(a, b))] = s
    keys = [f"id{k:03d}" for k in range(n)]
    edges = [(a, b, v) for (a, b), v in sorted(pairs.items())]
    labels = cluster(n, edges, keys)
    # the same graph with nodes renumbered and bands shuffled: same topics as sets of keys
    perm = list(range(n))
    rnd.shuffle(perm)
    inv = {old: new for new, old in enumerate(perm)}
    edges2 = [(inv[a], inv[b], v) for a, b, v in edges]
    rnd.shuffle(edges2)
    labels2 = cluster(n, edges2, [keys[old] for old in perm])

    def topics(lab, key_of):
        out = {}
        for node, c in enumerate(lab.tolist()):
            out.setdefault(key_of(c), set()).add(key_of(node))
        return sorted(sorted(v) for v in out.values())

    assert topics(labels, lambda x: keys[x]) == topics(labels2, lambda x: keys[perm[x]])
    accepted = {(a, b) for (a, b), v in pairs.items() if v >= 0}
    for node, centre in enumerate(labels.tolist()):
        assert labels[centre] == centre  # every node in exactly one topic, whose centre is a member
        assert centre == node or (min(node, centre), max(node, centre)) in accepted


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 9), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_blocked_is_any_accepted_top(n_todo, bands, seed):
    from dedup.core.cluster import _blocked

    rng = np.random.default_rng(seed)
    n = 12
    todo = np.sort(rng.choice(n, size=n_todo, replace=False))
    tops = rng.integers(0, n, size=(bands, n_todo))
    accepted = rng.random((n, n)) < 0.3
    asked = []

    def similar(i, j):
        asked.extend(zip(i.tolist(), j.tolist()))
        return np.where(accepted[i, j], 0.5, -1.0)

    got = _blocked(todo, tops, similar, n)
    expected = np.zeros(n, dtype=bool)
    for k, node in enumerate(todo.tolist()):
        expected[node] = any(accepted[node, t] for t in tops[:, k].tolist() if t != node)
    assert np.array_equal(got, expected)
    assert all(a != b for a, b in asked) and len(asked) == len(set(asked))  # never itself, never twice


def test_place_words_have_distinct_codes():
    """Place codes stand for their words (the index and the conflict check compare codes)."""
    from dedup.core.gazetteer import example_path, load_gazetteer
    from dedup.core.signatures import shingle_hash

    words = list(load_gazetteer(example_path()).levels)
    assert len({shingle_hash(w) for w in words}) == len(words)


PLACE_CHOICES = [{}, {2: frozenset({"古楼街道"})}, {2: frozenset({"柳园街道"})}, {1: frozenset({"东昌府区"})},
                 {1: frozenset({"阳谷县"}), 2: frozenset({"古楼街道"})}, {2: frozenset({"古楼街道", "柳园街道"})},
                 {3: frozenset({"星光花园"})}, {3: frozenset({"龙湾小区"}), 2: frozenset({"柳园街道"})},
                 {2: frozenset({"新区街道"})}, {1: frozenset({"东昌府区", "阳谷县"})}]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, len(PLACE_CHOICES) - 1), st.integers(1, 4)),
                min_size=1, max_size=14))
@example(nodes=[(0, 5, 2), (0, 8, 1)])  # two streets at once against a third: they conflict
def test_split_conflicts_examines_every_topic_that_could_split(nodes):
    """Skipping topics whose members agree on their places changes nothing."""
    import dedup.core.cluster as cluster_module

    n = len(nodes)
    labels = np.array([min(c, n - 1) for c, _, _ in nodes])
    labels = labels[labels]  # every label is a member of its own topic
    places = [PLACE_CHOICES[p] for _, p, _ in nodes]
    weights = np.array([w for _, _, w in nodes], dtype=float)
    keys = [f"k{k:02d}" for k in range(n)]
    fast = split_conflicts(labels, places, weights, keys)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(cluster_module, "_mixed_places", lambda labels, codes: np.ones(len(labels), dtype=bool))
        assert fast.tolist() == split_conflicts(labels, places, weights, keys).tolist()


def test_bucket_numbers_are_32_bit_and_keying_them_does_not_overflow():
    sig = np.array([[1, 2, 3, 4], [1, 2, 9, 9], [5, 5, 3, 4]], dtype=np.uint32)
    buckets = bucket_ids(sig, 2, 2)
    assert buckets.dtype == np.int32
    assert (buckets[0, 0] == buckets[0, 1]) and (buckets[1, 0] == buckets[1, 2]) and buckets[0, 2] != buckets[0, 0]
    # 65534 * 65538 + 4 wraps to 0 * 65538 + 0 in 32 bits: two different (bucket, estate) pairs
    wide = np.array([[65534, 0, 7]], dtype=np.int32)
    block = np.array([4, 0, 65536])
    keyed = keyed_buckets(wide, block)
    assert keyed.dtype == np.int32 and len(set(keyed[0].tolist())) == 3


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(1, 7), st.integers(0, 40)), max_size=60),
       st.sampled_from([41, 1 << 31]))
def test_one_sorted_key_orders_as_the_lexsort(cells, n):
    """Node, then most bands shared, then top: one int64 key, or the lexsort where it would not fit."""
    from dedup.core.joins import _by_node_shared_top

    cells = list({(a, c): (a, b, c) for a, b, c in cells}.values())  # a node meets each top once
    node, shared, top = (np.array([c[k] for c in cells], dtype=np.int64) for k in range(3))
    order = np.lexsort((top, -shared, node))
    got = _by_node_shared_top(node, shared, top, n, 7)
    assert got[0].tolist() == node[order].tolist() and got[1].tolist() == top[order].tolist()


@settings(max_examples=80, deadline=None)
@given(st.integers(2, 40), st.integers(1, 5), st.integers(1, 6), st.booleans(), st.integers(0, 2**32 - 1))
def test_final_pairs_are_every_member_with_every_centre(n, bands, width, keyed, seed):
    """The last pass pairs members with centres from round one's pairs and a join with later centres only:
    the same pairs and similarities as joining every member with every centre again."""
    import dedup.core.cluster as cl
    import dedup.core.joins as joins

    rng = np.random.default_rng(seed)
    buckets = rng.integers(0, width, size=(bands, n)).astype(np.int32)
    sim = np.triu(rng.choice([-1.0, 0.3, 0.5, 0.8], size=(n, n)), 1)
    sim = sim + sim.T
    ok = np.triu(rng.random((n, n)) < 0.8, 1)
    ok = ok | ok.T
    block = rng.integers(-1, 3, size=n) if keyed else None
    seen = []

    def checked(buckets, labels, centres, first, similar, allowed, block, contest, *rest):
        got = original(buckets, labels, centres, first, similar, allowed, block, contest, *rest)
        members = np.flatnonzero(labels != np.arange(len(labels)))
        i, j = joins._pairs(buckets, members, np.concatenate(centres), allowed, block, contest)
        want = sorted(zip(i.tolist(), j.tolist(), sim[i, j].tolist()))
        assert sorted(zip(*(a.tolist() for a in got))) == want
        seen.append(len(centres))
        return got

    original = cl.final_pairs
    cl.final_pairs = checked
    try:
        lsh_star_cluster(buckets, rng.integers(1, 4, size=n).astype(float), [f"k{k:02d}" for k in range(n)],
                         lambda i, j: sim[i, j], lambda i, j: ok[i, j], block)
    finally:
        cl.final_pairs = original
    assert seen  # the last pass ran (and, over the examples, after rounds that found later centres)


def test_final_pairs_include_centres_found_after_round_one():
    """A member of round one may be more similar to a centre found in round two: it moves there."""
    # 0 leads round one and takes 1; 2 is blocked by 1 in round one and leads round two;
    # 1 is more similar to 2 than to 0, so it ends with 2
    buckets = np.array([[0, 0, 1], [5, 2, 2]], dtype=np.int32)
    sim = np.array([[-1, 0.6, -1], [0.6, -1, 0.9], [-1, 0.9, -1]])
    labels = lsh_star_cluster(buckets, np.array([3.0, 1.0, 1.0]), ["a", "b", "c"], lambda i, j: sim[i, j])
    assert labels.tolist() == [0, 2, 2]


@settings(max_examples=120, deadline=None)
@given(st.integers(1, 24), st.integers(1, 4), st.integers(1, 5), st.booleans(), st.booleans(),
       st.integers(0, 2**32 - 1))
def test_star_clustering_on_arrays_is_the_plain_loop_definition(n, bands, spread, with_block, with_allowed, seed):
    """lsh_star_cluster without bounds gives the labels of star_cluster_reference, on random buckets,
    weights, keys, similarities (some refused), estates and pre-filters."""
    from dedup.core.cluster import star_cluster_reference

    rng = np.random.default_rng(seed)
    buckets = rng.integers(0, spread, size=(bands, n))
    buckets = np.stack([np.unique(b, return_inverse=True)[1].ravel() for b in buckets])  # dense per band
    weights = rng.integers(1, 4, size=n).astype(np.float64)
    keys = [f"k{v:03d}" for v in rng.permutation(n)]
    sims = rng.random((n, n))
    sims = (sims + sims.T) / 2
    sims[sims < 0.45] = -1.0
    block = np.where(rng.random(n) < 0.5, rng.integers(0, 3, size=n), -1) if with_block else None
    mask = rng.random((n, n)) < 0.85
    allowed = (lambda i, j: (mask | mask.T)[i, j]) if with_allowed else None

    def similar(i, j):
        return sims[i, j]

    fast = lsh_star_cluster(buckets, weights, keys, similar, allowed, block)
    slow = star_cluster_reference(buckets, weights, keys, similar, allowed, block)
    assert fast.tolist() == slow.tolist()
