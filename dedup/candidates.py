"""Candidate pairs by MinHash LSH banding, on signature arrays.

Two texts become candidates when all ``rows`` values of at least one of the
``bands`` bands are equal, exactly as ``datasketch.MinHashLSH`` with
``params=(bands, rows)`` finds them (``tests/test_candidates.py``). Bands and
rows default to datasketch's own optimum for the threshold. Candidates are not
answers: ``cluster.verify`` checks each pair.
"""

from __future__ import annotations

import numpy as np
from datasketch.lsh import _optimal_param

_MIX = np.uint64(0x9E3779B97F4A7C15)


def lsh_params(threshold: float, num_perm: int, bands: int = 0, rows: int = 0) -> tuple[int, int]:
    """(bands, rows): the ones given, or datasketch's optimum for equal FP/FN weights."""
    if bands and rows:
        if bands * rows > num_perm:
            raise ValueError(f"bands*rows = {bands * rows} exceeds num_perm = {num_perm}")
        return bands, rows
    return _optimal_param(threshold, num_perm, 0.5, 0.5)


def candidate_probability(similarity: np.ndarray | float, bands: int, rows: int):
    """P(candidate | Jaccard s) = 1 - (1 - s^rows)^bands: the LSH S-curve."""
    return 1.0 - (1.0 - np.asarray(similarity, dtype=float) ** rows) ** bands


def band_keys(sig: np.ndarray, band: int, rows: int) -> np.ndarray:
    """A 64-bit key per row for one band; equal bands give equal keys."""
    part = sig[:, band * rows:(band + 1) * rows].astype(np.uint64)
    key = np.zeros(len(sig), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for col in range(rows):
            key = (key ^ part[:, col]) * _MIX
            key ^= key >> np.uint64(29)
    return key


def _buckets(sig: np.ndarray, band: int, rows: int) -> list[np.ndarray]:
    """Groups (size >= 2) of rows whose band is byte-for-byte equal."""
    keys = band_keys(sig, band, rows)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    edges = np.flatnonzero(np.diff(sorted_keys)) + 1
    starts = np.concatenate(([0], edges))
    ends = np.concatenate((edges, [len(keys)]))
    big = np.flatnonzero(ends - starts >= 2)
    groups = []
    part = sig[:, band * rows:(band + 1) * rows]
    for g in big:
        members = order[starts[g]:ends[g]]
        block = part[members]
        if (block == block[0]).all():
            groups.append(members)
        else:  # a 64-bit key collision: split by the real band values
            _, inverse = np.unique(block, axis=0, return_inverse=True)
            for value in np.unique(inverse):
                sub = members[inverse.ravel() == value]
                if len(sub) >= 2:
                    groups.append(sub)
    return groups


def candidate_pairs(sig: np.ndarray, bands: int, rows: int, with_band: bool = False):
    """Unique candidate pairs (i < j) as two int64 arrays; optionally the first band that found each."""
    n = len(sig)
    codes, found_in = [], []
    for band in range(bands):
        for members in _buckets(sig, band, rows):
            members = np.sort(members)
            i, j = np.triu_indices(len(members), k=1)
            codes.append(members[i].astype(np.int64) * n + members[j])
            found_in.append(np.full(len(i), band, dtype=np.int32))
    if not codes:
        empty = np.empty(0, dtype=np.int64)
        return (empty, empty, np.empty(0, dtype=np.int32)) if with_band else (empty, empty)
    all_codes = np.concatenate(codes)
    unique, first = np.unique(all_codes, return_index=True)
    i, j = unique // n, unique % n
    if with_band:
        return i, j, np.concatenate(found_in)[first]
    return i, j
