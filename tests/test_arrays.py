"""The sorting helpers must answer exactly as numpy's general functions do."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.runtime.arrays import first_in_groups, unique


@given(st.lists(st.integers(-2**62, 2**62), max_size=200), st.integers(1, 50))
def test_unique_is_numpy_unique(values, spread):
    x = np.array([v % spread if spread < 50 else v for v in values], dtype=np.int64)
    got = unique(x)
    assert got.dtype == x.dtype
    assert np.array_equal(got, np.unique(x))
    assert np.array_equal(x, np.array([v % spread if spread < 50 else v for v in values], dtype=np.int64))  # untouched


@given(st.lists(st.text(alphabet="ab\x00中1", max_size=4), max_size=30))
def test_ranks_follow_python_order(values):
    from dedup.runtime.arrays import ranks

    expected = sorted(range(len(values)), key=lambda k: (values[k], k))
    got = ranks(values)
    assert [int(k) for k in np.argsort(got)] == expected


@given(st.lists(st.datetimes(min_value=__import__("datetime").datetime(1990, 1, 1)), max_size=30))
def test_time_keys_order_as_the_strings(times):
    from dedup.core.topics import _time_keys

    texts = np.array([t.strftime("%Y-%m-%d %H:%M:%S") for t in times], dtype=object)
    keys = _time_keys(texts)
    for a in range(len(texts)):
        for b in range(len(texts)):
            assert (keys[a] < keys[b]) == (texts[a] < texts[b])


@given(st.lists(st.tuples(st.integers(0, 4), st.integers(-3, 3)), min_size=1, max_size=40))
def test_first_in_groups_is_each_groups_smallest_key_earliest_first(pairs):
    present = sorted({g for g, _ in pairs})
    dense = {g: k for k, g in enumerate(present)}
    groups = np.array([dense[g] for g, _ in pairs])
    key = np.array([v for _, v in pairs])
    expected = [min((v, k) for k, (g, v) in enumerate(zip(groups.tolist(), key.tolist())) if g == n)[1]
                for n in range(len(present))]
    assert first_in_groups(groups, key, len(present)).tolist() == expected


@given(st.integers(0, 70), st.integers(0, 9), st.integers(1, 16), st.integers(0, 3))
def test_transposed_is_the_contiguous_transpose(n, width, block, skip):
    from dedup.runtime.arrays import transposed

    matrix = np.arange(n * (width + skip), dtype=np.uint32).reshape(n, width + skip) * 2654435761
    view = matrix[:, :width]  # as bucket_ids passes it: the first bands' columns of the signatures
    got = transposed(view, block)
    assert got.flags.c_contiguous and got.dtype == view.dtype
    assert np.array_equal(got, view.T)


@given(st.lists(st.integers(0, 2**62), max_size=60), st.integers(1, 60))
def test_dense_codes_are_numpy_s_inverse(values, spread):
    from dedup.runtime.arrays import dense_codes, unique_inverse

    x = np.array([v % spread for v in values] if spread < 60 else values, dtype=np.int64)
    distinct, inverse = np.unique(x, return_inverse=True)
    got = dense_codes(x)  # values up to 2**62 leave no room for positions: numpy's own answer
    assert np.array_equal(got, inverse.ravel())
    got_distinct, got_inverse = unique_inverse(x)
    assert np.array_equal(got_distinct, distinct) and np.array_equal(got_inverse, inverse.ravel())


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["int32", "int64", "uint32", "uint64"]), st.booleans(), st.booleans(), st.integers(0, 300),
       st.integers(0, 2**32 - 1))
def test_stable_order_is_the_stable_argsort(dtype, wide, collide, n, seed):
    """Narrow values packed whole, wide ones by their high bits (checked, else argsorted): numpy's stable
    order either way, ties by position. ``collide``: values that differ in their low bits only."""
    from dedup.runtime.arrays import stable_order, stable_sort

    rng = np.random.default_rng(seed)
    bits = np.iinfo(dtype).bits - (np.dtype(dtype).kind == "i")
    top = bits if wide else int(rng.integers(0, 16))
    pool = rng.integers(0, 2**top, size=max(1, n // 4 + 1), dtype=np.uint64, endpoint=False)
    values = rng.choice(pool, size=n)
    if collide:
        values[: n // 2] = values[: n // 2] >> np.uint64(9) << np.uint64(9) | rng.integers(0, 512, n // 2, dtype=np.uint64)
    values = values.astype(dtype)
    expected = np.argsort(values, kind="stable")
    assert np.array_equal(stable_order(values), expected)
    ordered, order = stable_sort(values)
    assert ordered.dtype == values.dtype and np.array_equal(ordered, values[expected])


def test_stable_order_of_negative_values():
    from dedup.runtime.arrays import stable_order

    values = np.array([3, -1, 3, 0, -1, 2])
    assert stable_order(values).tolist() == np.argsort(values, kind="stable").tolist()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 20), max_size=200))
def test_run_positions(values):
    from dedup.runtime.arrays import run_positions

    v = np.sort(np.array(values, dtype=np.int64))
    assert run_positions(v).tolist() == (np.arange(len(v)) - np.searchsorted(v, v)).tolist()
