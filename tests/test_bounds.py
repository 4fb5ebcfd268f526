"""Bounded clustering work: the bounds change nothing where they do not bite, and bite where they should."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.core.cluster import _Memo, lsh_star_cluster
from dedup.core.joins import Bounds, bucket_join
from dedup.core.verify import Verifier


def test_bucket_join_cap_keeps_the_first_by_rank():
    band = np.array([0, 0, 0, 0, 0, 1, 1])
    rank = np.array([6, 5, 4, 3, 2, 1, 0])
    left, right = np.array([0, 5]), np.array([1, 2, 3, 4, 6])
    l_out, r_out = bucket_join(band, left, right, cap=2, rank=rank)
    got = sorted(zip(l_out.tolist(), r_out.tolist()))
    assert got == [(0, 3), (0, 4), (5, 6)]  # node 0 meets the two best-ranked of 1..4; the cap does not touch bucket 1
    l_all, r_all = bucket_join(band, left, right)
    assert len(l_all) == 5


def _random_graph(n, bands, width, seed):
    """Random buckets and a symmetric similarity table (-1 refuses a pair), from a seed."""
    rng = np.random.default_rng(seed)
    buckets = rng.integers(0, width, size=(bands, n)).astype(np.int32)
    sim = np.triu(rng.choice([-1.0, 0.3, 0.5, 0.8], size=(n, n)), 1)
    return rng, buckets, sim + sim.T


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 60), st.integers(1, 6), st.integers(1, 8), st.integers(0, 2**32 - 1))
def test_bounds_that_do_not_bite_change_nothing(n, bands, width, seed):
    """Caps above every bucket's size and every node's candidate count give the unbounded topics."""
    rng, buckets, sim = _random_graph(n, bands, width, seed)
    weights = rng.integers(1, 4, size=n).astype(float)
    keys = [f"k{k:03d}" for k in range(n)]
    want = lsh_star_cluster(buckets, weights, keys, lambda i, j: sim[i, j])
    wide = Bounds(bucket_centres=n, candidates=n * bands, chunk=1 + int(rng.integers(0, 50)))
    got = lsh_star_cluster(buckets, weights, keys, lambda i, j: sim[i, j], bounds=wide)
    assert got.tolist() == want.tolist()
    assert wide.stats["buckets_capped"] == wide.stats["pairs_dropped"] == 0


def test_a_bucket_of_50000_near_copies_costs_linear_work():
    """Every node in one bucket of every band: unbounded, that is n² / 2 pairs to verify."""
    n, bands = 50_000, 42
    buckets = np.zeros((bands, n), dtype=np.int32)
    asked = [0]

    def similar(i, j):
        asked[0] += len(i)
        return np.where((i + j) % 3 == 0, 0.5, -1.0)  # a third accepted: many centres in one bucket

    bounds = Bounds(bucket_centres=8, candidates=24, chunk=1_000_000)
    labels = lsh_star_cluster(buckets, np.ones(n), np.arange(n), similar, bounds=bounds)
    assert asked[0] <= n * (bounds.candidates + 8) * 4  # a few rounds of at most that many pairs a node
    assert bounds.stats["buckets_capped"] > 0           # and the bound says it bit
    centres = np.unique(labels)
    assert (labels[centres] == centres).all()           # every label is a centre of its own topic


def test_memo_returns_what_it_was_told():
    rng = np.random.default_rng(1)
    table = rng.random((50, 50))
    table = table + table.T
    calls = []

    def similar(i, j):
        calls.append(len(i))
        return table[i, j]

    memo = _Memo(similar, 50)
    for _ in range(30):
        i, j = rng.integers(0, 50, 40), rng.integers(0, 50, 40)
        assert np.allclose(memo(i, j), table[i, j])
    assert sum(calls) <= 50 * 51 // 2  # each unordered pair asked once at most


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 30), st.integers(0, 2**32 - 1))
def test_exact_many_is_exact(n, seed):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, 30, n)
    hashes = rng.integers(0, 40, int(lengths.sum())).astype(np.uint32)  # small values: repeats and overlaps
    v = Verifier(np.zeros((n, 16), np.uint32), hashes, lengths, [{}] * n, 0.4, place_veto=False,
                 codes=np.full((3, n), -1))
    i, j = rng.integers(0, n, 50), rng.integers(0, n, 50)
    want = [v.exact(int(a), int(b)) for a, b in zip(i, j)]
    assert np.allclose(v.exact_many(i, j, chunk=7), want)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 60), st.integers(1, 6), st.integers(1, 8), st.integers(0, 2**32 - 1))
def test_bounded_stars_keep_every_member_accepted_by_its_centre(n, bands, width, seed):
    """Whatever the bounds cut, no chaining: each member was accepted against its own centre."""
    rng, buckets, sim = _random_graph(n, bands, width, seed)
    bounds = Bounds(bucket_centres=2, candidates=3, chunk=7, first_accepted=True)
    labels = lsh_star_cluster(buckets, rng.integers(1, 4, size=n).astype(float), np.arange(n),
                              lambda i, j: sim[i, j], bounds=bounds)
    centres = np.unique(labels)
    assert (labels[centres] == centres).all()
    members = np.flatnonzero(labels != np.arange(n))
    assert (sim[members, labels[members]] >= 0).all()


def test_first_accepted_stops_at_the_most_shared_acceptor():
    from dedup.core.joins import _in_turns

    asked = []

    def similar(i, j):
        asked.extend(zip(i.tolist(), j.tolist()))
        return np.where(j == 5, 0.6, -1.0)

    i, j, turn = np.array([0, 0, 0, 1]), np.array([5, 6, 7, 6]), np.array([0, 1, 2, 0])
    sims = _in_turns(i, j, turn, similar, 10)
    assert sims.tolist() == [0.6, -1.0, -1.0, -1.0]
    assert (0, 6) not in asked and (0, 7) not in asked and (1, 6) in asked


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 80), st.integers(1, 10), st.integers(0, 4), st.integers(0, 2**32 - 1))
def test_indexed_join_is_bucket_join(n, width, cap, seed):
    """The slices' binary-search join gives bucket_join's pairs, capped the same way."""
    from dedup.core.joins import _RightIndex

    rng = np.random.default_rng(seed)
    band = rng.integers(0, width, n).astype(np.int32)
    rank = rng.permutation(n)
    left, right = np.flatnonzero(rng.random(n) < 0.6), np.flatnonzero(rng.random(n) < 0.4)
    want = bucket_join(band, left, right, cap=cap, rank=rank)
    got = _RightIndex(band, right, cap, rank).join(left)
    assert sorted(zip(*(a.tolist() for a in got))) == sorted(zip(*(a.tolist() for a in want)))
