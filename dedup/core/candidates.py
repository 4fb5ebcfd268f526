"""Candidate pairs by MinHash LSH banding, on signature arrays.

Two texts become candidates when all ``rows`` values of at least one of the
``bands`` bands are equal, exactly as ``datasketch.MinHashLSH`` with
``params=(bands, rows)`` finds them (``tests/test_candidates.py``). Bands and
rows default to datasketch's own optimum for the threshold. Candidates are not
answers: ``cluster.verify`` checks each pair.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from functools import partial

import numpy as np
from datasketch.lsh import _optimal_param

from dedup.runtime.arrays import stable_sort, transposed

_MIX = np.uint64(0x9E3779B97F4A7C15)


def lsh_params(threshold: float, num_perm: int, bands: int = 0, rows: int = 0,
               fn_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows): the ones given, or datasketch's optimum with false negatives weighted fn_weight."""
    if bands and rows:
        if bands * rows > num_perm:
            raise ValueError(f"bands*rows = {bands * rows} exceeds num_perm = {num_perm}")
        return bands, rows
    return _cached_optimum(round(threshold, 6), num_perm, round(fn_weight, 6))


def bands_rows(config) -> tuple[int, int]:
    """The run's (bands, rows) for a ``Config``: its cluster settings, else the optimum for its threshold.
    Every part of a run asks this one function, so the index, the budget and the banding agree."""
    cc = config.cluster
    return lsh_params(cc.threshold, config.sign.num_perm, cc.bands, cc.rows, cc.fn_weight)


@functools.cache
def _cached_optimum(threshold: float, num_perm: int, fn_weight: float) -> tuple[int, int]:
    return _optimal_param(threshold, num_perm, 1.0 - fn_weight, fn_weight)


def candidate_probability(similarity: np.ndarray | float, bands: int, rows: int):
    """P(candidate | Jaccard s) = 1 - (1 - s^rows)^bands: the LSH S-curve."""
    return 1.0 - (1.0 - np.asarray(similarity, dtype=float) ** rows) ** bands


def band_keys(sig: np.ndarray, band: int, rows: int) -> np.ndarray:
    """A 64-bit key per row for one band; equal bands give equal keys."""
    return _mixed([sig[:, col] for col in range(band * rows, (band + 1) * rows)], len(sig))


def _mixed(columns: Sequence[np.ndarray], n: int) -> np.ndarray:
    """The band key of n rows from the band's columns, one array per column."""
    key = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for column in columns:
            key = (key ^ column.astype(np.uint64)) * _MIX
            key ^= key >> np.uint64(29)
    return key


def bucket_dtype(n: int) -> type:
    """Bucket numbers are below the row count: 32 bits halve the largest arrays of a clustering."""
    return np.int32 if n < 2**31 else np.int64


def bucket_ids(sig: np.ndarray, bands: int, rows: int, workers: int = 0,
               columns: np.ndarray | None = None) -> np.ndarray:
    """Dense bucket number of every row in every band, shape (bands, n).

    Rows share a bucket in a band exactly when that band's values are equal;
    a 64-bit key collision between different values is detected and split.
    Bands are numbered on all cores when there are many rows. ``columns`` is
    ``sig.T`` made contiguous (at least its first bands * rows rows), when made already.
    """
    from dedup.runtime.parallel import SERIAL_BELOW, map_chunks

    if columns is None:
        columns = transposed(sig[:, :bands * rows])
    parts = map_chunks(partial(_band_buckets, columns=columns, rows=rows), range(bands), workers,
                       serial=len(sig) < SERIAL_BELOW, pieces=1)
    if any(part is None for part in parts):
        return _bucket_ids_exact(sig, bands, rows)
    out = np.empty((bands, len(sig)), dtype=bucket_dtype(len(sig)))
    for band, part in enumerate(parts):
        out[band] = part
    return out


def _band_buckets(bands: Sequence[int], columns: np.ndarray, rows: int) -> list[np.ndarray | None]:
    """Dense bucket numbers for each of these bands; None for a key collision.

    ``columns`` is ``sig.T`` made contiguous: a band's values are read in order
    rather than one 4-byte value per 512-byte signature row.
    """
    out: list[np.ndarray | None] = []
    n = columns.shape[1]
    for band in bands:
        values = columns[band * rows:(band + 1) * rows]
        keys = _mixed(values, n)
        sorted_keys, order = stable_sort(keys)  # (equal keys get one number, whatever their order)
        new_bucket = np.empty(n, dtype=bool)
        if n:
            new_bucket[0] = True
            new_bucket[1:] = sorted_keys[1:] != sorted_keys[:-1]
            # equal keys must hold equal values; a collision is numbered from the values instead
            differ = np.zeros(n - 1, dtype=bool)
            for column in values:
                in_order = column[order]
                differ |= in_order[1:] != in_order[:-1]
            if (differ & ~new_bucket[1:]).any():
                out.append(None)
                continue
        ids = np.empty(n, dtype=np.int32 if n < 2**31 else np.int64)
        ids[order] = np.cumsum(new_bucket) - 1
        out.append(ids)
    return out


def _bucket_ids_exact(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Bucket numbers from the band values themselves: slower, used only after a key collision."""
    out = np.empty((bands, len(sig)), dtype=bucket_dtype(len(sig)))
    for band in range(bands):
        _, inverse = np.unique(sig[:, band * rows:(band + 1) * rows], axis=0, return_inverse=True)
        out[band] = inverse.ravel()
    return out


def candidate_pairs(sig: np.ndarray, bands: int, rows: int, with_band: bool = False):
    """Unique candidate pairs (i < j) as two int64 arrays; optionally the first band that found each."""
    n = len(sig)
    ids = bucket_ids(sig, bands, rows)
    codes, found_in = [], []
    for band in range(bands):
        order = np.argsort(ids[band], kind="stable")
        b = ids[band][order]
        edges = np.flatnonzero(np.diff(b)) + 1
        starts = np.concatenate(([0], edges))
        ends = np.concatenate((edges, [n]))
        for g in np.flatnonzero(ends - starts >= 2):
            members = np.sort(order[starts[g]:ends[g]])
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
