"""Array helpers where numpy's general answer is slow for our sizes.

numpy 2.3 and later answer ``np.unique(x)`` (no indices asked for) from a hash
table, which on this machine is 20 to 50 times slower than sorting for
millions of integers (11M int64: 23 s against 0.4 s). The helpers here sort.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def unique(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values of a 1-d array, as ``np.unique`` returns them."""
    out = np.sort(values, axis=None)
    if len(out) < 2:
        return out
    keep = np.empty(len(out), dtype=bool)
    keep[0] = True
    np.not_equal(out[1:], out[:-1], out=keep[1:])
    return out[keep]


def dense_codes(values: np.ndarray) -> np.ndarray:
    """``np.unique(values, return_inverse=True)[1]`` of a 1-d integer array: each value's rank among the
    distinct values (``unique_inverse``)."""
    return unique_inverse(values)[1]


def unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` of a 1-d integer array, from ``stable_sort`` (one SIMD
    sort of the values packed with their positions: 3x faster for 700k bucket keys)."""
    sorted_values, order = stable_sort(values)
    new = np.ones(len(values), dtype=bool)
    np.not_equal(sorted_values[1:], sorted_values[:-1], out=new[1:])
    inverse = np.empty(len(values), dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return sorted_values[new], inverse


def stable_order(values: np.ndarray) -> np.ndarray:
    """``np.argsort(values, kind="stable")`` of a 1-d integer array (``stable_sort``)."""
    return stable_sort(values)[1]


def stable_sort(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(values[order], order)`` for ``order = np.argsort(values, kind="stable")`` of a 1-d integer
    array, from one plain sort where it can.

    Each value and its position are packed into one integer and sorted with
    SIMD (700k int32: 19 ms against 83 ms). Values too wide to leave room for
    the positions are packed by their high bits; where two different values
    share those, the stable argsort answers instead (for 700k random 64-bit
    keys, about one call in seventy).
    """
    n = len(values)
    shift = max(1, (n - 1).bit_length())
    if n < 2 or values.dtype.kind not in "iu" or (values.dtype.kind == "i" and values.min() < 0):
        order = np.argsort(values, kind="stable")
        return values[order], order
    wide = values.dtype.itemsize * 8 + shift > 64 and int(values.max()) >> (64 - shift)
    unsigned = values.astype(np.uint64, copy=False)
    positions = np.arange(n, dtype=np.uint64)
    mask = np.uint64((1 << shift) - 1)
    if not wide:
        packed = np.sort(unsigned << np.uint64(shift) | positions)
        return (packed >> np.uint64(shift)).astype(values.dtype), (packed & mask).astype(np.intp)
    packed = np.sort(unsigned >> np.uint64(shift) << np.uint64(shift) | positions)
    order = (packed & mask).astype(np.intp)
    ordered = values[order]
    high = packed >> np.uint64(shift)
    if ((high[1:] == high[:-1]) & (ordered[1:] != ordered[:-1])).any():
        order = np.argsort(values, kind="stable")
        return values[order], order
    return ordered, order


def transposed(matrix: np.ndarray, block: int = 16384) -> np.ndarray:
    """``matrix.T`` made contiguous, a block of rows at a time: numpy's strided copy of a whole
    700k x 126 signature matrix misses the cache on every read (1.3-1.6 s against 0.3-0.4 s)."""
    out = np.empty(matrix.shape[::-1], dtype=matrix.dtype)
    for start in range(0, len(matrix), block):
        out[:, start:start + block] = matrix[start:start + block].T
    return out


def text_array(values: Sequence[str]) -> np.ndarray:
    """Strings as an array that numpy sorts in Python's order, comparing in C.

    Fixed-width unicode compares code points as Python does, except that numpy
    drops trailing NULs; a list holding a NUL stays an array of objects
    (compared by Python, ten times slower for a million ids).
    """
    values = list(values)
    if not values or "\x00" in "\x01".join(values):
        return np.asarray(values, dtype=object)
    return np.asarray(values, dtype=str)


def ranks(values: Sequence[str]) -> np.ndarray:
    """Each string's position in sorted order (ties by position), as ``argsort(argsort(values))``."""
    order = np.argsort(text_array(values), kind="stable")
    out = np.empty(len(order), dtype=np.int64)
    out[order] = np.arange(len(order))
    return out


def key_ranks(keys: Sequence[str] | np.ndarray) -> np.ndarray:
    """``ranks(keys)``, or ``keys`` themselves when they are such ranks already (an integer array)."""
    if isinstance(keys, np.ndarray) and keys.dtype.kind in "iu":
        return keys
    return ranks(keys)


def first_in_groups(groups: np.ndarray, key: np.ndarray, n_groups: int) -> np.ndarray:
    """For each group 0..n_groups-1 (every one non-empty), the index of its element with the smallest
    ``key``, ties to the earliest index."""
    order = np.lexsort((key, groups))
    return order[np.searchsorted(groups[order], np.arange(n_groups))]


def code_points(text: str) -> np.ndarray:
    """The text's code points as uint32 (lone surrogates included), read at C speed."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def run_positions(sorted_values: np.ndarray) -> np.ndarray:
    """Each element's place within its run of equal values in a sorted array (0, 1, 2, ... per run):
    ``arange(n) - searchsorted(v, v)`` in one linear pass instead of n binary searches."""
    n = len(sorted_values)
    if not n:
        return np.zeros(0, np.int64)
    starts = np.flatnonzero(np.concatenate(([True], sorted_values[1:] != sorted_values[:-1])))
    return np.arange(n) - np.repeat(starts, np.diff(np.append(starts, n)))
