"""A pair scorer learned from labels: the probability that two texts raise the same complaint.

Jaccard of character shingles alone cannot tell a copy that rewords half a letter from another
letter that shares its stock phrases. The scorer reads a few similarities of a candidate pair
(``FEATURES``) and a scikit-learn classifier fitted on labelled pairs turns them into a match
probability; the verifier accepts a pair at ``cluster.match_probability``. The place veto stays a
hard rule before it.

- ``jaccard`` and ``containment``: the run's shingles (boilerplate left out), the MinHash estimate of
  their Jaccard and the share of the smaller text's shingles that this Jaccard implies are shared.
- ``word_cosine`` and ``word_containment``: the words of the two texts weighted by their rarity in
  jieba's dictionary (a rare word such as an estate or a building weighs more than 问题), as a
  cosine of binary word sets and as the share of the lighter text's weight that the other holds.
  The weights come from the dictionary, not from the batch, so a night scores a pair as a rebuild does.
- ``length_ratio`` and ``shorter_length``: how far apart the sizes are and how short the shorter is.

The classifier is gradient-boosted trees: pairs of stock letters about another place and
one-liners against the full letter need feature interactions that a linear model misses
(docs/design.md). ``contributions`` explains a decision feature by feature, from a reference pair
to this one, in ``FEATURES`` order (a waterfall).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain

import numpy as np

from dedup.core import lexicon
from dedup.runtime.arrays import unique

FEATURES = ("jaccard", "containment", "word_cosine", "word_containment", "length_ratio", "shorter_length")


@functools.lru_cache(maxsize=1)
def word_weights() -> tuple[dict[str, float], float]:
    """(word -> log(total / (count + 1)) over jieba's dictionary, the weight of a word it lacks)."""
    counts = {word: count for word, count, _ in lexicon.entries(max_length=64)}
    total = float(sum(counts.values()))
    return {word: math.log(total / (count + 1)) for word, count in counts.items()}, math.log(total)


class WordSets:
    """Each node's distinct words as a sparse 0/1 row, with their weights; built once, read per pair."""

    def __init__(self, tokens: Sequence[Sequence[str]]) -> None:
        from scipy import sparse

        table, unknown = word_weights()
        lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
        flat = list(chain.from_iterable(tokens))
        vocabulary = dict.fromkeys(flat)
        codes = dict(zip(vocabulary, range(len(vocabulary))))
        words = np.fromiter(map(codes.__getitem__, flat), dtype=np.int64, count=len(flat))
        self.weight = np.fromiter((table.get(w, unknown) for w in vocabulary), dtype=np.float64,
                                  count=len(vocabulary))
        n, v = len(tokens), max(len(vocabulary), 1)
        cells = unique(np.repeat(np.arange(n, dtype=np.int64), lengths) * v + words)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(cells // v, minlength=n), out=indptr[1:])
        self.rows = sparse.csr_matrix((np.ones(len(cells), np.float32), (cells % v).astype(np.int32), indptr),
                                      shape=(n, v))
        self.mass = self.rows @ self.weight
        self.norm = np.sqrt(self.rows @ (self.weight ** 2))

    def shared(self, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(weight, squared weight) of the words both nodes of each pair hold."""
        both = self.rows[i].multiply(self.rows[j]).tocsr()
        return both @ self.weight, both @ (self.weight ** 2)


def features(jaccard: np.ndarray, size_a: np.ndarray, size_b: np.ndarray, words: WordSets, i: np.ndarray,
             j: np.ndarray) -> np.ndarray:
    """The (pairs, len(FEATURES)) feature matrix from the pairs' Jaccard (the MinHash estimate a run has
    already), their shingle counts and their word sets. The intersection is the one the Jaccard and the
    sizes imply: an exact one cost ten times the rest of the features together."""
    smaller = np.maximum(np.minimum(size_a, size_b), 1)
    inter = jaccard * (size_a + size_b) / (1.0 + jaccard)
    mass, mass_sq = words.shared(i, j)
    cosine = mass_sq / np.maximum(words.norm[i] * words.norm[j], 1e-12)
    lighter = np.maximum(np.minimum(words.mass[i], words.mass[j]), 1e-12)
    return np.column_stack([jaccard, inter / smaller, cosine, np.minimum(mass / lighter, 1.0),
                            np.abs(np.log(np.maximum(size_a, 1) / np.maximum(size_b, 1))), np.log1p(smaller)])


@dataclass
class PairScorer:
    """A fitted classifier over ``FEATURES`` and where it came from."""

    model: object
    reference: np.ndarray                       # the features of a typical non-matching pair (medians)
    path: str = ""
    sidecar: dict = field(default_factory=dict)

    def probability(self, x: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(np.asarray(x, dtype=np.float64))[:, 1] if len(x) else np.zeros(0)

    def contributions(self, x: np.ndarray) -> list[tuple[str, float, float]]:
        """(feature, value, change in probability) from the reference pair to ``x``, one feature at a time
        in ``FEATURES`` order; the changes add up to p(x) - p(reference)."""
        steps = np.tile(self.reference, (len(FEATURES) + 1, 1))
        for k in range(len(FEATURES)):
            steps[k + 1:, k] = x[k]
        p = self.probability(steps)
        return [(name, float(x[k]), float(p[k + 1] - p[k])) for k, name in enumerate(FEATURES)]

    @property
    def base(self) -> float:
        return float(self.probability(self.reference[None, :])[0])

    @property
    def sha256(self) -> str:
        return self.sidecar.get("model_sha256", "")


def fit(x: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None, seed: int = 0) -> PairScorer:
    """Gradient-boosted trees on the pairs' features (``weight`` evens out the sources)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    y = np.asarray(y, dtype=bool)
    if y.all() or not y.any():
        raise ValueError("fitting a pair scorer needs matching and non-matching pairs")
    model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, random_state=seed)
    model.fit(np.asarray(x, dtype=np.float64), y, sample_weight=weight)
    return PairScorer(model, np.median(np.asarray(x)[~y], axis=0))
