"""Our batched MinHash must equal datasketch's, value for value."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.config import SignConfig
from dedup.core.signatures import (
    char_shingle_hashes,
    char_shingles,
    estimate_jaccard,
    exact_jaccard,
    flat_signatures,
    hash_shingles,
    reference_signature,
    shingle_hash,
    shingles,
    signatures,
)

CORPUS = ["东昌府区古楼街道星光花园的路灯坏了", "路灯", "", "a", "临清市松林镇王庄村自来水停水三天了，emoji🙂也算",
          "ＡＢＣ full width", "重复重复重复重复重复重复重复"]


def test_word_and_char_shingles():
    assert shingles(["a", "b", "c"], 2) == ["a b", "b c"]
    assert shingles(["a"], 2) == ["a"]
    assert shingles([], 2) == []
    assert char_shingles("路灯,坏了", 3) == ["路灯坏", "灯坏了"]


def test_signatures_equal_datasketch_on_varied_corpus():
    for config in (SignConfig(), SignConfig(num_perm=64, seed=7, shingle="word", ngram=2)):
        lists = [char_shingles(t, 3) if config.shingle == "char" else shingles(list(t), 2) for t in CORPUS]
        ours = signatures(hash_shingles(lists), config.num_perm, config.seed, chunk=16)
        for row, sh in zip(ours, lists):
            assert np.array_equal(row, reference_signature(sh, config))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=30), min_size=1, max_size=8), st.integers(0, 2**31 - 1))
def test_signatures_equal_datasketch_property(texts, seed):
    config = SignConfig(num_perm=32, seed=seed)
    lists = [char_shingles(t, 3) for t in texts]
    ours = signatures(hash_shingles(lists), 32, seed)
    for row, sh in zip(ours, lists):
        assert np.array_equal(row, reference_signature(sh, config))


def test_same_seed_same_signatures_other_seed_differs():
    sets = hash_shingles([char_shingles(CORPUS[0], 3)])
    assert np.array_equal(signatures(sets, 128, 1), signatures(sets, 128, 1))
    assert not np.array_equal(signatures(sets, 128, 1), signatures(sets, 128, 2))


@given(st.sets(st.integers(0, 50)), st.sets(st.integers(0, 50)))
def test_exact_jaccard_symmetric_and_bounded(a, b):
    x = np.array(sorted(a), dtype=np.uint32)
    y = np.array(sorted(b), dtype=np.uint32)
    j = exact_jaccard(x, y)
    assert j == exact_jaccard(y, x)
    assert 0.0 <= j <= 1.0


def test_estimate_close_to_exact():
    a = hash_shingles([char_shingles("东昌府区古楼街道星光花园门口的路灯坏了三盏晚上出行非常不方便", 3)])[0]
    b = hash_shingles([char_shingles("东昌府区古楼街道星光花园门口的路灯坏了三盏晚上出行特别不方便", 3)])[0]
    sig = signatures([a, b], 256, 1)
    est = estimate_jaccard(sig, np.array([0]), np.array([1]))[0]
    assert abs(est - exact_jaccard(a, b)) < 0.1


def _reference_char_hashes(texts, n):
    return [[shingle_hash(sh) for sh in char_shingles(t, n)] for t in texts]


SHINGLE_ALPHABET = list("路灯坏了 ,.!ab12Ａ\u3000") + ["🙂", "𠀀", "\ud800"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(SHINGLE_ALPHABET), max_size=12), max_size=10), st.integers(1, 5))
def test_char_shingle_hashes_equal_hashing_each_shingle(texts, n):
    """Hashed at every position at once and picked: the same hashes, in order and with repeats, as one by one."""
    hashes, lengths = char_shingle_hashes(texts, n)
    expected = _reference_char_hashes(texts, n)
    assert lengths.tolist() == [len(e) for e in expected]
    assert hashes.tolist() == [h for e in expected for h in e]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(SHINGLE_ALPHABET), max_size=20), min_size=1, max_size=8),
       st.integers(0, 2**31 - 1), st.sampled_from([1, 3, 16, 1 << 16]))
def test_flat_signatures_equal_datasketch(texts, seed, chunk):
    config = SignConfig(num_perm=16, seed=seed)
    hashes, lengths = char_shingle_hashes(texts, 3)
    ours = flat_signatures(hashes, lengths, 16, seed, chunk=chunk)
    for row, text in zip(ours, texts):
        assert np.array_equal(row, reference_signature(char_shingles(text, 3), config))
