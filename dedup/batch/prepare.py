"""Items to nodes: normalise every text, group equal ones, segment each distinct text once, on every
core; and the memory check a run makes before it stores anything."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from dedup.batch import budget
from dedup.batch.engine import Nodes, StageTimer, nodes_of
from dedup.config import Config, NormalizeConfig
from dedup.core import privacy
from dedup.core.candidates import bands_rows
from dedup.core.normalize import item_texts
from dedup.core.records import Item, Rejection
from dedup.core.segment import Segmenter
from dedup.runtime.parallel import map_chunks


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _normalise_chunk(pairs: Sequence[tuple[str, str]], config: NormalizeConfig) -> list[str]:
    return item_texts(pairs, config)


def _segment_chunk(texts: Sequence[str], segmenter: Segmenter) -> list[list[str]]:
    return [segmenter(text) for text in texts]


@dataclass
class Prepared:
    """Items ready to cluster: those with words left, those rejected for having none, and their nodes."""

    items: list[Item]
    rejected: list[Rejection]
    nodes: Nodes                      # numbered as ``group_texts`` numbers the items' texts


def prepare(items: Sequence[Item], config: Config, segmenter: Segmenter, timer: StageTimer,
            progress: bool = False, workers: int = 0) -> Prepared:
    """Normalise and segment; an item with no words left (emoji, punctuation) is rejected.

    Each distinct content is normalised once and each distinct text segmented
    once (copies are most of a night), spread over ``workers`` processes; items
    are mapped to contents and contents to texts on arrays, so the nodes come
    out of it without another pass over the items' texts.
    """
    with timer("normalise"):
        index: dict = {}
        content_of = np.fromiter((index.setdefault((it.title, it.content), len(index)) for it in items),
                                 dtype=np.int64, count=len(items))
        if config.normalize.mask_contacts and len(index) > 1000:
            privacy.warm()  # the recogniser's tables, built once here rather than in every worker
        texts = map_chunks(partial(_normalise_chunk, config=config.normalize), list(index), workers,
                           "normalise" if progress else None)
        for it, k in zip(items, content_of.tolist()):
            it.text = texts[k]
    with timer("segment"):
        index = {}
        node_of_content = np.fromiter((index.setdefault(text, len(index)) for text in texts), dtype=np.int64,
                                      count=len(texts))
        unique = list(index)
        del index
        words = map_chunks(partial(_segment_chunk, segmenter=segmenter), unique, workers,
                           "segment" if progress else None)
        item_node = node_of_content[content_of]
        empty = np.fromiter((not found for found in words), dtype=bool, count=len(words))
        kept, rejected = list(items), []
        if empty.any():
            dropped = empty[item_node]
            rejected = [Rejection(it.source, it.line, it.id, "content has no words (only symbols or emoji)")
                        for it, gone in zip(items, dropped.tolist()) if gone]
            kept = [it for it, gone in zip(items, dropped.tolist()) if not gone]
            item_node = (np.cumsum(~empty) - 1)[item_node[~dropped]]
            unique = [text for text, gone in zip(unique, empty.tolist()) if not gone]
            words = [found for found in words if found]
        nodes = nodes_of([it.id for it in kept], item_node, unique, words)
    return Prepared(kept, rejected, nodes)


def check_prepared(nodes: Nodes, config: Config) -> None:
    """``budget.check_prepared`` for these distinct texts under ``config``."""
    bands, _ = bands_rows(config)
    chunk = budget.pair_chunk(config.cluster.pair_chunk, config.run.budget_bytes) if config.cluster.pair_chunk else 0
    budget.check_prepared(budget.held_bytes(), len(nodes.texts), sum(map(len, nodes.texts)), config.sign.num_perm,
                          bands, chunk, config.run.budget_bytes)


