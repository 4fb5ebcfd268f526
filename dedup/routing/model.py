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
    # the held-out topics' top scores, sorted: a run compares its own with them (``routing.classify.fit_check``)
    out["topic_scores"] = np.round(np.sort(averaged.max(axis=1)), 4).tolist()
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


def suspect_labels(texts: Sequence[str], labels: Sequence[str], groups: Sequence[str], features: str = "word",
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


def learning_curve_plot(curve: list[dict], path: Path, title: str = "") -> Path:
    """PNG of held-out topic top-1 and macro-F1 against the labelled history the model was fitted on."""
    from dedup.io.plots import plt_module, save_figure

    plt = plt_module()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    items = [c["items"] for c in curve]
    ax.plot(items, [c["topic_top1"] for c in curve], marker="o", label="话题 top-1 (topic top-1)")
    ax.plot(items, [c["topic_macro_f1"] for c in curve], marker="s", label="宏平均 F1 (macro-F1)")
    ax.set_xscale("log")
    ax.set_xlabel("训练条数 (labelled history items)")
    ax.set_ylabel("留出话题上的得分 (held-out topics)")
    ax.set_title(title or "学习曲线 (learning curve)")
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(plt, fig, path)


def confusion_plot(truth: Sequence[str], pred: Sequence[str], path: Path, top: int = 15, title: str = "") -> Path:
    """PNG of the confusion matrix restricted to the most confused units."""
    from collections import Counter

    from dedup.io.plots import plt_module, save_figure

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
    return save_figure(plt, fig, path)


