"""Shingles and MinHash signatures.

Signatures are computed for many texts at once on numpy arrays, and are
bit-for-bit those of ``datasketch.MinHash`` (scheme ``affine32``, its default)
with the same ``num_perm``, ``seed`` and hash function (``datasketch_hashfunc``,
FNV-1a over the shingle's code points): ``tests/test_signatures.py`` holds us to that.
"""

from __future__ import annotations

import numpy as np
from datasketch import MinHash

from dedup.config import SignConfig
from dedup.runtime.arrays import code_points, transposed, unique

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


FNV_OFFSET = np.uint32(2166136261)
FNV_PRIME = np.uint32(16777619)


def shingle_hash(shingle: str) -> int:
    """FNV-1a over the shingle's code points, 32 bits: the hash function of every signature.

    Hashing code points (not bytes through SHA-1) lets ``char_shingle_hashes``
    hash millions of shingles at once in numpy and still give, for each
    shingle, exactly this value.
    """
    h = 2166136261
    for c in shingle:
        h = ((h ^ ord(c)) * 16777619) & 0xFFFFFFFF
    return h


def datasketch_hashfunc(data: bytes) -> int:
    """``shingle_hash`` for datasketch, which hands its hash function UTF-8 bytes."""
    return shingle_hash(data.decode("utf-8"))


def hash_shingles(shingle_lists: list[list[str]], cache: dict[str, int] | None = None) -> list[np.ndarray]:
    """Each text's set of shingle hashes, as a sorted unique uint32 array."""
    cache = {} if cache is None else cache
    out = []
    for sh in shingle_lists:
        values = []
        for s in sh:
            h = cache.get(s)
            if h is None:
                h = cache[s] = shingle_hash(s)
            values.append(h)
        out.append(unique(np.array(values, dtype=np.uint32)))
    return out


_ALNUM: np.ndarray | None = None


def _alnum_table() -> np.ndarray:
    global _ALNUM  # a pure lookup table, built once: str.isalnum for every BMP code point
    if _ALNUM is None:
        _ALNUM = np.array([chr(c).isalnum() for c in range(0x10000)], dtype=bool)
    return _ALNUM


def char_shingle_hashes(texts: list[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """``shingle_hash`` of every ``char_shingles(text, n)``, for all texts at once.

    Returns (hashes, lengths): the hashes of text k are the ``lengths[k]``
    values after those of texts 0..k-1, in shingle order (duplicates kept;
    MinHash does not mind them).
    """
    if not texts:
        return np.empty(0, np.uint32), np.empty(0, np.int64)
    codes = code_points("".join(texts))
    table = _alnum_table()
    if len(codes) and codes.max() >= 0x10000:
        bmp = codes < 0x10000
        keep = table.take(codes & 0xFFFF) & bmp
        for k in np.flatnonzero(~bmp):  # astral characters (emoji, rare Han): ask Python
            keep[k] = chr(codes[k]).isalnum()
    else:
        keep = table.take(codes)
    bounds = np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)))
    kept = np.concatenate(([0], np.cumsum(keep)))
    chars = np.diff(kept[np.concatenate(([0], bounds))])  # characters kept per text
    codes = codes[keep]
    ends = np.cumsum(chars)
    lengths = np.where(chars >= n, chars - n + 1, np.minimum(chars, 1))
    total = int(lengths.sum())
    # a text of n or more characters has a shingle at each of its positions but its last n - 1,
    # hashed for every position at once from slices and then picked; a shorter one, one shingle of them all
    short = (chars > 0) & (chars < n)
    slot = (np.cumsum(lengths) - lengths)[short]
    h = np.empty(total, dtype=np.uint32)
    with np.errstate(over="ignore"):
        if len(codes) >= n:
            at = np.full(len(codes) - n + 1, FNV_OFFSET, dtype=np.uint32)
            for step in range(n):
                at ^= codes[step:len(codes) - n + 1 + step]
                at *= FNV_PRIME
            valid = np.ones(len(at), dtype=bool)
            shorts = zip((ends - chars)[short].tolist(), ends[short].tolist())
            tails = np.concatenate([np.empty(0, np.int64)] + [ends[chars >= n] - j for j in range(1, n)] +
                                   [np.arange(b, e) for b, e in shorts])
            valid[tails[tails < len(at)]] = False
            whole = np.ones(total, dtype=bool)
            whole[slot] = False
            h[whole] = at[valid]
        if len(slot):
            first, span = (ends - chars)[short], chars[short]
            part = np.full(len(first), FNV_OFFSET, dtype=np.uint32)
            for step in range(n):
                live = step < span
                part[live] = (part[live] ^ codes[first[live] + step]) * FNV_PRIME
            h[slot] = part
    return h, lengths.astype(np.int64)


def flat_signatures(hashes: np.ndarray, lengths: np.ndarray, num_perm: int, seed: int,
                    chunk: int = 1 << 16) -> np.ndarray:
    """MinHash signatures from laid-end-to-end shingle hashes (see ``char_shingle_hashes``), one row per text."""
    return transposed(permuted_signatures(hashes, lengths, num_perm, seed, chunk))


def permuted_signatures(hashes: np.ndarray, lengths: np.ndarray, num_perm: int, seed: int,
                        chunk: int = 1 << 16, out: np.ndarray | None = None) -> np.ndarray:
    """``flat_signatures`` transposed: one row per permutation (into ``out`` when given), as banding reads them.

    Permutation by permutation over chunks small enough to stay in cache, so
    that each write is contiguous.
    """
    a, b = permutations(num_perm, seed)
    n = len(lengths)
    if out is None:
        out = np.empty((num_perm, n), dtype=np.uint32)
    sig = out
    sig[:] = EMPTY
    ends = np.cumsum(lengths)
    begins = ends - lengths
    start = 0
    with np.errstate(over="ignore"):
        while start < n:
            stop = max(start + 1, int(np.searchsorted(ends, begins[start] + chunk, side="right")))
            stop = min(stop, n)
            rows = np.arange(start, stop)[lengths[start:stop] > 0]
            if rows.size:
                flat = _fmix32(hashes[begins[rows[0]]:ends[rows[-1]]])
                offsets = begins[rows] - begins[rows[0]]
                permuted = np.empty_like(flat)
                every = rows.size == stop - start
                for k in range(num_perm):
                    np.multiply(flat, a[k], out=permuted)
                    permuted += b[k]
                    if every:
                        np.minimum.reduceat(permuted, offsets, out=sig[k, start:stop])
                    else:  # empty texts keep the empty-MinHash value
                        sig[k, rows] = np.minimum.reduceat(permuted, offsets)
            start = stop
    return sig


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


def signatures(hash_sets: list[np.ndarray], num_perm: int, seed: int, chunk: int = 1 << 20) -> np.ndarray:
    """MinHash signatures, one row per text, shape (len(hash_sets), num_perm), uint32.

    The shingle hashes of many texts are laid end to end, permuted together and
    reduced per text with ``np.minimum.reduceat``. An empty text keeps the
    empty-MinHash value (all 0xFFFFFFFF), as datasketch does.
    """
    lengths = np.fromiter((len(h) for h in hash_sets), dtype=np.int64, count=len(hash_sets))
    flat = np.concatenate(hash_sets).astype(np.uint32) if hash_sets else np.empty(0, np.uint32)
    return flat_signatures(flat, lengths, num_perm, seed, chunk)


def reference_signature(shingle_list: list[str], config: SignConfig) -> np.ndarray:
    """The datasketch MinHash of one text: the reference our batched path must equal."""
    m = MinHash(num_perm=config.num_perm, seed=config.seed, hashfunc=datasketch_hashfunc)
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
