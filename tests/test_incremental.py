"""The merge candidates of a night: which stored centres a new text bridges."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from dedup.batch.incremental import bridges


def test_a_text_accepted_by_two_centres_bridges_them():
    # text 0 joined centre 5 and was also accepted by 6; text 1 only by its own centre 5;
    # text 2 was rejected (-1) by centre 7, so 7 is no bridge
    nodes = np.array([0, 1, 0, 2, 2])
    centres = np.array([5, 5, 6, 6, 7])
    sims = np.array([0.9, 0.8, 0.7, 0.95, -1.0])
    labels = np.array([5, 5, 6])
    a, b = bridges(nodes, centres, sims, labels)
    assert a.tolist() == [5] and b.tolist() == [6]


def _bridges_loop(nodes, centres, sims, labels):
    """The rule as first written: each node in order, its accepted centres in hit order."""
    accepted = sims >= 0
    out = []
    for node in sorted(set(nodes[accepted].tolist())):
        for other in centres[accepted & (nodes == node)].tolist():
            if other != labels[node]:
                out.append((labels[node], other))
    return out


@given(st.lists(st.tuples(st.integers(0, 6), st.integers(7, 11), st.floats(-1, 1)), max_size=40),
       st.lists(st.integers(7, 11), min_size=7, max_size=7))
def test_bridges_are_the_loop_s_pairs_in_its_order(hits, labels):
    nodes = np.array([h[0] for h in hits], dtype=np.int64)
    centres = np.array([h[1] for h in hits], dtype=np.int64)
    sims = np.array([h[2] for h in hits], dtype=np.float64)
    labels = np.array(labels, dtype=np.int64)
    a, b = bridges(nodes, centres, sims, labels)
    assert list(zip(a.tolist(), b.tolist())) == _bridges_loop(nodes, centres, sims, labels)
