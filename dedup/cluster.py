"""Verify candidate pairs and cluster them into topics without chaining.

Connected components over "similar" pairs chain different issues together
(A~B, B~C puts A with an unrelated C). We use star clustering instead: the
most connected text becomes a topic's centre and every member must itself be
verified-similar to that centre. Priorities come from the graph and from
content-derived keys, never from input order, so any order of the same input
gives the same topics.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy.sparse import coo_matrix


def verify(i: np.ndarray, j: np.ndarray, similarity: Callable[[int, int], float], threshold: float,
           veto: Callable[[int, int], bool] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keep candidate pairs whose similarity reaches the threshold and that no veto rejects."""
    keep_i, keep_j, keep_s = [], [], []
    for a, b in zip(i.tolist(), j.tolist()):
        s = similarity(a, b)
        if s >= threshold and not (veto and veto(a, b)):
            keep_i.append(a)
            keep_j.append(b)
            keep_s.append(s)
    return (np.array(keep_i, dtype=np.int64), np.array(keep_j, dtype=np.int64),
            np.array(keep_s, dtype=np.float64))


def star_cluster(n: int, i: np.ndarray, j: np.ndarray, sim: np.ndarray, keys: Sequence[str],
                 weights: np.ndarray | None = None) -> np.ndarray:
    """Label each of n nodes with the index of its topic's centre.

    Centres are chosen greedily by (weighted degree, total similarity, key);
    a node joins the most similar adjacent centre. ``weights`` counts how many
    items share a node's text, so a text sent 500 times outranks one sent once.
    """
    weights = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    labels = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return labels
    rows = np.concatenate((i, j))
    cols = np.concatenate((j, i))
    vals = np.concatenate((sim, sim))
    adj = coo_matrix((vals, (rows, cols)), shape=(n, n)).tocsr()
    adj.sum_duplicates()
    indptr, indices, data = adj.indptr, adj.indices, adj.data
    degree = np.asarray(coo_matrix((weights[cols], (rows, cols)), shape=(n, n)).sum(axis=1)).ravel()
    strength = np.asarray(adj.sum(axis=1)).ravel()
    # lexsort: last key is primary. Highest degree, then strength, then smallest key.
    key_rank = np.argsort(np.argsort(np.asarray(keys, dtype=object), kind="stable"), kind="stable")
    order = np.lexsort((key_rank, -strength, -(degree + weights)))
    is_centre = np.zeros(n, dtype=bool)
    covered = np.zeros(n, dtype=bool)
    for node in order.tolist():
        if covered[node]:
            continue
        is_centre[node] = True
        covered[node] = True
        covered[indices[indptr[node]:indptr[node + 1]]] = True
    priority = np.empty(n, dtype=np.int64)
    priority[order] = np.arange(n)
    for node in range(n):
        if is_centre[node]:
            labels[node] = node
            continue
        nbrs = indices[indptr[node]:indptr[node + 1]]
        sims = data[indptr[node]:indptr[node + 1]]
        mask = is_centre[nbrs]
        cand, cand_sim = nbrs[mask], sims[mask]
        # most similar centre; ties go to the higher-priority centre
        best = np.lexsort((priority[cand], -cand_sim))[0]
        labels[node] = cand[best]
    return labels


def split_conflicts(labels: np.ndarray, node_places: Sequence[dict[int, frozenset[str]]], weights: np.ndarray,
                    keys: Sequence[str]) -> np.ndarray:
    """Split topics whose members name incompatible places.

    A centre that names no place ("the street lights are broken") can be
    similar to complaints from two different streets, and the star would put
    both streets in one topic. Members that name places are taken heaviest
    first (ties by key); each joins the first group whose places it does not
    contradict, or starts a group. Members naming no place stay with the first
    group. A group keeps the old centre if it holds it, else its heaviest member.
    """
    labels = labels.copy()
    topics: dict[int, list[int]] = {}
    for node, centre in enumerate(labels.tolist()):
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
