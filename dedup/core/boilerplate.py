"""Boilerplate learned from the data: shingles many unrelated texts share, left out of similarity.

Greetings, sign-offs, filler ("不知道该找哪个部门"), a hotline's transcription
template ("来电人反映，其住在…") recur across texts about unrelated problems.
They make unrelated texts look alike (false merges) and fill LSH buckets with
candidates that verification must then refuse (quadratic work), while copies
of one complaint that differ in their wrapping look less alike than they are.

A shingle is boilerplate when it is *frequent* — in at least ``min_share`` of
a sample of distinct texts, and at least ``min_count`` of them — and
*incoherent*: the texts that hold it are otherwise unalike (the median
Jaccard of pairs of them is below ``coherence``), or no more alike than
``lift`` times two texts drawn at random (where boilerplate is most of every
text, any two texts look alike). A campaign's own sentences
are frequent too, but the texts that hold them are copies of one another, so
they stay. No list of phrases is involved: the same rule finds a city's
hotline template, an app's footer or a letter-writing habit.

The learned shingles are dropped from every text's shingle set before signing
and verification (a text made of nothing else keeps its own). A full run or
rebuild learns them; nights reuse the stored set, so that stored signatures and
tonight's stay comparable.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Learned:
    """The boilerplate shingle hashes (sorted) and what was measured to find them."""

    hashes: np.ndarray
    sampled: int
    frequent: int

    def to_list(self) -> list[int]:
        return self.hashes.tolist()


def sample_nodes(keys: Sequence[str], size: int) -> np.ndarray:
    """Up to ``size`` node positions chosen by a hash of their keys: the same nodes whatever the input order."""
    if len(keys) <= size:
        return np.arange(len(keys))
    h = np.fromiter((zlib.crc32(k.encode("utf-8")) for k in keys), dtype=np.int64, count=len(keys))
    return np.sort(np.argsort(h, kind="stable")[:size])


def node_sets(hashes: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(node, hash) of every distinct shingle of every node, sorted by node then hash."""
    node = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    key = np.sort(node << 32 | hashes.astype(np.int64))
    if len(key):
        key = key[np.concatenate(([True], key[1:] != key[:-1]))]
    return key >> 32, key & 0xFFFFFFFF


def learn(hashes: np.ndarray, lengths: np.ndarray, min_share: float = 0.05, min_count: int = 20,
          coherence: float = 0.3, pairs: int = 15, seed: int = 1, lift: float = 2.0) -> Learned:
    """Boilerplate shingles of a sample of texts (their shingle hashes end to end, and counts)."""
    node, value = node_sets(hashes, lengths)
    n = len(lengths)
    threshold = max(min_count, min_share * n)
    by_value = np.lexsort((node, value))
    node, value = node[by_value], value[by_value]
    starts = np.flatnonzero(np.concatenate(([True], value[1:] != value[:-1]))) if len(value) else np.zeros(0, int)
    counts = np.diff(np.append(starts, len(value)))
    frequent = np.flatnonzero(counts >= threshold)
    if not len(frequent):
        return Learned(np.empty(0, np.uint32), n, 0)
    # for each frequent shingle, ``pairs`` pairs of the texts holding it, drawn with a fixed seed
    rng = np.random.default_rng(seed)
    start, count = starts[frequent], counts[frequent]
    off_a = (rng.random((len(frequent), pairs)) * count[:, None]).astype(np.int64)
    off_b = (off_a + 1 + (rng.random((len(frequent), pairs)) * (count[:, None] - 1)).astype(np.int64)) % count[:, None]
    a, b = start[:, None] + off_a, start[:, None] + off_b   # two different texts holding the shingle
    sims = _jaccard(node[a.ravel()], node[b.ravel()], hashes, lengths).reshape(len(frequent), pairs)
    # texts that share the shingle are no more alike than any two texts: boilerplate, even where it is
    # most of every text (long letters of generic paragraphs, where any two letters look alike)
    x, y = rng.integers(0, n, size=(2, 20 * pairs))
    baseline = float(np.median(_jaccard(x, y, hashes, lengths))) if n > 1 else 0.0
    median = np.median(sims, axis=1)
    incoherent = (median < coherence) | (median < lift * baseline)
    return Learned(np.sort(value[start[incoherent]].astype(np.uint32)), n, len(frequent))


def _jaccard(i: np.ndarray, j: np.ndarray, hashes: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    from dedup.core.verify import exact_jaccard

    return exact_jaccard(hashes, np.cumsum(lengths), lengths, i, j)


def discount(hashes: np.ndarray, lengths: np.ndarray, boilerplate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The shingles of each text less the boilerplate ones; a text with nothing else keeps all of its own."""
    if not len(boilerplate) or not len(hashes):
        return hashes, lengths
    pos = np.minimum(np.searchsorted(boilerplate, hashes), len(boilerplate) - 1)
    drop = boilerplate[pos] == hashes
    node = np.repeat(np.arange(len(lengths)), lengths)
    kept = lengths - np.bincount(node[drop], minlength=len(lengths))
    drop &= (kept > 0)[node]  # a text of boilerplate alone: keep it whole
    new_lengths = np.where(kept > 0, kept, lengths)
    return hashes[~drop], new_lengths
