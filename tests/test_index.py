"""The persisted index finds exactly the pairs that share a band key and pass the place veto."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dedup.core.candidates import band_keys
from dedup.core.verify import NONE, SEVERAL, codes_compatible
from dedup.storage.index import Index, write_segment

BANDS, ROWS = 6, 2


def _codes(rng: np.random.Generator, n: int) -> np.ndarray:
    """(3, n) place codes over a few places per level, with NONE and SEVERAL mixed in."""
    codes = rng.integers(0, 4, size=(3, n)).astype(np.int64) * 1_000_003 + 17
    codes[rng.random((3, n)) < 0.3] = NONE
    codes[rng.random((3, n)) < 0.1] = SEVERAL
    return codes


def _brute_force(query_keys, query_codes, stored_keys, stored_codes, stored_ids, veto: bool) -> set:
    found = set()
    for q in range(query_keys.shape[1]):
        for r in range(stored_keys.shape[1]):
            if not (query_keys[:, q] == stored_keys[:, r]).any():
                continue
            if veto and not codes_compatible(query_codes[:, [q]], stored_codes[:, [r]])[0]:
                continue
            found.add((q, int(stored_ids[r])))
    return found


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("old_format", [False, True])
def test_lookup_finds_every_pair_the_veto_allows(tmp_path, seed, old_format):
    rng = np.random.default_rng(seed)
    n, m = 300, 80
    sig = rng.integers(0, 3, size=(n, BANDS * ROWS)).astype(np.uint32)  # few values: crowded buckets
    query_sig = rng.integers(0, 3, size=(m, BANDS * ROWS)).astype(np.uint32)
    ids = rng.choice(10_000, size=n, replace=False).astype(np.int64)
    codes, query_codes = _codes(rng, n), _codes(rng, m)
    folder = write_segment(tmp_path, "s1", ids, sig, codes, BANDS, ROWS)
    if old_format:  # an index written before the keyed tables: they are rebuilt on reading
        for name in ("placed_keys", "placed_rows", "open_keys", "open_rows"):
            (folder / f"{name}.npy").unlink()
        (folder / "segment.json").write_text(json.dumps({"count": n}))  # and before checksums
    index = Index(tmp_path, ["s1"])
    keys = np.stack([band_keys(query_sig, b, ROWS) for b in range(BANDS)])
    stored = np.stack([band_keys(sig, b, ROWS) for b in range(BANDS)])
    for veto in (True, False):
        query, node = index.lookup(keys, query_codes if veto else None)
        got = set(zip(query.tolist(), node.tolist()))
        assert len(got) == len(query)  # unique pairs
        assert got == _brute_force(keys, query_codes, stored, codes, ids, veto)
    assert len(got) > 0


def test_lookup_with_no_queries(tmp_path):
    rng = np.random.default_rng(5)
    sig = rng.integers(0, 3, size=(20, BANDS * ROWS)).astype(np.uint32)
    write_segment(tmp_path, "s1", np.arange(20), sig, _codes(rng, 20), BANDS, ROWS)
    query, node = Index(tmp_path, ["s1"]).lookup(np.empty((BANDS, 0), np.uint64), np.empty((3, 0), np.int64))
    assert len(query) == len(node) == 0


@pytest.mark.parametrize("seed", [0, 1])
def test_lookup_bounds(tmp_path, seed):
    """Caps above every bucket change nothing; tight caps keep each query's most-shared stored centres."""
    rng = np.random.default_rng(seed)
    n, m = 300, 80
    sig = rng.integers(0, 3, size=(n, BANDS * ROWS)).astype(np.uint32)
    query_sig = rng.integers(0, 3, size=(m, BANDS * ROWS)).astype(np.uint32)
    ids = rng.choice(10_000, size=n, replace=False).astype(np.int64)
    write_segment(tmp_path, "s1", ids, sig, _codes(rng, n), BANDS, ROWS)
    index = Index(tmp_path, ["s1"])
    keys = np.stack([band_keys(query_sig, b, ROWS) for b in range(BANDS)])
    stored = np.stack([band_keys(sig, b, ROWS) for b in range(BANDS)])
    everything = set(zip(*(a.tolist() for a in index.lookup(keys))))
    assert set(zip(*(a.tolist() for a in index.lookup(keys, cap=n, candidates=n * BANDS)))) == everything
    stats: dict = {}
    query, node = index.lookup(keys, cap=5, candidates=3, stats=stats)
    assert np.bincount(query).max() <= 3 and stats["buckets_capped"] > 0
    shared = {(q, int(i)): int((keys[:, q] == stored[:, r]).sum()) for r, i in enumerate(ids) for q in range(m)}
    for q in set(query.tolist()):  # without the per-key cap, the kept are the most shared
        kept = node[query == q].tolist()
        uncapped_query, uncapped_node = index.lookup(keys[:, [q]], candidates=3)
        assert sorted(shared[(q, k)] for k in uncapped_node.tolist()) == \
            sorted(sorted((s for (qq, _), s in shared.items() if qq == q and s > 0), reverse=True)[:3])
        assert len(kept) <= 3
