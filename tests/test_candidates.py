"""Banding on arrays must find exactly the pairs datasketch.MinHashLSH finds."""

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH

from dedup.core.candidates import bucket_ids, candidate_pairs, candidate_probability, lsh_params
from dedup.core.signatures import char_shingles, datasketch_hashfunc, hash_shingles, signatures

TEXTS = ["东昌府区古楼街道星光花园门口的路灯坏了三盏", "东昌府区古楼街道星光花园门口的路灯坏了两盏",
         "古楼街道星光花园门口的路灯坏了三盏请维修", "临清市松林镇王庄村自来水停水三天了",
         "临清市松林镇王庄村自来水停水五天了", "住房公积金提取太慢", "住房公积金提取太慢了", "完全无关的一句话"]


def datasketch_pairs(texts, num_perm, bands, rows):
    lsh = MinHashLSH(num_perm=num_perm, params=(bands, rows))
    hashes = []
    for k, t in enumerate(texts):
        m = MinHash(num_perm=num_perm, seed=1, hashfunc=datasketch_hashfunc)
        m.update_batch([s.encode("utf-8") for s in char_shingles(t, 3)])
        lsh.insert(k, m)
        hashes.append(m)
    return {(min(k, o), max(k, o)) for k, m in enumerate(hashes) for o in lsh.query(m) if o != k}


def test_same_pairs_as_datasketch_for_several_band_shapes():
    sig = signatures(hash_shingles([char_shingles(t, 3) for t in TEXTS]), 128, 1)
    for bands, rows in ((32, 4), (16, 8), (8, 16), (42, 3), (2, 64)):
        i, j = candidate_pairs(sig, bands, rows)
        assert set(zip(i.tolist(), j.tolist())) == datasketch_pairs(TEXTS, 128, bands, rows), (bands, rows)


def test_pairs_unique_and_ordered():
    sig = signatures(hash_shingles([char_shingles(t, 3) for t in TEXTS * 3]), 64, 1)
    i, j = candidate_pairs(sig, 16, 4)
    assert (i < j).all()
    assert len(set(zip(i.tolist(), j.tolist()))) == len(i)


def test_params_default_to_datasketch_optimum():
    lsh = MinHashLSH(threshold=0.4, num_perm=128)
    assert lsh_params(0.4, 128) == (lsh.b, lsh.r)
    assert lsh_params(0.4, 128, 20, 5) == (20, 5)


def test_s_curve_is_monotone():
    p = candidate_probability(np.linspace(0, 1, 11), 20, 5)
    assert p[0] == 0.0 and abs(p[-1] - 1.0) < 1e-12 and (np.diff(p) >= 0).all()


def partition(labels):
    groups = {}
    for row, label in enumerate(labels.tolist()):
        groups.setdefault(label, []).append(row)
    return sorted(groups.values())


def test_bucket_ids_group_exactly_the_equal_bands():
    rng = np.random.default_rng(3)
    sig = rng.integers(0, 3, size=(300, 12), dtype=np.uint32)  # few values: many shared bands
    ids = bucket_ids(sig, 4, 3)
    for band in range(4):
        expected = np.unique(sig[:, band * 3:(band + 1) * 3], axis=0, return_inverse=True)[1].ravel()
        assert partition(ids[band]) == partition(expected)
        assert ids[band].min() == 0 and ids[band].max() == len(np.unique(ids[band])) - 1  # dense


def test_a_key_collision_is_split_by_the_values(monkeypatch):
    import dedup.core.candidates as candidates

    rng = np.random.default_rng(4)
    sig = rng.integers(0, 3, size=(200, 6), dtype=np.uint32)
    monkeypatch.setattr(candidates, "_MIX", np.uint64(0))  # every band key becomes 0
    ids = bucket_ids(sig, 2, 3)
    for band in range(2):
        expected = np.unique(sig[:, band * 3:(band + 1) * 3], axis=0, return_inverse=True)[1].ravel()
        assert partition(ids[band]) == partition(expected)


@pytest.mark.parametrize("small_keys", [False, True])
def test_bucket_numbers_are_the_ranks_of_the_band_keys(monkeypatch, small_keys):
    """A band's bucket numbers are its keys' ranks, for 64-bit keys (sorted by their high bits) and for
    small ones (sorted whole)."""
    import dedup.core.candidates as candidates

    rng = np.random.default_rng(5)
    sig = rng.integers(0, 4, size=(500, 6), dtype=np.uint32)
    keys_of = candidates._mixed
    if small_keys:  # a band's key is its rank among the bands: below 2**9, under the rows' 9 position bits
        def keys_of(columns, n):
            return np.unique(np.stack(columns, axis=1), axis=0, return_inverse=True)[1].ravel().astype(np.uint64)
        monkeypatch.setattr(candidates, "_mixed", keys_of)
    ids = bucket_ids(sig, 2, 3)
    for band in range(2):
        keys = keys_of([sig[:, c] for c in range(band * 3, band * 3 + 3)], len(sig))
        assert np.array_equal(ids[band], np.unique(keys, return_inverse=True)[1].ravel())
