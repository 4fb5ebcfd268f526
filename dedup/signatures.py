"""Shingles and MinHash signatures.

Signatures are computed for many texts at once on numpy arrays, and are
bit-for-bit those of ``datasketch.MinHash`` (scheme ``affine32``, its default)
with the same ``num_perm``, ``seed`` and hash function (``sha1_hash32`` of the
shingle's UTF-8 bytes): ``tests/test_signatures.py`` holds us to that.
"""

from __future__ import annotations

import numpy as np
from datasketch import MinHash
from datasketch.hashfunc import sha1_hash32

from .config import SignConfig

EMPTY = np.uint32(0xFFFFFFFF)


def shingles(tokens: list[str], n: int) -> list[str]:
    """Word n-grams joined by a space; a text shorter than n is one shingle."""
    if len(tokens) < n:
        return [" ".join(tokens)] if tokens else []
    return [" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def char_shingles(text: str, n: int) -> list[str]:
    """Character n-grams of the text with spaces and punctuation removed."""
    chars = "".join(c for c in text if c.isalnum())
    if len(chars) < n:
        return [chars] if chars else []
    return [chars[i:i + n] for i in range(len(chars) - n + 1)]


def text_shingles(tokens: list[str], text: str, config: SignConfig) -> list[str]:
    if config.shingle == "char":
        return char_shingles(text, config.ngram)
    return shingles(tokens, config.ngram)


def hash_shingles(shingle_lists: list[list[str]], cache: dict[str, int] | None = None) -> list[np.ndarray]:
    """Each text's set of 32-bit shingle hashes, as a sorted unique uint32 array."""
    cache = {} if cache is None else cache
    out = []
    for sh in shingle_lists:
        values = []
        for s in sh:
            h = cache.get(s)
            if h is None:
                h = cache[s] = sha1_hash32(s.encode("utf-8"))
            values.append(h)
        out.append(np.unique(np.array(values, dtype=np.uint32)))
    return out


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The affine permutation parameters datasketch draws for this seed."""
    a, b = MinHash(num_perm=num_perm, seed=seed).permutations
    return np.asarray(a, dtype=np.uint32), np.asarray(b, dtype=np.uint32)


def _fmix32(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def signatures(hash_sets: list[np.ndarray], num_perm: int, seed: int, chunk: int = 1 << 22) -> np.ndarray:
    """MinHash signatures, one row per text, shape (len(hash_sets), num_perm), uint32.

    The shingle hashes of many texts are laid end to end, permuted together and
    reduced per text with ``np.minimum.reduceat``; texts are taken in chunks of
    about ``chunk`` hashes so memory stays bounded. An empty text keeps the
    empty-MinHash value (all 0xFFFFFFFF), as datasketch does.
    """
    a, b = permutations(num_perm, seed)
    n = len(hash_sets)
    sig = np.full((n, num_perm), EMPTY, dtype=np.uint32)
    lengths = np.fromiter((len(h) for h in hash_sets), dtype=np.int64, count=n)
    start = 0
    with np.errstate(over="ignore"):
        while start < n:
            stop, total = start, 0
            while stop < n and (total == 0 or total + lengths[stop] <= chunk):
                total += lengths[stop]
                stop += 1
            rows = np.flatnonzero(lengths[start:stop]) + start
            if rows.size:
                flat = _fmix32(np.concatenate([hash_sets[i] for i in rows]))
                offsets = np.concatenate(([0], np.cumsum(lengths[rows])[:-1]))
                for k in range(num_perm):
                    sig[rows, k] = np.minimum.reduceat(flat * a[k] + b[k], offsets)
            start = stop
    return sig


def reference_signature(shingle_list: list[str], config: SignConfig) -> np.ndarray:
    """The datasketch MinHash of one text: the reference our batched path must equal."""
    m = MinHash(num_perm=config.num_perm, seed=config.seed)
    m.update_batch([s.encode("utf-8") for s in shingle_list])
    return m.hashvalues


def estimate_jaccard(sig: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """MinHash estimate of Jaccard similarity for pairs (i, j) of rows."""
    return (sig[i] == sig[j]).mean(axis=1)


def exact_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two sorted unique hash arrays; 0 when both are empty."""
    if not len(a) and not len(b):
        return 0.0
    inter = np.intersect1d(a, b, assume_unique=True).size
    return inter / (len(a) + len(b) - inter)
