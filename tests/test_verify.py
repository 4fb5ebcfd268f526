"""The place veto on arrays against its definition, ``places_conflict`` on the places themselves."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.core.segment import places_conflict
from dedup.core.verify import Verifier

# places at three levels, a few names each, some texts naming several at one level
_level_words = {1: ["东昌府区", "临清市", "江北区"], 2: ["古楼街道", "新华路街道", "解放碑"],
                3: ["金桂新城小区", "星悦酒店", "丽发新城", "伊景园"]}
_places = st.fixed_dictionaries({}, optional={
    level: st.frozensets(st.sampled_from(words), min_size=1, max_size=3) for level, words in _level_words.items()})


@settings(max_examples=60, deadline=None)
@given(st.lists(_places, min_size=2, max_size=12), st.data())
def test_conflicts_on_codes_match_places_conflict(places, data):
    n = len(places)
    i = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=40)))
    j = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=len(i), max_size=len(i))))
    verifier = Verifier(np.zeros((n, 4), np.uint32), np.zeros(0, np.uint32), np.zeros(n, np.int64), places, 0.4)
    expected = [places_conflict(places[a], places[b]) for a, b in zip(i.tolist(), j.tolist())]
    assert verifier.conflicts(i, j).tolist() == expected


def test_texts_naming_several_places_conflict_only_when_they_share_none():
    places = [{3: frozenset({"丽发新城", "伊景园"})}, {3: frozenset({"伊景园"})}, {3: frozenset({"星悦酒店"})},
              {3: frozenset({"星悦酒店", "金桂新城小区"})}, {}, {2: frozenset({"古楼街道", "解放碑"})}]
    verifier = Verifier(np.zeros((6, 4), np.uint32), np.zeros(0, np.uint32), np.zeros(6, np.int64), places, 0.4)
    i, j = np.array([0, 0, 0, 3, 4, 5]), np.array([1, 2, 3, 2, 0, 0])
    assert verifier.conflicts(i, j).tolist() == [False, True, True, False, False, False]
