"""Clustering quality against gold labels: pairwise and B-cubed, from contingency counts.

Counting pairs one by one is quadratic in topic size; every figure here comes
from the contingency table of (predicted, gold) cells, so 1.28M items cost a
sort, not 10^10 pair checks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _codes(labels: Sequence) -> np.ndarray:
    return np.unique(np.asarray(labels, dtype=object).astype(str), return_inverse=True)[1].ravel()


def _f1(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def cluster_metrics(pred: Sequence, gold: Sequence) -> dict[str, float]:
    """Pairwise and B-cubed precision/recall/F1 and the topic-count ratio for aligned label lists."""
    if len(pred) != len(gold):
        raise ValueError(f"pred has {len(pred)} labels, gold has {len(gold)}")
    n = len(pred)
    if n == 0:
        raise ValueError("no items to evaluate")
    p, g = _codes(pred), _codes(gold)
    cells, cell_sizes = np.unique(p.astype(np.int64) * (g.max() + 1) + g, return_counts=True)
    cell_p, cell_g = cells // (g.max() + 1), cells % (g.max() + 1)
    p_sizes = np.bincount(p).astype(np.float64)
    g_sizes = np.bincount(g).astype(np.float64)
    c = cell_sizes.astype(np.float64)

    tp = float((c * (c - 1) / 2).sum())
    pred_pairs = float((p_sizes * (p_sizes - 1) / 2).sum())
    gold_pairs = float((g_sizes * (g_sizes - 1) / 2).sum())
    pw_p = tp / pred_pairs if pred_pairs else 1.0
    pw_r = tp / gold_pairs if gold_pairs else 1.0

    b3_p = float((c * c / p_sizes[cell_p]).sum() / n)
    b3_r = float((c * c / g_sizes[cell_g]).sum() / n)
    return {
        "items": n,
        "pairwise_precision": pw_p, "pairwise_recall": pw_r, "pairwise_f1": _f1(pw_p, pw_r),
        "bcubed_precision": b3_p, "bcubed_recall": b3_r, "bcubed_f1": _f1(b3_p, b3_r),
        "topics": int(len(p_sizes)), "gold_topics": int(len(g_sizes)),
        "topic_ratio": len(p_sizes) / len(g_sizes),
    }


def pair_metrics(same_pred: Sequence[bool], same_gold: Sequence[bool]) -> dict[str, float]:
    """Precision/recall/F1 over hand-labelled pairs (id_a, id_b, same)."""
    sp, sg = np.asarray(same_pred, bool), np.asarray(same_gold, bool)
    tp = float((sp & sg).sum())
    p = tp / sp.sum() if sp.sum() else 1.0
    r = tp / sg.sum() if sg.sum() else 1.0
    return {"pairs": int(len(sp)), "pairwise_precision": p, "pairwise_recall": r, "pairwise_f1": _f1(p, r)}


def routing_metrics(ids: Sequence[str], gold_topic: dict[str, str], gold_dept: dict[str, str],
                    pred_topic: dict[str, str], topic_rows: dict[str, dict]) -> dict[str, float]:
    """Department accuracy per item and per gold topic.

    A gold topic is routed as the predicted topic that holds most of its items
    (ties to the smaller topic id); top-3 and confidence come from that topic's row.
    """
    from collections import Counter

    routed = [i for i in ids if topic_rows.get(pred_topic[i], {}).get("department")]
    if not routed:
        return {}
    out: dict[str, float] = {"department_accuracy_items": sum(
        topic_rows[pred_topic[i]]["department"] == gold_dept[i] for i in routed) / len(routed)}
    by_gold: dict[str, Counter] = {}
    truth: dict[str, str] = {}
    for i in routed:
        by_gold.setdefault(gold_topic[i], Counter())[pred_topic[i]] += 1
        truth.setdefault(gold_topic[i], gold_dept[i])
    top1 = top3 = sure = sure_right = 0
    for g, counts in by_gold.items():
        row = topic_rows[min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]]
        right = row["department"] == truth[g]
        top1 += right
        top3 += truth[g] in [p.rsplit(":", 1)[0].strip() for p in row.get("department_top3", "").split(",")]
        if float(row.get("department_score") or 0) >= 0.9:
            sure += 1
            sure_right += right
    n = len(by_gold)
    out.update({"department_topics": n, "department_top1_topics": top1 / n, "department_top3_topics": top3 / n,
                "department_share_score_ge_0.9": sure / n,
                "department_top1_when_score_ge_0.9": sure_right / sure if sure else float("nan")})
    return out
