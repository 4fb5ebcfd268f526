"""Training the department model: the pipeline, the grouped split, held-out evaluation by item and by
topic, the confusion plot, and the model file with its sidecar."""

from __future__ import annotations

import datetime as dt
import hashlib
import platform
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dedup import __version__
from dedup.core.gazetteer import EMPTY, Gazetteer
from dedup.core.segment import Segmenter
from dedup.routing.classify import MODEL_FORMAT, save_model, topic_scores
from dedup.routing.features import SegmentAnalyzer
from dedup.storage.modelfile import ModelError, ModelUnavailable, file_sha256, sidecar_path  # noqa: F401 (the module's API)


def build_pipeline(features: str = "where", C: float = 1.0, random_state: int = 0, folds: int = 3,
                   gazetteer: Gazetteer = EMPTY, class_weight: str | None = "balanced"):
    """TF-IDF features and a sigmoid-calibrated linear SVM.

    ``features`` names the parts joined by "+": "word" (jieba words, bigrams and implied counties),
    "where" (the words as well, each crossed with the counties: see ``SegmentAnalyzer``) and "char"
    (character 1-3-grams).

    Calibration needs ``folds`` examples of every unit; with rarer units the
    classifier is a multinomial logistic regression, probabilistic by itself.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.svm import LinearSVC

    parts = []
    names = set(features.split("+"))
    if not names or names - {"word", "where", "char"} or {"word", "where"} <= names:
        raise ValueError(f"features must join word or where, and/or char, with '+'; got {features!r}")
    if names & {"word", "where"}:
        analyzer = SegmentAnalyzer(Segmenter(gazetteer=gazetteer), where="where" in names)
        parts.append(("word", TfidfVectorizer(analyzer=analyzer, sublinear_tf=True, min_df=1)))
    if "char" in names:
        parts.append(("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=2)))
    if folds >= 2:
        clf = CalibratedClassifierCV(LinearSVC(C=C, random_state=random_state, class_weight=class_weight),
                                     method="sigmoid", cv=folds, ensemble=False)
    else:
        clf = LogisticRegression(C=20 * C, max_iter=2000, random_state=random_state, class_weight=class_weight)
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
    top_score = averaged.max(axis=1)
    out["reliability"] = reliability(top_score, classes[averaged.argmax(axis=1)] == topic_label)
    # the held-out topics' top scores, sorted: a run compares its own with them (``routing.classify.fit_check``)
    out["topic_scores"] = np.round(np.sort(averaged.max(axis=1)), 4).tolist()
    out["_confusion"] = (topic_label.astype(str), pred_topic.astype(str))
    return out


RELIABILITY_EDGES = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)


def reliability(scores: np.ndarray, right: np.ndarray, edges: Sequence[float] = RELIABILITY_EDGES) -> list[dict]:
    """Held-out topics binned by their top score: how many, their mean score and how often they were right.

    A score means what it says when each bin's accuracy is about its mean score; the ones that matter
    most are the high bins, whose topics a run does not send for review.
    """
    bins = np.clip(np.searchsorted(np.asarray(edges), scores, side="right") - 1, 0, len(edges) - 2)
    out = []
    for k in range(len(edges) - 1):
        mask = bins == k
        if mask.any():
            out.append({"low": edges[k], "high": edges[k + 1], "topics": int(mask.sum()),
                        "mean_score": round(float(scores[mask].mean()), 4),
                        "accuracy": round(float(right[mask].mean()), 4)})
    return out


def train(texts: Sequence[str], labels: Sequence[str], groups: Sequence[str], out: Path,
          features: str = "where", test_size: float = 0.25, seed: int = 0, gazetteer: Gazetteer = EMPTY) -> dict:
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
    metrics["learning_curve"] = learning_curve(texts, labels, groups, train_idx, test_idx, features, seed, gazetteer)
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


def suspect_labels(texts: Sequence[str], labels: Sequence[str], groups: Sequence[str], features: str = "where",
                   seed: int = 0, gazetteer: Gazetteer = EMPTY, folds: int = 3) -> list[tuple[int, str, float, float]]:
    """History items whose label the model confidently disagrees with (confident learning): each item is
    scored by a model that did not see its topic (grouped folds); an item is suspect when another unit's
    probability reaches that unit's threshold, the mean probability the items labelled with it get.
    Returns (index, suggested unit, its probability, the given unit's), most doubtful first."""
    from sklearn.model_selection import GroupKFold

    labels_arr = np.asarray(labels, dtype=object).astype(str)
    classes = np.unique(labels_arr)
    proba = np.zeros((len(labels_arr), len(classes)))
    n_groups = len(set(groups))
    for fit_idx, held_idx in GroupKFold(n_splits=min(folds, n_groups)).split(np.zeros(len(labels_arr)),
                                                                            groups=np.asarray(groups)):
        part = labels_arr[fit_idx]
        pipe = build_pipeline(features, random_state=seed, folds=calibration_folds(part), gazetteer=gazetteer)
        pipe.fit([texts[k] for k in fit_idx], part.tolist())
        proba[np.ix_(held_idx, np.searchsorted(classes, pipe.classes_))] = pipe.predict_proba(
            [texts[k] for k in held_idx])
    given = np.searchsorted(classes, labels_arr)
    threshold = np.array([proba[given == c, c].mean() if (given == c).any() else 1.0 for c in range(len(classes))])
    other = proba.copy()
    other[np.arange(len(given)), given] = -1.0
    suggested = other.argmax(axis=1)
    p_suggested = other[np.arange(len(given)), suggested]
    p_given = proba[np.arange(len(given)), given]
    suspect = np.flatnonzero((p_suggested >= threshold[suggested]) & (p_suggested > p_given))
    suspect = suspect[np.argsort(-(p_suggested[suspect] - p_given[suspect]), kind="stable")]
    return [(int(k), str(classes[suggested[k]]), round(float(p_suggested[k]), 4), round(float(p_given[k]), 4))
            for k in suspect]


CURVE_SHARES = (0.1, 0.25, 0.5, 1.0)


def learning_curve(texts: Sequence[str], labels: Sequence[str], groups: Sequence[str], train_idx: np.ndarray,
                   test_idx: np.ndarray, features: str, seed: int, gazetteer: Gazetteer) -> list[dict]:
    """Topic top-1 and macro-F1 on the same held-out topics for models fitted on growing shares of the
    training side (whole topics, drawn once): how much labelled history a city needs."""
    order = np.random.default_rng(seed).permutation(np.unique(np.asarray(groups, dtype=object)[train_idx].astype(str)))
    group_of = np.asarray(groups, dtype=object).astype(str)
    held = ([texts[k] for k in test_idx], [labels[k] for k in test_idx], [groups[k] for k in test_idx])
    curve = []
    for share in CURVE_SHARES:
        chosen = set(order[:max(1, int(round(share * len(order))))].tolist())
        idx = [k for k in train_idx if group_of[k] in chosen]
        part = [labels[k] for k in idx]
        if len(set(part)) < 2:
            continue
        pipe = build_pipeline(features, random_state=seed, folds=calibration_folds(part), gazetteer=gazetteer)
        pipe.fit([texts[k] for k in idx], part)
        m = evaluate(pipe, *held)
        curve.append({"share": share, "items": len(idx), "topic_top1": round(m["topic_top1"], 4),
                      "topic_macro_f1": round(m["topic_macro_f1"], 4)})
    return curve
