"""Star clustering: no chaining, order-free, every node in exactly one topic."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.cluster import star_cluster, verify


def edges(pairs):
    i = np.array([p[0] for p in pairs], dtype=np.int64)
    j = np.array([p[1] for p in pairs], dtype=np.int64)
    s = np.array([p[2] for p in pairs], dtype=float)
    return i, j, s


def test_chain_is_bounded_by_the_centre():
    # 0~1~2~3~4: a star around 1 or 3 may hold 0..2 or 2..4, never 0 with 4
    labels = star_cluster(5, *edges([(0, 1, 0.8), (1, 2, 0.8), (2, 3, 0.8), (3, 4, 0.8)]), keys=list("abcde"))
    assert labels[0] != labels[4]


def test_placeless_centre_does_not_join_two_streets():
    from dedup.cluster import split_conflicts

    # node 1 names no place and is similar to both; 0 and 2 name different streets
    places = [{2: frozenset({"古楼街道"})}, {}, {2: frozenset({"柳园街道"})}]
    labels = star_cluster(3, *edges([(0, 1, 0.8), (1, 2, 0.8)]), keys=list("abc"))
    assert labels[0] == labels[2]  # the star alone would chain them
    split = split_conflicts(labels, places, np.ones(3), list("abc"))
    assert split[0] != split[2]
    assert all(split[split[k]] == split[k] for k in range(3))  # each label is a member of its topic


def test_long_chain_splits_into_stars():
    n = 10
    labels = star_cluster(n, *edges([(k, k + 1, 0.9) for k in range(n - 1)]), keys=[f"{k:02d}" for k in range(n)])
    for node, centre in enumerate(labels):
        assert centre == node or abs(centre - node) == 1  # every member is adjacent to its centre


def test_member_joins_most_similar_centre():
    # 0 and 3 are heavy texts with ten light neighbours each; 1 is a little similar to 0, very similar to 3
    pairs = [(0, 1, 0.5), (1, 3, 0.9)]
    pairs += [(0, k, 0.9) for k in range(4, 14)] + [(3, k, 0.9) for k in range(14, 24)]
    weights = np.ones(24)
    weights[[0, 3]] = 9
    labels = star_cluster(24, *edges(pairs), keys=[f"{k:02d}" for k in range(24)], weights=weights)
    assert labels[0] == 0 and labels[3] == 3
    assert labels[1] == 3


def test_isolated_nodes_are_their_own_topic():
    labels = star_cluster(3, *edges([]), keys=list("abc"))
    assert labels.tolist() == [0, 1, 2]


def test_verify_applies_threshold_and_veto():
    i, j = np.array([0, 0, 1]), np.array([1, 2, 2])
    sims = {(0, 1): 0.9, (0, 2): 0.3, (1, 2): 0.95}
    vi, vj, vs = verify(i, j, lambda a, b: sims[(a, b)], 0.5, veto=lambda a, b: (a, b) == (1, 2))
    assert list(zip(vi.tolist(), vj.tolist())) == [(0, 1)]


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 12).flatmap(lambda n: st.tuples(
    st.just(n),
    st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.sampled_from([0.5, 0.6, 0.7, 0.9])),
             max_size=30),
    st.randoms(use_true_random=False))))
def test_order_free_and_partition(case):
    n, raw, rnd = case
    pairs = {}
    for a, b, s in raw:
        if a != b:
            pairs[(min(a, b), max(a, b))] = s
    keys = [f"id{k:03d}" for k in range(n)]
    i, j, s = edges([(a, b, v) for (a, b), v in pairs.items()])
    labels = star_cluster(n, i, j, s, keys)
    # relabel nodes under a random permutation; topics (as sets of keys) must be unchanged
    perm = list(range(n))
    rnd.shuffle(perm)
    inv = {old: new for new, old in enumerate(perm)}
    i2 = np.array([inv[a] for a in i.tolist()], dtype=np.int64)
    j2 = np.array([inv[b] for b in j.tolist()], dtype=np.int64)
    labels2 = star_cluster(n, i2, j2, s, [keys[old] for old in perm])

    def topics(lab, key_of):
        out = {}
        for node, c in enumerate(lab.tolist()):
            out.setdefault(key_of(c), set()).add(key_of(node))
        return sorted(sorted(v) for v in out.values())

    assert topics(labels, lambda x: keys[x]) == topics(labels2, lambda x: keys[perm[x]])
    # every node in exactly one topic, and adjacent to (or equal to) its centre
    adjacent = set(pairs)
    for node, centre in enumerate(labels.tolist()):
        assert centre == node or (min(node, centre), max(node, centre)) in adjacent
        assert labels[centre] == centre
