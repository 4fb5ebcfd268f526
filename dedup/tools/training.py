"""``dedup train``: read labelled history files, train, report, plot."""

from __future__ import annotations

from pathlib import Path

from dedup.config import IngestConfig
from dedup.core.gazetteer import EMPTY, Gazetteer
from dedup.core.normalize import normalize
from dedup.io.export import write_csv
from dedup.io.ingest import IngestError, iter_records
from dedup.routing.model import suspect_labels, train
from dedup.routing.plots import confusion_plot, learning_curve_plot, reliability_plot


class TrainingError(Exception):
    """Training data a user can fix."""


def read_history(paths: list[Path], group_by: str) -> tuple[list[str], list[str], list[str], list[str]]:
    """Texts, departments, split groups and ids (the id column, else file:line) from CSV/TSV/JSONL/XLSX with
    content and department columns."""
    columns = dict(IngestConfig().columns)
    columns["group"] = (group_by, "topic", "话题")
    config = IngestConfig(columns=columns)
    texts, labels, groups, ids = [], [], [], []
    for path in paths:
        try:
            records = list(iter_records(path, config, required=("content", "department")))
        except IngestError as exc:
            raise TrainingError(str(exc)) from exc
        for line, record in records:
            if isinstance(record, str):
                continue
            text = normalize(str(record.get("content") or ""))
            label = str(record.get("department") or "").strip()
            if not text or not label:
                continue
            texts.append(text)
            labels.append(label)
            groups.append(str(record.get("group") or f"{path}:{line}"))
            ids.append(str(record.get("id") or f"{path.name}:{line}"))
    if not texts:
        raise TrainingError("no labelled rows (need content and department columns)")
    return texts, labels, groups, ids


def cluster_groups(texts: list[str], gazetteer: Gazetteer = EMPTY) -> list[str]:
    """Near-duplicate clusters as split groups, for history without topic labels."""
    from dedup.batch.engine import find_topics
    from dedup.config import Config
    from dedup.core.segment import Segmenter

    seg = Segmenter(gazetteer=gazetteer)
    clustering = find_topics([f"{k:09d}" for k in range(len(texts))], texts, [seg(t) or ["_"] for t in texts],
                             Config().with_overrides({"places.gazetteer": gazetteer.path}))
    return [f"c{t}" for t in clustering.item_topic.tolist()]


def train_from_files(paths: list[Path], out: Path, features: str, group_by: str, seed: int,
                     gazetteer: Gazetteer = EMPTY) -> str:
    texts, labels, groups, ids = read_history(paths, group_by)
    if group_by == "cluster" or all(g.count(":") and g.rsplit(":", 1)[-1].isdigit() for g in groups[:50]):
        groups = cluster_groups(texts, gazetteer)
    result = train(texts, labels, groups, out, features=features, seed=seed, gazetteer=gazetteer)
    truth, pred = result.pop("_confusion")
    plot = confusion_plot(truth, pred, out.with_name(out.stem + "_confusion.png"),
                          title=f"Most confused units, held-out topics of {', '.join(p.name for p in paths)}")
    m = result["metrics"]
    suspects = suspect_labels(texts, labels, groups, features, seed, gazetteer)
    listed = write_csv(out.with_name(out.stem + "_suspect_labels.csv"),
                       ["id", "given", "suggested", "suggested_probability", "given_probability", "text"],
                       [[ids[k], labels[k], unit, p, q, texts[k]] for k, unit, p, q in suspects])
    curve = learning_curve_plot(m["learning_curve"], out.with_name(out.stem + "_learning.png"),
                                title=f"Learning curve, held-out topics of {', '.join(p.name for p in paths)}")
    diagram = reliability_plot(m["reliability"], out.with_name(out.stem + "_reliability.png"),
                               title=f"Reliability, held-out topics of {', '.join(p.name for p in paths)}")
    lines = [f"trained on {result['training_items']} items, {len(result['labels'])} units; "
             f"held-out {m['items']} items in {m['topics']} topics (grouped split)",
             f"item   top-1 {m['item_top1']:.4f}  top-3 {m['item_top3']:.4f}",
             f"topic  top-1 {m['topic_top1']:.4f}  top-3 {m['topic_top3']:.4f}  macro-F1 {m['topic_macro_f1']:.4f}"
             f"  (members averaged)",
             f"topic  top-1 {m['topic_representative_top1']:.4f}  (representative only)",
             f"topics scored >= 0.9: {m['topic_share_score_ge_0.9']:.1%}, top-1 among them "
             f"{(m['topic_top1_when_score_ge_0.9'] or 0):.4f}",
             "weakest units: " + ", ".join(f"{u} {v['recall']:.2f}" for u, v in
                                           sorted(m["per_unit"].items(), key=lambda kv: kv[1]["recall"])[:5]),
             f"labels the model confidently disagrees with (grouped folds): {len(suspects)} of {len(texts)}, "
             f"listed in {listed} for staff to check",
             "learning curve (items: topic top-1): " + ", ".join(
                 f"{c['items']}: {c['topic_top1']:.3f}" for c in m["learning_curve"]),
             "reliability (score bin: topics, accuracy): " + ", ".join(
                 f"{b['low']:.2f}-{b['high']:.2f}: {b['topics']}, {b['accuracy']:.3f}" for b in m["reliability"]),
             f"wrote {out}, {out.with_suffix('.json')}, {plot}, {curve}, {diagram}"]
    return "\n".join(lines)
