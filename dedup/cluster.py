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
