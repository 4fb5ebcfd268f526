"""The department model's plots, each a PNG with Chinese labels: the most confused units, the learning
curve, and the reliability diagram (how often a score is right)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


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




def reliability_plot(bins: list[dict], path: Path, title: str = "") -> Path:
    """PNG of held-out topics' accuracy against their top score, by score bin, beside the diagonal
    (a score that means what it says), with each bin's share of topics."""
    from dedup.io.plots import plt_module, save_figure

    plt = plt_module()
    fig, (ax, share) = plt.subplots(2, 1, figsize=(6.5, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="分数即准确率 (perfectly calibrated)")
    ax.plot([b["mean_score"] for b in bins], [b["accuracy"] for b in bins], marker="o",
            label="留出话题 (held-out topics)")
    ax.set_ylabel("准确率 (top-1 right)")
    ax.set_ylim(0, 1.02)
    ax.set_title(title or "可靠性图 (reliability diagram)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    total = sum(b["topics"] for b in bins) or 1
    share.bar([(b["low"] + b["high"]) / 2 for b in bins], [b["topics"] / total for b in bins],
              width=[0.9 * (b["high"] - b["low"]) for b in bins])
    share.set_xlabel("话题最高分 (topic's top score)")
    share.set_ylabel("话题占比 (share)")
    share.set_xlim(0, 1)
    return save_figure(plt, fig, path)
