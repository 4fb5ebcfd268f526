"""The department model's features: jieba words, word bigrams and the counties a place implies, counted on
arrays from the tokens a run already has (the same matrix as scikit-learn's, tested), and the calibrated
probabilities computed for all classes at once."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain

import numpy as np

from dedup.core.gazetteer import EMPTY, Gazetteer
from dedup.core.segment import Segmenter
from dedup.storage.modelfile import ModelError, ModelUnavailable, file_sha256, sidecar_path  # noqa: F401 (the module's API)


class SegmentAnalyzer:
    """Text -> jieba words, word bigrams and implied counties; a named class so the fitted model pickles.

    With ``where`` set, every word is also crossed with each county the text names or implies
    (``"@county|word"``): a linear model then learns a unit that depends on the kind of complaint
    *and* on where it is (a county's government for one kind, a city department for another, or
    either, by county), which additive word and county features cannot express.
    """

    def __init__(self, segmenter: Segmenter | None = None, where: bool = False) -> None:
        self.segmenter = segmenter or Segmenter()
        self.where = where

    def __call__(self, doc: str | list[str]) -> list[str]:
        words = doc if isinstance(doc, list) else self.segmenter(doc)  # a run passes tokens it already has
        # a street or village implies its county: units answering for a county need that word
        counties = [f"@{c}" for c in sorted(self.segmenter.gazetteer.places(words).get(1, ()))]
        out = words + [f"{a} {b}" for a, b in zip(words, words[1:])] + counties
        if counties and getattr(self, "where", False):  # models pickled before the option have none
            distinct = list(dict.fromkeys(words))
            out += [f"{c}|{w}" for c in counties for w in distinct]
        return out


_BIGRAM_ENDS: tuple[dict, set[str], set[str]] | None = None  # (vocabulary, heads, tails) of the last one asked
_COUNTIES: dict[tuple[int, str], tuple[str, ...]] = {}         # (gazetteer, word) -> the counties it names or implies


def bigram_ends(vocabulary: dict[str, int]) -> tuple[set[str], set[str]]:
    """(words that start a bigram feature, words that end one), made once per vocabulary: a router's
    workers, forked after it was made, all use it (each chunk made it again: a fifth of the counting)."""
    global _BIGRAM_ENDS
    if _BIGRAM_ENDS is None or _BIGRAM_ENDS[0] is not vocabulary:  # held, so the identity is never reused
        heads, tails = set(), set()
        for feature in vocabulary:
            for at, char in enumerate(feature):
                if char == " ":
                    heads.add(feature[:at])
                    tails.add(feature[at + 1:])
        _BIGRAM_ENDS = (vocabulary, heads, tails)
    return _BIGRAM_ENDS[1], _BIGRAM_ENDS[2]


def _counties(word: str, gazetteer: Gazetteer) -> tuple[str, ...]:
    key = (id(gazetteer), word)  # a router's gazetteer lives as long as the process
    found = _COUNTIES.get(key)
    if found is None:
        found = _COUNTIES[key] = tuple(sorted(gazetteer.places([word]).get(1, ())))
    return found


def segment_counts(docs: Sequence[list[str]], vocabulary: dict[str, int], gazetteer: Gazetteer = EMPTY,
                   where: bool = False):
    """``CountVectorizer(analyzer=SegmentAnalyzer(where=where)).transform(docs)`` for token lists, on arrays.

    The same matrix (tested), without building a string for every bigram of
    every text: each distinct word is looked up once, each distinct adjacent
    pair that could be a feature once, each word's counties once, and each
    (county, word) cross once per county.
    """
    from scipy.sparse import csr_array

    from dedup.runtime.arrays import unique, unique_inverse

    n_docs, n_features = len(docs), len(vocabulary)
    lengths = np.fromiter(map(len, docs), dtype=np.int64, count=n_docs)
    flat = list(chain.from_iterable(docs))
    words = list(dict.fromkeys(flat))
    n_words = max(len(words), 1)
    codes = np.fromiter(map(dict(zip(words, range(len(words)))).__getitem__, flat), dtype=np.int64, count=len(flat))
    doc = np.repeat(np.arange(n_docs), lengths)
    rows, cols = [doc], [np.fromiter((vocabulary.get(w, -1) for w in words), dtype=np.int64, count=len(words))[codes]]
    # bigrams "a b": only a pair whose a ends and whose b starts some feature at a space can be one
    heads, tails = bigram_ends(vocabulary)
    can_head = np.fromiter((w in heads for w in words), dtype=bool, count=len(words))
    can_tail = np.fromiter((w in tails for w in words), dtype=bool, count=len(words))
    adjacent = np.flatnonzero((doc[1:] == doc[:-1]) & can_head[codes[:-1]] & can_tail[codes[1:]])
    pairs, pair_code = unique_inverse(codes[adjacent] * n_words + codes[adjacent + 1])
    found = np.fromiter((vocabulary.get(f"{words[a]} {words[b]}", -1)
                         for a, b in zip((pairs // n_words).tolist(), (pairs % n_words).tolist())),
                        dtype=np.int64, count=len(pairs))
    rows.append(doc[adjacent])
    cols.append(found[pair_code])
    # counties: places() unions what each word implies, and a text names each county once
    implied = [[vocabulary.get(f"@{county}", -1) for county in _counties(w, gazetteer)] for w in words]
    named_by = {vocabulary[f"@{c}"]: f"@{c}" for w in words for c in _counties(w, gazetteer)
                if f"@{c}" in vocabulary} if where else {}
    for k in range(max(map(len, implied), default=0)):  # almost always one county a word at most
        county = np.fromiter((v[k] if len(v) > k else -1 for v in implied), dtype=np.int64, count=len(words))[codes]
        named = np.flatnonzero(county >= 0)
        rows.append(doc[named])
        cols.append(county[named])
    if len(rows) > 2:  # the same county named twice in a text counts once
        key = unique(np.concatenate(rows[2:]) * n_features + np.concatenate(cols[2:]))
        rows[2:], cols[2:] = [key // n_features], [key % n_features]
        if where:  # every distinct word of a text crossed with each county it names ("@county|word")
            county_docs, county_cols = rows[2], cols[2]
            doc_words = unique(doc * n_words + codes)
            word_doc, word_code = doc_words // n_words, doc_words % n_words
            for col in sorted(set(county_cols.tolist())):
                among = np.isin(word_doc, county_docs[county_cols == col])
                present, local = unique_inverse(word_code[among])
                cross = np.fromiter((vocabulary.get(f"{named_by[col]}|{words[w]}", -1) for w in present.tolist()),
                                    dtype=np.int64, count=len(present))
                rows.append(word_doc[among])
                cols.append(cross[local])
    # the canonical matrix (indices sorted, duplicates summed) straight from the sorted cell keys:
    # COO -> CSR and sum_duplicates took two fifths of the counting
    rows_all, cols_all = np.concatenate(rows), np.concatenate(cols)
    known = cols_all >= 0
    keys = np.sort(rows_all[known] * n_features + cols_all[known])
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    at = np.flatnonzero(first)
    cells = keys[at]
    data = np.diff(np.append(at, len(keys))).astype(np.float64)
    indptr = np.zeros(n_docs + 1, dtype=np.int32)
    np.cumsum(np.bincount(cells // max(n_features, 1), minlength=n_docs), out=indptr[1:])
    return csr_array((data, (cells % max(n_features, 1)).astype(np.int32), indptr), shape=(n_docs, n_features))


def _counted(pipeline):
    """The pipeline's vectorizer when ``segment_counts`` can stand in for it (our default word-feature
    union), else None."""
    union = pipeline.named_steps["features"]
    parts = getattr(union, "transformer_list", [])
    vectorizer = parts[0][1] if len(parts) == 1 else None
    if (vectorizer is None or not isinstance(getattr(vectorizer, "analyzer", None), SegmentAnalyzer)
            or union.transformer_weights or vectorizer.binary or not hasattr(vectorizer, "_tfidf")):
        return None
    return vectorizer


def features(pipeline, docs: Sequence) -> object:
    """The pipeline's feature matrix for ``docs``: by ``segment_counts`` when the pipeline is our
    default word-feature union and every doc is a token list; otherwise by the pipeline itself."""
    vectorizer = _counted(pipeline)
    if vectorizer is None or not all(isinstance(d, list) for d in docs):
        return pipeline.named_steps["features"].transform(list(docs))
    analyzer = vectorizer.analyzer
    counts = segment_counts(docs, vectorizer.vocabulary_, analyzer.segmenter.gazetteer,
                            getattr(analyzer, "where", False)).astype(vectorizer.dtype)
    return vectorizer._tfidf.transform(counts, copy=False)


def _proba_chunk(texts: Sequence, pipeline) -> list[np.ndarray]:
    """One matrix for the chunk (a list of a million row arrays would be pickled row by row)."""
    return [predict_proba(pipeline.named_steps["clf"], features(pipeline, texts))]


def predict_proba(clf, X) -> np.ndarray:
    """``clf.predict_proba(X)``; for a sigmoid-calibrated CalibratedClassifierCV over several classes,
    computed for all classes at once.

    scikit-learn calibrates one class at a time, each a strided column of the
    decision values; this applies the same operations to the whole matrix (the
    same floats, tested) and makes the folds' SVM decision values in one
    product: a quarter less time (26k texts: 232 -> 172 ms).
    """
    from sklearn.calibration import CalibratedClassifierCV, _SigmoidCalibration
    from sklearn.utils.extmath import safe_sparse_dot

    classes = getattr(clf, "classes_", None)
    parts = getattr(clf, "calibrated_classifiers_", None)
    if (type(clf) is not CalibratedClassifierCV or classes is None or len(classes) < 3 or not parts
            or any(part.method != "sigmoid" or not hasattr(part.estimator, "decision_function")
                   or any(type(c) is not _SigmoidCalibration for c in part.calibrators) for part in parts)):
        return clf.predict_proba(X)
    from scipy.special import expit
    from sklearn.svm import LinearSVC

    mean_proba = np.zeros((X.shape[0], len(classes)))
    # LinearSVC's decision values are X @ coef_.T + intercept_: one product for all parts reads X once
    # (each value is the same sum over X's row, whatever the other columns)
    stacked = (safe_sparse_dot(X, np.vstack([part.estimator.coef_ for part in parts]).T, dense_output=True)
               if all(type(part.estimator) is LinearSVC and len(part.estimator.coef_) == len(part.estimator.classes_)
                      for part in parts) else None)
    start = 0
    for part in parts:
        if stacked is None:
            decision = part.estimator.decision_function(X)
        else:
            width = len(part.estimator.coef_)
            decision = stacked[:, start:start + width] + part.estimator.intercept_
            start += width
        a = np.array([c.a_ for c in part.calibrators], dtype=np.float64)
        b = np.array([c.b_ for c in part.calibrators], dtype=np.float64)
        proba = np.zeros((X.shape[0], len(classes)))
        proba[:, np.searchsorted(classes, part.estimator.classes_)] = expit(-(a * decision + b))
        denominator = np.sum(proba, axis=1)[:, np.newaxis]
        proba = np.divide(proba, denominator, out=np.full_like(proba, 1 / len(classes)), where=denominator != 0)
        proba[(1.0 < proba) & (proba <= 1.0 + 1e-5)] = 1.0
        mean_proba += proba
    mean_proba /= len(parts)
    return mean_proba


