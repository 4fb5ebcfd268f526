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

import numpy as np

from dedup.core.joins import Bounds, Similarity, _by_node_shared_top, _in_turns, _pairs_turns, keyed_buckets
from dedup.core.verify import SEVERAL, place_codes
from dedup.runtime.arrays import key_ranks, run_positions, unique

log = logging.getLogger(__name__)


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


def star_cluster_reference(buckets: np.ndarray, weights: np.ndarray, keys: Sequence[str] | np.ndarray,
                           similar: Similarity, allowed: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
                           block: np.ndarray | None = None) -> np.ndarray:
    """``lsh_star_cluster`` without bounds, as plain loops over nodes: the definition the array version is
    held to (tests/test_cluster.py). Quadratic; for small inputs only.

    Round after round: each unassigned node's tops are the highest-priority unassigned nodes of its
    buckets (its bucket and estate, with ``block``); a node that accepts none of its tops becomes a
    centre; every other unassigned node that shares a bucket with a new centre (estates permitting)
    and is accepted joins the likeliest. Last, every member moves to its likeliest accepted centre.
    """
    bands, n = buckets.shape
    rank = priority(buckets, weights, keys)
    contest = keyed_buckets(buckets, block) if block is not None else buckets

    def sim(a: int, b: int) -> float:
        return float(similar(np.array([a]), np.array([b]))[0])

    def joinable(a: int, b: int) -> bool:
        if a == b or not any(buckets[band][a] == buckets[band][b] for band in range(bands)):
            return False
        if block is not None and block[a] >= 0 and block[b] >= 0 and block[a] != block[b]:
            return False
        return allowed is None or bool(allowed(np.array([a]), np.array([b]))[0])

    def likeliest(node: int, centres: list[int]) -> int | None:
        accepted = [(sim(node, c), -rank[c], c) for c in centres if joinable(node, c)]
        accepted = [a for a in accepted if a[0] >= 0]
        return max(accepted)[2] if accepted else None

    labels = np.full(n, -1, dtype=np.int64)
    unassigned = set(range(n))
    centres: list[int] = []
    while unassigned:
        tops: dict[int, set[int]] = {v: set() for v in unassigned}
        for band in range(bands):
            best: dict[int, int] = {}
            for v in unassigned:
                k = contest[band][v]
                if k not in best or rank[v] < rank[best[k]]:
                    best[k] = v
            for v in unassigned:
                tops[v].add(best[contest[band][v]])
        leaders = [v for v in sorted(unassigned) if not any(t != v and sim(v, t) >= 0 for t in tops[v])]
        for v in leaders:
            labels[v] = v
        unassigned -= set(leaders)
        centres += leaders
        for v in sorted(unassigned):
            chosen = likeliest(v, leaders)
            if chosen is not None:
                labels[v] = chosen
        unassigned = {v for v in unassigned if labels[v] < 0}
    for v in range(n):
        if labels[v] != v:
            labels[v] = likeliest(v, centres)
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
