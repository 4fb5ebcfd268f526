"""Suggest the responsible unit for each topic: TF-IDF over jieba tokens and a calibrated linear model.

A topic is scored by averaging its members' class probabilities, weighted by
how many items carry each distinct text. Copies of one complaint differ in
greetings, names and typos; averaging lets the copies outvote a noisy
representative (see README "Routing" for the figures that decided it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing as mp
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from itertools import chain
from pathlib import Path

import numpy as np

from dedup import __version__
from dedup.core.gazetteer import EMPTY, Gazetteer
from dedup.core.segment import Segmenter
from dedup.runtime.parallel import can_fork, die_with_parent, map_chunks, receive_outcome, send_outcome
from dedup.storage import modelfile
from dedup.storage.modelfile import ModelError, ModelUnavailable, file_sha256, sidecar_path  # noqa: F401 (the module's API)

MODEL_FORMAT = 1


class SegmentAnalyzer:
    """Text -> jieba words, word bigrams and implied counties; a named class so the fitted model pickles."""

    def __init__(self, segmenter: Segmenter | None = None) -> None:
        self.segmenter = segmenter or Segmenter()

    def __call__(self, doc: str | list[str]) -> list[str]:
        words = doc if isinstance(doc, list) else self.segmenter(doc)  # a run passes tokens it already has
        # a street or village implies its county: units answering for a county need that word
        counties = [f"@{c}" for c in sorted(self.segmenter.gazetteer.places(words).get(1, ()))]
        return words + [f"{a} {b}" for a, b in zip(words, words[1:])] + counties


def build_pipeline(features: str = "word", C: float = 0.5, random_state: int = 0, folds: int = 3,
                   gazetteer: Gazetteer = EMPTY):
    """TF-IDF features ("word", "char" or "word+char") and a sigmoid-calibrated linear SVM.

    Calibration needs ``folds`` examples of every unit; with rarer units the
    classifier is a multinomial logistic regression, probabilistic by itself.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.svm import LinearSVC

    parts = []
    if "word" in features:
        parts.append(("word", TfidfVectorizer(analyzer=SegmentAnalyzer(Segmenter(gazetteer=gazetteer)),
                                              sublinear_tf=True, min_df=1)))
    if "char" in features:
        parts.append(("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=2)))
    if not parts:
        raise ValueError(f"features must name word and/or char, got {features!r}")
    if folds >= 2:
        clf = CalibratedClassifierCV(LinearSVC(C=C, random_state=random_state), method="sigmoid", cv=folds)
    else:
        clf = LogisticRegression(C=20 * C, max_iter=2000, random_state=random_state)
    return Pipeline([("features", FeatureUnion(parts)), ("clf", clf)])


def calibration_folds(labels: Sequence[str], most: int = 3) -> int:
    """Folds for calibration: at most ``most``, at least the rarest unit's count (1 means none)."""
    rarest = min(np.unique(np.asarray(labels, dtype=object).astype(str), return_counts=True)[1])
    return int(min(most, rarest))


def grouped_split(groups: Sequence[str], test_size: float = 0.25, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Train/test indices with every group (topic or near-duplicate cluster) on one side only."""
    from sklearn.model_selection import GroupShuffleSplit

    splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    train, test = next(splitter.split(np.zeros(len(groups)), groups=np.asarray(groups)))
    return train, test


def topic_scores(proba: np.ndarray, topic: np.ndarray, weight: np.ndarray, n_topics: int) -> np.ndarray:
    """Weighted mean of member probabilities per topic, shape (n_topics, n_classes)."""
    sums = np.stack([np.bincount(topic, weights=column * weight, minlength=n_topics) for column in proba.T], axis=1) \
        if proba.shape[1] else np.zeros((n_topics, 0))
    totals = np.bincount(topic, weights=weight, minlength=n_topics)
    return sums / np.maximum(totals, 1e-12)[:, None]


def data_hash(texts: Sequence[str], labels: Sequence[str]) -> str:
    h = hashlib.sha256()
    for text, label in zip(texts, labels):
        h.update(text.encode("utf-8") + b"\x1f" + label.encode("utf-8") + b"\x1e")
    return h.hexdigest()


def library_versions() -> dict[str, str]:
    import datasketch
    import jieba
    import sklearn

    return {"dedup": __version__, "python": platform.python_version(), "scikit-learn": sklearn.__version__,
            "numpy": np.__version__, "jieba": jieba.__version__, "datasketch": datasketch.__version__}


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


def segment_counts(docs: Sequence[list[str]], vocabulary: dict[str, int], gazetteer: Gazetteer = EMPTY):
    """``CountVectorizer(analyzer=SegmentAnalyzer()).transform(docs)`` for token lists, on arrays.

    The same matrix (tested), without building a string for every bigram of
    every text: each distinct word is looked up once, each distinct adjacent
    pair that could be a feature once, and each word's counties once.
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
    for k in range(max(map(len, implied), default=0)):  # almost always one county a word at most
        county = np.fromiter((v[k] if len(v) > k else -1 for v in implied), dtype=np.int64, count=len(words))[codes]
        named = np.flatnonzero(county >= 0)
        rows.append(doc[named])
        cols.append(county[named])
    if len(rows) > 2:  # the same county named twice in a text counts once
        key = unique(np.concatenate(rows[2:]) * n_features + np.concatenate(cols[2:]))
        rows[2:], cols[2:] = [key // n_features], [key % n_features]
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
    counts = segment_counts(docs, vectorizer.vocabulary_, vectorizer.analyzer.segmenter.gazetteer).astype(
        vectorizer.dtype)
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


@dataclass
class Router:
    """A loaded department model."""

    pipeline: object
    path: Path
    sidecar: dict

    @property
    def labels(self) -> list[str]:
        return [str(c) for c in self.pipeline.classes_]

    def reads_tokens_of(self, gazetteer: Gazetteer) -> bool:
        """Whether a run's tokens, cut with ``gazetteer``, are the words this model reads (its sidecar
        records the gazetteer it was trained with); when not, the model is given the texts to cut itself."""
        return self.sidecar.get("gazetteer_sha256") == gazetteer.sha256

    def predict_proba(self, texts: Sequence[str | list[str]], workers: int = 0) -> np.ndarray:
        """Class probabilities per text, computed on every core for large inputs."""
        texts = list(texts)
        if not texts:
            return np.empty((0, len(self.labels)))
        vectorizer = _counted(self.pipeline)
        if vectorizer is not None:
            bigram_ends(vectorizer.vocabulary_)  # made here, inherited by the workers
        return np.vstack(map_chunks(partial(_proba_chunk, pipeline=self.pipeline), texts, workers))

    def route(self, topics, docs: Sequence[str | list[str]], weight: np.ndarray, topic_index: np.ndarray,
              review_below: float) -> None:
        """Fill each topic's department, score, top-3 and review flag from its members.

        ``docs`` are member texts (or their tokens) and ``topic_index`` says
        which topic each belongs to; a topic's score is the weighted mean of its
        members' probabilities.
        """
        scores = topic_scores(self.predict_proba(docs), topic_index, weight, len(topics))
        labels = np.asarray(self.labels, dtype=object)
        top = np.argsort(-scores, axis=1, kind="stable")[:, :3]
        for t, topic in enumerate(topics):
            topic.department = str(labels[top[t, 0]])
            topic.department_score = float(scores[t, top[t, 0]])
            topic.department_top3 = [(str(labels[k]), round(float(scores[t, k]), 4)) for k in top[t]]
            topic.needs_review = topic.department_score < review_below


def save_model(pipeline, path: Path, sidecar: dict) -> None:
    """The model (a joblib pickle) and its sidecar, which records the pickle's SHA-256: a run loads a
    model only when the file is the one its sidecar describes."""
    modelfile.save({"format": MODEL_FORMAT, "pipeline": pipeline}, path, sidecar)


def load_router(path: str | Path) -> Router:
    """Load a model; ModelUnavailable when absent or incompatible, ModelError when unreadable."""
    import sklearn

    path = Path(path)
    if not path.exists():
        raise ModelUnavailable(f"no department model at {path} (train one with `dedup train`)")

    def same_library(sidecar: dict) -> None:
        made_with = sidecar.get("versions", {}).get("scikit-learn")
        if made_with and made_with.split(".")[:2] != sklearn.__version__.split(".")[:2]:
            raise ModelUnavailable(f"{path} was made with scikit-learn {made_with}, this is {sklearn.__version__}; "
                                   "retrain it with `dedup train`")

    payload, sidecar = modelfile.load(path, "department model", before=same_library)
    if not isinstance(payload, dict) or "pipeline" not in payload:
        raise ModelError(f"{path}: not a dedup department model")
    if payload.get("format") != MODEL_FORMAT:
        raise ModelUnavailable(f"{path} has model format {payload.get('format')}, this dedup reads {MODEL_FORMAT}")
    model = payload["pipeline"]
    if not (hasattr(model, "predict_proba") and hasattr(model, "classes_")):
        raise ModelError(f"{path}: holds a {type(model).__name__}, not a fitted classifier with probabilities")
    return Router(model, path, sidecar)


class RouterLoader:
    """The department model, loaded by a forked process while the run reads and clusters.

    Importing scikit-learn and unpickling the model take seconds that a night
    would otherwise spend at its end; the process then answers the run's
    predictions. Where fork is unavailable the model loads in-process when asked for.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.conn = self.process = None
        self._router: Router | None = None
        self._error: BaseException | None = None
        if can_fork():
            ctx = mp.get_context("fork")
            self.conn, child = ctx.Pipe()
            # not a daemon: it spreads large predictions over forked workers of its own
            self.process = ctx.Process(target=_serve_router, args=(child, self.path, os.getpid()))
            self.process.start()
            child.close()

    def __enter__(self) -> RouterLoader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def router(self) -> Router:
        """The loaded model; raises what ``load_router`` raises (every time it is asked)."""
        if self._error is not None:
            raise self._error
        if self._router is None:
            try:
                if self.conn is None:
                    self._router = load_router(self.path)
                else:
                    labels, path, sidecar = self._receive()
                    self._router = _RemoteRouter(self, labels, path, sidecar)
            except BaseException as exc:
                self._error = exc
                raise
        return self._router

    def ask(self, texts: list) -> np.ndarray:
        self.conn.send(texts)
        return self._receive()

    def _receive(self):
        return receive_outcome(self.conn, self.process, f"the department model {self.path}")

    def close(self) -> None:
        if self.process is None:
            return
        if self._router is not None and self.process.is_alive():
            self.conn.send(None)  # done: it exits after its last answer
            self.process.join(timeout=5)
        if self.process.is_alive():  # never asked, or not answering: it holds nothing worth waiting for
            self.process.terminate()
            self.process.join()
        self.conn.close()
        self.process = None


class _RemoteRouter(Router):
    """A Router whose model lives in a RouterLoader's process."""

    def __init__(self, loader: RouterLoader, labels: list[str], path: Path, sidecar: dict) -> None:
        super().__init__(None, path, sidecar)
        self._loader, self._labels = loader, labels

    @property
    def labels(self) -> list[str]:
        return self._labels

    def predict_proba(self, texts: Sequence[str | list[str]], workers: int = 0) -> np.ndarray:
        return self._loader.ask(list(texts))


def _serve_router(conn, path: Path, parent: int) -> None:
    die_with_parent(parent)
    try:
        router = load_router(path)
    except BaseException as exc:
        send_outcome(conn, False, exc)
        return
    send_outcome(conn, True, (router.labels, router.path, router.sidecar))
    while True:
        try:
            texts = conn.recv()
        except EOFError:  # the run is gone
            return
        if texts is None:
            return
        try:
            send_outcome(conn, True, router.predict_proba(texts))
        except BaseException as exc:
            send_outcome(conn, False, exc)


def evaluate(pipeline, texts: Sequence[str], labels: Sequence[str], groups: Sequence[str]) -> dict:
    """Item- and topic-level accuracy of a fitted pipeline on held-out data."""
    from sklearn.metrics import f1_score

    proba = pipeline.predict_proba(list(texts))
    classes = np.asarray(pipeline.classes_, dtype=object)
    y = np.asarray(labels, dtype=object)
    top = np.argsort(-proba, axis=1)[:, :3]
    item_top1 = float((classes[top[:, 0]] == y).mean())
    group_codes, group_index = np.unique(np.asarray(groups, dtype=object).astype(str), return_inverse=True)
    group_index = group_index.ravel()
    n_topics = len(group_codes)
    topic_label = np.empty(n_topics, dtype=object)
    topic_label[group_index] = y
    first_member = np.full(n_topics, -1)
    for k in range(len(y) - 1, -1, -1):
        first_member[group_index[k]] = k
    averaged = topic_scores(proba, group_index, np.ones(len(y)), n_topics)
    representative = proba[first_member]
    out = {"items": len(y), "topics": n_topics, "item_top1": item_top1,
           "item_top3": float((classes[top] == y[:, None]).any(axis=1).mean())}
    for name, scores in (("topic", averaged), ("topic_representative", representative)):
        ttop = np.argsort(-scores, axis=1)[:, :3]
        pred = classes[ttop[:, 0]]
        conf = scores[np.arange(n_topics), ttop[:, 0]]
        sure = conf >= 0.9
        out[f"{name}_top1"] = float((pred == topic_label).mean())
        out[f"{name}_top3"] = float((classes[ttop] == topic_label[:, None]).any(axis=1).mean())
        out[f"{name}_macro_f1"] = float(f1_score(topic_label.astype(str), pred.astype(str), average="macro",
                                                 zero_division=0))
        out[f"{name}_share_score_ge_0.9"] = float(sure.mean())
        out[f"{name}_top1_when_score_ge_0.9"] = float((pred[sure] == topic_label[sure]).mean()) if sure.any() else None
    per_unit = {}
    pred_topic = classes[np.argsort(-averaged, axis=1)[:, 0]]
    for unit in sorted(set(topic_label.tolist())):
        mask = topic_label == unit
        predicted = pred_topic == unit
        tp = int((mask & predicted).sum())
        per_unit[unit] = {"topics": int(mask.sum()), "precision": tp / predicted.sum() if predicted.sum() else 0.0,
                          "recall": tp / mask.sum()}
    out["per_unit"] = per_unit
    out["_confusion"] = (topic_label.astype(str), pred_topic.astype(str))
    return out


def train(texts: Sequence[str], labels: Sequence[str], groups: Sequence[str], out: Path,
          features: str = "word", test_size: float = 0.25, seed: int = 0, gazetteer: Gazetteer = EMPTY) -> dict:
    """Evaluate on a grouped split, then fit on everything and save the model with its sidecar."""
    if len(set(labels)) < 2:
        raise ValueError("training needs at least two departments")
    train_idx, test_idx = grouped_split(groups, test_size, seed)
    train_labels = [labels[k] for k in train_idx]
    pipe = build_pipeline(features, random_state=seed, folds=calibration_folds(train_labels), gazetteer=gazetteer)
    pipe.fit([texts[k] for k in train_idx], train_labels)
    metrics = evaluate(pipe, [texts[k] for k in test_idx], [labels[k] for k in test_idx],
                       [groups[k] for k in test_idx])
    confusion = metrics.pop("_confusion")
    final = build_pipeline(features, random_state=seed, folds=calibration_folds(labels), gazetteer=gazetteer)
    final.fit(list(texts), list(labels))
    counts = {str(u): int(n) for u, n in zip(*np.unique(np.asarray(labels, dtype=object).astype(str),
                                                          return_counts=True))}
    sidecar = {
        "kind": "dedup department model", "format": MODEL_FORMAT,
        "trained_at": dt.datetime.now().isoformat(timespec="seconds"),
        "labels": counts, "config": {"features": features, "test_size": test_size, "seed": seed,
                                     "classifier": type(final.named_steps["clf"]).__name__},
        "training_items": len(texts), "training_data_sha256": data_hash(texts, labels),
        "metrics": metrics, "versions": library_versions(),
        "gazetteer": gazetteer.path, "gazetteer_sha256": gazetteer.sha256,
    }
    save_model(final, out, sidecar)
    sidecar["_confusion"] = confusion
    return sidecar


def confusion_plot(truth: Sequence[str], pred: Sequence[str], path: Path, top: int = 15, title: str = "") -> Path:
    """PNG of the confusion matrix restricted to the most confused units."""
    from collections import Counter

    from dedup.io.plots import plt_module

    plt = plt_module()
    errors = Counter((t, p) for t, p in zip(truth, pred) if t != p)
    units: list[str] = []
    for (t, p), _ in errors.most_common():
        for u in (t, p):
            if u not in units:
                units.append(u)
        if len(units) >= top:
            break
    units = units[:top] or sorted(set(truth))[:top]
    index = {u: k for k, u in enumerate(units)}
    matrix = np.zeros((len(units), len(units)), dtype=int)
    for t, p in zip(truth, pred):
        if t in index and p in index:
            matrix[index[t], index[p]] += 1
    fig, ax = plt.subplots(figsize=(1 + 0.55 * len(units), 1 + 0.5 * len(units)))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(units)), units, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(units)), units, fontsize=8)
    for (a, b), v in np.ndenumerate(matrix):
        if v:
            ax.text(b, a, str(v), ha="center", va="center", fontsize=7)
    ax.set_xlabel("predicted unit")
    ax.set_ylabel("true unit")
    ax.set_title(title or "Most confused units (held-out topics)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
