"""Cluster LSH candidates into topics without chaining.

Connected components over "similar" pairs chain different issues together
(A~B, B~C puts A with an unrelated C). We use star clustering instead: the
most connected text becomes a topic's centre and every member must itself be
verified-similar to that centre. Priorities come from the buckets and from
content-derived keys, never from input order, so any order of the same input
gives the same topics. Everything runs on arrays, so 10^6 texts cost seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .arrays import dense_codes, key_ranks, run_positions, stable_order, unique
from .candidates import bucket_dtype
from .verify import SEVERAL, place_codes

log = logging.getLogger(__name__)
Similarity = Callable[[np.ndarray, np.ndarray], np.ndarray]


def bucket_join(band: np.ndarray, left: np.ndarray, right: np.ndarray, size: int = 0, cap: int = 0,
                rank: np.ndarray | None = None, capped: list | None = None) -> tuple[np.ndarray, np.ndarray]:
    """All pairs (l, r), l in left and r in right, that share a bucket of one band.

    Bucket numbers are dense (0..size-1), so each left node finds its bucket's
    run of right nodes by direct addressing rather than by binary search.
    With ``cap``, a left node meets only the ``cap`` right nodes of its bucket
    that come first by ``rank``: a bucket of m right nodes then costs at most
    ``cap`` pairs per left node, not m. The buckets cut short are counted in ``capped``.
    """
    if not len(left) or not len(right):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    size = size or int(band.max()) + 1
    r_band = band[right]
    if cap and rank is not None:
        # within a bucket, right nodes in rank order (bucket and rank packed into one key: both are below n)
        r_sorted = right[np.argsort(r_band.astype(np.int64) * len(band) + rank[right], kind="stable")]
    else:
        r_sorted = right[stable_order(r_band)]
    per_bucket = np.bincount(r_band, minlength=size)
    start = np.cumsum(per_bucket) - per_bucket
    if cap:
        over = per_bucket > cap
        if capped is not None and over.any():
            capped.append(int(over.sum()))
        per_bucket = np.minimum(per_bucket, cap)
    l_band = band[left]
    counts = per_bucket[l_band]
    hit = counts > 0
    left, lo, counts = left[hit], start[l_band[hit]], counts[hit]
    l_out = np.repeat(left, counts)
    offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    r_out = r_sorted[np.repeat(lo, counts) + offsets]
    keep = l_out != r_out
    return l_out[keep], r_out[keep]


@dataclass
class Bounds:
    """How much work one node may cause, whatever the shape of the data.

    ``bucket_centres``: in one band's bucket a node is joined with at most this
    many centres, the first by priority. ``candidates``: of the centres a node
    meets in any band, only this many are verified: those sharing the most
    bands with it (a near copy shares most), then by priority; also the most
    bucket tops a node asks about when centres are chosen. ``chunk``: the most
    raw (node, centre) pairs held at once; the nodes are joined in slices of
    that size. ``first_accepted``: a node's candidates are verified in turns, most bands shared first,
    and a node stops at its first accepting centre (a near copy shares most bands with its own).
    0 turns a bound off. ``stats`` counts where each bound cut.
    """

    bucket_centres: int = 0
    candidates: int = 0
    chunk: int = 0
    first_accepted: bool = False
    stats: dict = field(default_factory=lambda: {"buckets_capped": 0, "nodes_capped": 0, "pairs_dropped": 0,
                                                 "tops_skipped": 0})


def _pairs(buckets: np.ndarray, left: np.ndarray, right: np.ndarray,
           allowed: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
           block: np.ndarray | None = None, keyed: np.ndarray | None = None,
           bounds: Bounds | None = None, rank: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``_pairs_turns`` without the turns."""
    i, j, _ = _pairs_turns(buckets, left, right, allowed, block, keyed, bounds, rank)
    return i, j


def _pairs_turns(buckets: np.ndarray, left: np.ndarray, right: np.ndarray,
           allowed: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
           block: np.ndarray | None = None, keyed: np.ndarray | None = None,
           bounds: Bounds | None = None,
           rank: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique (l, r) pairs sharing a bucket in any band and passing ``allowed`` (when given).

    ``block`` is an exact-match key (-1 for none): two nodes that both have
    one are paired only when the keys are equal, so the join never builds the
    pairs that ``allowed`` would throw away (the same complaint at two estates).
    ``keyed`` is ``keyed_buckets(buckets, block)``, passed in when already made.
    ``bounds`` (with ``rank``, the nodes' priorities) caps the centres a node
    meets per bucket and in all, and joins the left nodes in slices. The third
    array is each pair's turn: its place among its left node's pairs by bands
    shared, most first (all 0 without ``bounds.candidates``).
    """
    if bounds is None or not (bounds.bucket_centres or bounds.candidates or bounds.chunk) or not len(left):
        i, j, _ = _pairs_of(buckets, left, right, allowed, block, keyed)
        return i, j, np.zeros(len(i), np.int64)
    if block is not None and keyed is None:
        keyed = keyed_buckets(buckets, block)
    cuts = [0, len(left)]
    if bounds.chunk:
        # slices of at most ``chunk`` raw pairs (a node's raw pairs counted first, without joining)
        raw = np.cumsum(_raw_counts(buckets, left, right, block, keyed, bounds.bucket_centres))
        cuts = np.unique(np.concatenate(([0], np.searchsorted(raw, np.arange(bounds.chunk, raw[-1] + 1, bounds.chunk),
                                                              side="right"), [len(left)]))).tolist()
    if len(cuts) == 2:  # one slice: each band's buckets addressed directly, as the unsliced join does
        return _pairs_of(buckets, left, right, allowed, block, keyed, bounds, rank)
    # several slices: each band's (and part's) right nodes sorted once, by bucket then priority, for every
    # slice to search (addressing tables the size of the buckets, made again per slice, cost more)
    cap = bounds.bucket_centres
    if block is None:
        right_parts = [(right, False)]
    else:
        right_keyed = block[right] >= 0
        right_parts = [(right[right_keyed], True), (right, False), (right[~right_keyed], False)]
    indexes = [[_RightIndex(keyed[b] if use_key else band, hi, cap, rank) for hi, use_key in right_parts]
               for b, band in enumerate(buckets)]
    bounds.stats["buckets_capped"] += sum(index.capped for per_band in indexes for index in per_band)
    out = [_pairs_indexed(buckets.shape[1], buckets, keyed, indexes, left[lo:max(hi, lo + 1)], allowed, block,
                          bounds, rank) for lo, hi in zip(cuts[:-1], cuts[1:])]
    return tuple(np.concatenate(part) for part in zip(*out))


class _RightIndex:
    """One band's right nodes sorted by bucket, then priority (``rank``): a left node finds its bucket's
    first ``cap`` right nodes (all without a cap) by binary search."""

    def __init__(self, band: np.ndarray, right: np.ndarray, cap: int, rank: np.ndarray | None) -> None:
        self.band, self.cap = band, cap
        keys = band[right].astype(np.int64)
        order = np.argsort(keys * len(band) + rank[right] if cap and rank is not None else keys, kind="stable")
        self.nodes, self.keys = right[order], keys[order]
        runs = np.diff(np.flatnonzero(np.concatenate(([True], self.keys[1:] != self.keys[:-1], [True]))))
        self.capped = int((runs > cap).sum()) if cap and len(self.keys) else 0

    def join(self, left: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not len(left) or not len(self.keys):
            return np.empty(0, np.int64), np.empty(0, np.int64)
        wanted = self.band[left]
        lo = np.searchsorted(self.keys, wanted, side="left")
        counts = np.searchsorted(self.keys, wanted, side="right") - lo
        if self.cap:
            np.minimum(counts, self.cap, out=counts)
        hit = counts > 0
        left, lo, counts = left[hit], lo[hit], counts[hit]
        l_out = np.repeat(left, counts)
        offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        r_out = self.nodes[np.repeat(lo, counts) + offsets]
        keep = l_out != r_out
        return l_out[keep], r_out[keep]


def _pairs_indexed(n: int, buckets: np.ndarray, keyed: np.ndarray | None, indexes: list[list[_RightIndex]],
                   left: np.ndarray, allowed, block: np.ndarray | None, bounds: Bounds,
                   rank: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``_pairs_of`` for one slice of left nodes, with the right side indexed already."""
    if block is None:
        lefts = [left]
    else:
        left_keyed = block[left] >= 0
        lefts = [left[left_keyed], left[~left_keyed], left[left_keyed]]
    codes = [a * n + c for per_band in indexes for index, lo in zip(per_band, lefts)
             for a, c in [index.join(lo)]]
    codes = np.sort(np.concatenate(codes)) if codes else np.empty(0, np.int64)
    return _finish(codes, n, len(buckets), allowed, bounds, rank)


def _raw_counts(buckets: np.ndarray, left: np.ndarray, right: np.ndarray, block: np.ndarray | None,
                keyed: np.ndarray | None, cap: int) -> np.ndarray:
    """How many (left, right) pairs the joins of ``_pairs_of`` list for each left node (before duplicates go)."""
    counts = np.zeros(len(left), dtype=np.int64)
    if block is None:
        parts = [(np.ones(len(left), bool), right, False)]
    else:
        left_keyed, right_keyed = block[left] >= 0, block[right] >= 0
        parts = [(left_keyed, right[right_keyed], True), (~left_keyed, right, False),
                 (left_keyed, right[~right_keyed], False)]
    for b, band in enumerate(buckets):
        for which, hi, use_key in parts:
            codes = keyed[b] if use_key else band
            per_bucket = np.bincount(codes[hi], minlength=int(codes.max()) + 1)
            if cap:
                np.minimum(per_bucket, cap, out=per_bucket)
            counts[which] += per_bucket[codes[left[which]]]
    return counts


def _pairs_of(buckets: np.ndarray, left: np.ndarray, right: np.ndarray,
              allowed: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
              block: np.ndarray | None = None, keyed: np.ndarray | None = None,
              bounds: Bounds | None = None,
              rank: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = buckets.shape[1]
    if block is None:
        parts = [(left, right, False)]
    else:
        if keyed is None:
            keyed = keyed_buckets(buckets, block)
        left_keyed, right_keyed = block[left] >= 0, block[right] >= 0
        parts = [(left[left_keyed], right[right_keyed], True),
                 (left[~left_keyed], right, False), (left[left_keyed], right[~right_keyed], False)]
    cap = bounds.bucket_centres if bounds is not None else 0
    capped: list[int] = []
    # a near copy shares most bands with its centre: the joins list each pair
    # up to once per band, so duplicates go before ``allowed`` sees a pair
    codes = [a * n + c for b, band in enumerate(buckets) for lo, hi, use_key in parts
             for a, c in [bucket_join(keyed[b] if use_key else band, lo, hi, cap=cap, rank=rank, capped=capped)]]
    if bounds is not None:
        bounds.stats["buckets_capped"] += sum(capped)
    codes = np.sort(np.concatenate(codes)) if codes else np.empty(0, np.int64)
    return _finish(codes, n, len(buckets), allowed, bounds, rank)


def _finish(codes: np.ndarray, n: int, bands: int, allowed, bounds: Bounds | None,
            rank: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted raw pair codes (one per band shared) to distinct pairs, each node's most shared first (with
    ``bounds.candidates``), that ``allowed`` lets through, and their turns."""
    if bounds is not None and bounds.candidates and len(codes):
        codes, turn = _most_shared(codes, n, bands, bounds, rank)
    else:
        if len(codes) > 1:
            codes = codes[np.concatenate(([True], codes[1:] != codes[:-1]))]
        turn = np.zeros(len(codes), np.int64)
    i, j = codes // n, codes % n
    if allowed is not None and len(i):
        ok = allowed(i, j)
        i, j, turn = i[ok], j[ok], turn[ok]
    return i, j, turn


def _most_shared(codes: np.ndarray, n: int, bands: int, bounds: Bounds,
                 rank: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Of sorted pair codes (one per band shared), each left node's ``bounds.candidates`` distinct pairs
    sharing the most bands, ties to the right node of higher priority: distinct codes, sorted, and each
    one's turn (0 for a node's pair sharing most bands)."""
    new = np.concatenate(([True], codes[1:] != codes[:-1]))
    at = np.flatnonzero(new)
    shared = np.diff(np.append(at, len(codes)))
    codes = codes[at]
    node, other = codes // n, codes % n
    node_s, top_rank = _by_node_shared_top(node, shared, rank[other], n, bands)
    turn = run_positions(node_s)
    keep = turn < bounds.candidates
    bounds.stats["nodes_capped"] += int((turn == bounds.candidates).sum())
    bounds.stats["pairs_dropped"] += int((~keep).sum())
    by_rank = np.empty(n, dtype=np.int64)
    by_rank[rank] = np.arange(n)
    kept = node_s[keep] * n + by_rank[top_rank[keep]]
    order = np.argsort(kept)
    return kept[order], turn[keep][order]


def _in_turns(i: np.ndarray, j: np.ndarray, turn: np.ndarray, similar: Similarity, n: int) -> np.ndarray:
    """Similarities of the pairs, asked turn by turn: once a left node is accepted by one right node, its
    later-turn pairs are not asked (-1, as refused)."""
    sims = np.full(len(i), -1.0)
    done = np.zeros(n, dtype=bool)
    for t in range(int(turn.max()) + 1 if len(turn) else 0):
        ask = np.flatnonzero((turn == t) & ~done[i])
        if len(ask):
            got = similar(i[ask], j[ask])
            sims[ask] = got
            done[i[ask[got >= 0]]] = True
    return sims


def keyed_buckets(buckets: np.ndarray, block: np.ndarray) -> np.ndarray:
    """Dense numbers of (bucket, block) per band: equal only for the same bucket and the same block."""
    width = int(block.max()) + 2
    out = np.empty(buckets.shape, dtype=bucket_dtype(buckets.shape[1]))
    for b, band in enumerate(buckets):
        out[b] = dense_codes(band.astype(np.int64) * width + block + 1)
    return out


def best_centres(nodes: np.ndarray, centres: np.ndarray, sims: np.ndarray, rank: np.ndarray):
    """For each node, its most similar accepted centre; ties go to the higher-priority centre."""
    ok = sims >= 0
    nodes, centres, sims = nodes[ok], centres[ok], sims[ok]
    order = np.lexsort((rank[centres], -sims, nodes))
    nodes, centres, sims = nodes[order], centres[order], sims[order]
    first = np.ones(len(nodes), dtype=bool)
    first[1:] = nodes[1:] != nodes[:-1]
    return nodes[first], centres[first], sims[first]


def priority(buckets: np.ndarray, weights: np.ndarray, keys: Sequence[str] | np.ndarray) -> np.ndarray:
    """Rank of each node (0 first): most items in its buckets over all bands, then smallest key
    (``keys``: the strings, or their ranks).

    The weighted count of bucket-mates over all bands is a cheap stand-in for
    the weighted number of similar texts: pairs that share more bands are more similar.
    """
    score = np.zeros(len(weights))
    for band in buckets:  # a node counts itself in every band, so a heavy original outranks its copies
        score += np.bincount(band, weights=weights)[band]
    order = np.lexsort((key_ranks(keys), -score))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank


class _Memo:
    """Similarities already computed, so pairs met again in later rounds cost a lookup.

    Kept as a few sorted runs, merged when a new run is as long as the last
    (a log-structured merge): each pair is copied O(log pairs) times in all,
    where inserting every round's pairs into one sorted array copied the whole
    array each time (quadratic in the rounds).
    """

    def __init__(self, similar: Similarity, n: int) -> None:
        self.similar, self.n = similar, n
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []

    def _add(self, codes: np.ndarray, sims: np.ndarray) -> None:
        while self.runs and len(self.runs[-1][0]) <= 2 * len(codes):
            old_codes, old_sims = self.runs.pop()
            both = np.concatenate((old_codes, codes))
            order = np.argsort(both, kind="stable")
            codes, sims = both[order], np.concatenate((old_sims, sims))[order]
        self.runs.append((codes, sims))

    def __call__(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        codes = np.minimum(i, j) * self.n + np.maximum(i, j)
        out = np.full(len(codes), np.nan)
        for run_codes, run_sims in self.runs:
            pos = np.minimum(np.searchsorted(run_codes, codes), len(run_codes) - 1)
            found = run_codes[pos] == codes
            out[found] = run_sims[pos[found]]
        todo = np.isnan(out)
        if todo.any():
            new_codes = unique(codes[todo])  # similarity is symmetric: the code is the pair
            new_sims = np.asarray(self.similar(new_codes // self.n, new_codes % self.n), dtype=float)
            out[todo] = new_sims[np.searchsorted(new_codes, codes[todo])]
            self._add(new_codes, new_sims)
        return out


def _blocked(todo: np.ndarray, tops: np.ndarray, similar: Similarity, n: int, turns: int = 0,
             bounds: Bounds | None = None) -> np.ndarray:
    """Nodes of ``todo`` that ``similar`` accepts with one of their bucket tops (``tops``: one per band).

    One accepted top is enough, so each node's tops are asked about in turn,
    the top it shares most bands with first (the likeliest to be accepted),
    and a node stops being asked about once blocked; with ``turns``, after
    that many tops at most.
    """
    bands, m = tops.shape
    # row k: the tops of todo[k], equal ones side by side (a contiguous copy sorted in place: sorting the
    # transposed view row by row walks it with strides, 2-4x slower)
    by_node = np.ascontiguousarray(tops.T)
    by_node.sort(axis=1)
    by_node = by_node.ravel()
    start = np.ones(len(by_node), dtype=bool)
    start[1:] = by_node[1:] != by_node[:-1]
    start[::bands] = True
    at = np.flatnonzero(start)
    shared = np.diff(np.append(at, len(by_node)))
    node, top = todo[at // bands], by_node[at]
    keep = top != node
    node, top, shared = node[keep], top[keep], shared[keep]
    node, top = _by_node_shared_top(node, shared, top, n, bands)
    turn = run_positions(node)  # 0 for each node's likeliest top
    blocked = np.zeros(n, dtype=bool)
    last = int(turn.max()) + 1 if len(turn) else 0
    if turns and last > turns:
        if bounds is not None:
            bounds.stats["tops_skipped"] += int((turn >= turns).sum())
        last = turns
    for k in range(last):
        ask = np.flatnonzero((turn == k) & ~blocked[node])
        if len(ask):
            blocked[node[ask[similar(node[ask], top[ask]) >= 0]]] = True
    return blocked


def _by_node_shared_top(node: np.ndarray, shared: np.ndarray, top: np.ndarray, n: int,
                        bands: int) -> tuple[np.ndarray, np.ndarray]:
    """(node, top) ordered by node, then most bands shared, then top: ``np.lexsort((top, -shared, node))``.

    The three fit one int64 for any realistic n, and one sort of it beats the
    lexsort by far (10M random entries: 0.5 s against 10 s; the lexsort was
    2.6 s of a 1.28M run's clustering).
    """
    node_bits, shared_bits = max(int(n).bit_length(), 1), max(int(bands).bit_length(), 1)
    if 2 * node_bits + shared_bits > 63:
        order = np.lexsort((top, -shared, node))
        return node[order], top[order]
    key = node << (node_bits + shared_bits) | (bands - shared) << node_bits | top
    key.sort()
    return key >> (node_bits + shared_bits), key & ((1 << node_bits) - 1)


def lsh_star_cluster(buckets: np.ndarray, weights: np.ndarray, keys: Sequence[str] | np.ndarray, similar: Similarity,
                     allowed: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
                     block: np.ndarray | None = None, max_rounds: int = 100_000,
                     bounds: Bounds | None = None, on_round: Callable[[int], None] | None = None) -> np.ndarray:
    """Label each node with its topic's centre node; ``buckets`` is (bands, n) from LSH.

    Greedy star clustering over the candidate graph, run in rounds on arrays.
    In a round, an unassigned node is blocked when, in some band, the
    highest-priority unassigned node of its bucket is another node that
    ``similar`` accepts it with (that node may yet become its centre); an
    unblocked node becomes a centre. Then the unassigned nodes that share a
    bucket with a new centre and that ``similar`` accepts join it. Finally
    each member moves to its most similar accepted centre.

    ``on_round``, if given, is told after each round how many nodes are placed.

    ``similar(i, j)`` returns each pair's similarity, or -1 to refuse it;
    ``allowed(i, j)``, if given, is a cheap mask of pairs worth asking about,
    applied to the gathered pairs before any similarity is asked for;
    ``block`` is an exact-match key that such pairs must share where both have one,
    so that the join never builds most of the pairs ``allowed`` would refuse.
    Every member was accepted against its own centre, so A~B~C cannot chain A
    to an unrelated C; priorities come from buckets, weights and keys, never
    from input order, so the topics do not depend on it.

    Without ``bounds`` a node is compared with every centre it shares a
    bucket with: a bucket holding m nodes and c centres costs m·c pairs, which
    campaigns of varied copies and shared boilerplate make quadratic. With
    ``bounds`` each node causes at most ``bands · bucket_centres`` joined pairs
    and ``candidates`` verified pairs per round (see ``Bounds``); where no
    bucket holds more centres than the cap and no node more candidates, the
    topics are the same (tested).
    """
    n = buckets.shape[1]
    labels = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return labels
    similar = _Memo(similar, n)
    rank = priority(buckets, weights, keys)
    node_of_rank = np.argsort(rank)
    unassigned = np.ones(n, dtype=bool)
    centres: list[np.ndarray] = []
    contest = buckets
    if block is not None:  # nodes with an estate compete within it; nodes without one, in the whole bucket
        contest = keyed_buckets(buckets, block)
    first: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # round one's pairs and similarities
    for _ in range(max_rounds):
        todo = np.flatnonzero(unassigned)
        if not len(todo):
            break
        tops = np.empty((len(buckets), len(todo)), dtype=np.int64)
        for b, band in enumerate(contest):
            key = band[todo]
            top = np.full(int(band.max()) + 1, n, dtype=np.int64)
            np.minimum.at(top, key, rank[todo])
            tops[b] = node_of_rank[top[key]]
        blocked = _blocked(todo, tops, similar, n, bounds.candidates if bounds else 0, bounds)
        leaders = todo[~blocked[todo]]
        labels[leaders] = leaders
        unassigned[leaders] = False
        centres.append(leaders)
        rest = np.flatnonzero(unassigned)
        i, j, turn = _pairs_turns(buckets, rest, leaders, allowed, block, contest, bounds, rank)
        sims = _ask(i, j, turn, similar, n, bounds)
        log.debug("star round: %d unassigned, %d new centres, %d pairs with them, %d accepted", len(todo),
                  len(leaders), len(i), int((sims >= 0).sum()))
        if first is None:
            first = i, j, sims
        if len(i):
            nodes, chosen, _ = best_centres(i, j, sims, rank)
            labels[nodes] = chosen
            unassigned[nodes] = False
        if on_round is not None:
            on_round(n - int(unassigned.sum()))
    i, j, sims = final_pairs(buckets, labels, centres, first, similar, allowed, block, contest, bounds, rank)
    if len(i):
        nodes, chosen, _ = best_centres(i, j, sims, rank)
        labels[nodes] = chosen
    return labels


def _ask(i: np.ndarray, j: np.ndarray, turn: np.ndarray, similar: Similarity, n: int,
         bounds: Bounds | None) -> np.ndarray:
    if not len(i):
        return np.empty(0)
    if bounds is not None and bounds.first_accepted:
        return _in_turns(i, j, turn, similar, n)
    return similar(i, j)


def final_pairs(buckets: np.ndarray, labels: np.ndarray, centres: list[np.ndarray],
                first: tuple[np.ndarray, np.ndarray, np.ndarray], similar: Similarity,
                allowed: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
                block: np.ndarray | None = None, contest: np.ndarray | None = None,
                bounds: Bounds | None = None,
                rank: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (member, centre) pair sharing a bucket and allowed, with its similarity: what
    ``_pairs(buckets, members, all centres, ...)`` and ``similar`` give, in another order.

    Round one paired every node it left unassigned, and so every member, with
    its centres; only the centres of later rounds are joined again (at 1.28M
    items they are 2% of the centres, and joining them all again was 2.5 s).
    """
    n = buckets.shape[1]
    members = np.flatnonzero(labels != np.arange(n))
    i, j, sims = first
    keep = labels[i] != i
    later = np.concatenate(centres[1:]) if len(centres) > 1 else np.empty(0, np.int64)
    i2, j2, turn2 = _pairs_turns(buckets, members, later, allowed, block, contest, bounds, rank)
    sims2 = _ask(i2, j2, turn2, similar, n, bounds)
    return np.concatenate((i[keep], i2)), np.concatenate((j[keep], j2)), np.concatenate((sims[keep], sims2))


def split_conflicts(labels: np.ndarray, node_places: Sequence[dict[int, frozenset[str]]], weights: np.ndarray,
                    keys: Sequence[str], codes: np.ndarray | None = None) -> np.ndarray:
    """Split topics whose members name incompatible places.

    A centre that names no place ("the street lights are broken") can be
    similar to complaints from two different streets, and the star would put
    both streets in one topic. Members that name places are taken heaviest
    first (ties by key); each joins the first group whose places it does not
    contradict, or starts a group. Members naming no place stay with the first
    group. A group keeps the old centre if it holds it, else its heaviest member.
    """
    labels = labels.copy()
    # only topics whose members name two places at one level (or several at once) can need splitting
    suspect = _mixed_places(labels, place_codes(node_places) if codes is None else codes)
    topics: dict[int, list[int]] = {}
    examined = np.flatnonzero(suspect[labels])
    for node, centre in zip(examined.tolist(), labels[examined].tolist()):
        topics.setdefault(centre, []).append(node)
    for centre, members in topics.items():
        placed = sorted((m for m in members if node_places[m]), key=lambda m: (-weights[m], keys[m]))
        if len(placed) < 2:
            continue
        groups: list[tuple[list[int], dict[int, set[str]]]] = []
        for m in placed:
            mine = node_places[m]
            for group, seen in groups:
                if not any(level in seen and not (words & seen[level]) for level, words in mine.items()):
                    group.append(m)
                    for level, words in mine.items():
                        seen.setdefault(level, set()).update(words)
                    break
            else:
                groups.append(([m], {level: set(words) for level, words in mine.items()}))
        if len(groups) == 1:
            continue
        first = groups[0][0]
        labels[members] = centre if (not node_places[centre] or centre in first) else first[0]
        for group, _ in groups[1:]:
            labels[group] = centre if centre in group else group[0]
    return labels


def _mixed_places(labels: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Per label: do its members name different places at some level, or several at once?"""
    mixed = np.zeros(len(labels), dtype=bool)
    for level in codes:
        named = level >= 0
        pairs = unique(labels[named].astype(np.int64) << 32 | (level[named] & 0xFFFFFFFF))
        mixed |= np.bincount(pairs >> 32, minlength=len(labels)) > 1
        mixed[labels[level == SEVERAL]] = True
    return mixed
