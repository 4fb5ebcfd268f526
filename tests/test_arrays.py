"""The sorting helpers must answer exactly as numpy's general functions do."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from dedup.arrays import unique


@given(st.lists(st.integers(-2**62, 2**62), max_size=200), st.integers(1, 50))
def test_unique_is_numpy_unique(values, spread):
    x = np.array([v % spread if spread < 50 else v for v in values], dtype=np.int64)
    got = unique(x)
    assert got.dtype == x.dtype
    assert np.array_equal(got, np.unique(x))
    assert np.array_equal(x, np.array([v % spread if spread < 50 else v for v in values], dtype=np.int64))  # untouched
