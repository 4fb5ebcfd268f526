"""The library API behind ``dedup run``: ingest, normalise, segment, cluster, route, store, export.

A run reads every input before it touches the database, computes tonight's
topics over stored and new items, then writes items, topics, merges, rejected
rows and the run record in one transaction. Exports are written after the
commit, from what was committed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from . import __version__
from .classify import ModelUnavailable, Router, load_router
from .config import Config, NormalizeConfig
from .engine import StageTimer, find_topics
from .export import write_outputs
from .ingest import ingest
from .normalize import item_text
from .parallel import map_chunks
from .records import Item, Rejection
from .segment import Segmenter
from .store import Store, run_lock
from .topics import TopicSummary, assign_ids, sample_members, summarise


@dataclass
class RunReport:
    run_id: int
    counts: dict[str, int]
    timings: dict[str, float]
    topics: list[TopicSummary]
    rejected: list[Rejection]
    merged: dict[str, str]
    routing: str                      # "routed with ..." or why routing was skipped
    outputs: dict[str, Path] = field(default_factory=dict)

    def largest(self, k: int = 5) -> list[TopicSummary]:
        return sorted(self.topics, key=lambda t: (-t.size, t.topic_id))[:k]


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _normalise_chunk(pairs: Sequence[tuple[str, str]], config: NormalizeConfig) -> list[str]:
    return [item_text(title, content, config) for title, content in pairs]


def _segment_chunk(texts: Sequence[str], segmenter: Segmenter) -> list[list[str]]:
    return [segmenter(text) for text in texts]


def prepare(items: Sequence[Item], config: Config, segmenter: Segmenter, timer: StageTimer,
            progress: bool = False, workers: int = 0) -> tuple[list[Item], list[list[str]], list[Rejection]]:
    """Normalise and segment; an item with no words left (emoji, punctuation) is rejected.

    Each distinct content is normalised once and each distinct text segmented
    once (copies are most of a night), spread over ``workers`` processes.
    """
    with timer("normalise"):
        contents = list(dict.fromkeys((it.title, it.content) for it in items))
        texts = map_chunks(partial(_normalise_chunk, config=config.normalize), contents, workers,
                           "normalise" if progress else None)
        text_of = dict(zip(contents, texts))
        for it in items:
            it.text = text_of[(it.title, it.content)]
    with timer("segment"):
        unique = list(dict.fromkeys(texts))
        words = map_chunks(partial(_segment_chunk, segmenter=segmenter), unique, workers,
                           "segment" if progress else None)
        words_of = dict(zip(unique, words))
    kept, tokens, rejected = [], [], []
    for it in items:
        found = words_of[it.text]
        if not found:
            rejected.append(Rejection(it.source, it.line, it.id, "content has no words (only symbols or emoji)"))
            continue
        kept.append(it)
        tokens.append(found)
    return kept, tokens, rejected


def run(paths: Sequence[str | Path], db_path: str | Path, out_dir: str | Path | None, config: Config,
        model_path: str | Path | None = None, progress: bool = False, now: dt.datetime | None = None,
        kind: str = "run", log: Callable[[str], None] | None = None) -> RunReport:
    """Add the exports to the database and write tonight's files; see the module docstring."""
    paths = [Path(p) for p in paths]
    db_path = Path(db_path)
    started = dt.datetime.now().isoformat(timespec="seconds")
    timer = StageTimer()
    with run_lock(db_path):
        store = Store(db_path)
        try:
            return _run_locked(store, paths, out_dir, config, model_path, progress, now, kind, timer, started, log)
        finally:
            store.close()


def _run_locked(store: Store, paths, out_dir, config, model_path, progress, now, kind, timer, started, log):
    with timer("ingest"):
        result = ingest(paths, config.ingest, store.known_contents(), now)
        inputs = [{"file": str(p), "sha256": file_digest(p)} for p in paths]
    segmenter = Segmenter()
    new_items, new_tokens, empty = prepare(result.items, config, segmenter, timer, progress)
    rejected = result.rejected + empty
    old_items, old_tokens, previous = store.stored_items()
    items = old_items + new_items
    tokens = old_tokens + new_tokens
    clustering = find_topics([it.id for it in items], [it.text for it in items], tokens, config, timer)
    item_topic = clustering.item_topic
    with timer("summarise"):
        n_topics = len(clustering.centre_node)
        members: list[list[str]] = [[] for _ in range(n_topics)]
        for it, t in zip(items, item_topic.tolist()):
            members[t].append(it.id)
        first = [min(items_by_topic) for items_by_topic in members]
        earliest = np.full(n_topics, "9999", dtype=object)
        for it, t in zip(items, item_topic.tolist()):
            if it.received_at < earliest[t]:
                earliest[t] = it.received_at
        ids, merged, _ = assign_ids(members, previous, store.next_topic_number(),
                                    [(earliest[t], first[t]) for t in range(n_topics)])
        nodes = clustering.nodes
        sample = sample_members(clustering.node_topic, clustering.centre_node, nodes.weight, nodes.keys)
        topics = summarise(items, nodes.item_node, clustering.node_topic, clustering.centre_node,
                           nodes.tokens, nodes.weight, ids, sample)
    routing = _route(topics, nodes.tokens, nodes.weight, clustering.node_topic, sample, config, model_path, timer)
    counts = {
        "rows_read": result.rows_read, "new_items": len(new_items), "repeats": result.repeats,
        "rejected": len(rejected), "items_total": len(items), "topics": n_topics,
        "new_topics": len(set(ids) - set(previous.values())),
        "merged_topics": len(merged), **{f"cluster_{k}": v for k, v in clustering.stats.items()},
    }
    topic_of_item = {it.id: ids[t] for it, t in zip(items, item_topic.tolist())}
    reassigned = {i: topic_of_item[i] for i, old in previous.items() if topic_of_item[i] != old}
    with timer("store"):
        finished = dt.datetime.now().isoformat(timespec="seconds")
        with store.transaction() as con:
            run_id = store.write_run(
                con, kind=kind, started_at=started, finished_at=finished, inputs=inputs, config=config.to_dict(),
                counts=counts, timings=timer.rounded(),
                new_items=((it, tok, topic_of_item[it.id]) for it, tok in zip(new_items, new_tokens)),
                reassigned=reassigned, topics=topics, merged=merged, rejected=rejected)
    report = RunReport(run_id, counts, timer.rounded(), topics, rejected, merged, routing)
    if out_dir is not None:
        with timer("write"):
            run_record = {"run_id": run_id, "dedup_version": __version__, "started_at": started,
                          "finished_at": finished, "inputs": inputs, "counts": counts, "routing": routing,
                          "merged": merged, "config": config.to_dict(), "timings": timer.rounded()}
            assignments = sorted(topic_of_item.items())
            report.outputs = write_outputs(Path(out_dir), assignments, topics, rejected, run_record)
        report.timings = timer.rounded()
    return report


def _route(topics: list[TopicSummary], node_tokens: list[list[str]], node_weight: np.ndarray,
           node_topic: np.ndarray, sample: np.ndarray, config: Config, model_path: str | Path | None,
           timer: StageTimer) -> str:
    """Fill department columns, or say why routing was skipped (the run still succeeds)."""
    try:
        router: Router = load_router(model_path or config.classify.model)
    except ModelUnavailable as exc:
        return f"routing skipped: {exc}"
    with timer("classify"):
        router.route(topics, [node_tokens[k] for k in sample], node_weight[sample], node_topic[sample],
                     config.classify.review_below)
    return f"routed with {router.path} ({len(router.labels)} units)"
