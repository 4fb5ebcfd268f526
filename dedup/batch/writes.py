"""What a run's transaction writes (``storage.transaction``): a full run's or rebuild's rows, built where
they are written, and the transaction bodies of a full run and a night, each reading the run's typed
messages (``plan.BeginNodes`` ... ``plan.Finish``) in order."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dedup.batch.engine import Nodes
from dedup.batch.plan import BeginItems, BeginNodes, Decided, Finish, Plan, Topics
from dedup.core.records import Item
from dedup.core.topics import (
    TopicSummary,
    sample_members,
    summarise,
)
from dedup.io.export import write_csv
from dedup.runtime.arrays import text_array
from dedup.storage.store import Store

# a node's topic until the clustering is known: as long as a topic id, so that setting it moves no row
_UNDECIDED = "T" + "?" * 7


@dataclass
class FullRows:
    """A full run's or rebuild's rows, built where they are written (a million tuples held at once would
    cost hundreds of MB): the nodes as soon as the texts are known, the rest once topics are numbered
    (``decide``)."""

    items: list[Item]
    nodes: Nodes
    node_id: np.ndarray              # stored id per node: its key's rank, so the table grows at its end
    rebuild: bool
    ids: list[str] = field(default_factory=list)                          # topic id per cluster
    node_topic: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))   # cluster per node
    centre_node: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # centre per cluster
    times: tuple[np.ndarray, np.ndarray] | None = None  # received_times(items), made once for numbering

    def decide(self, ids: list[str], node_topic: np.ndarray, centre_node: np.ndarray) -> None:
        self.ids, self.node_topic, self.centre_node = ids, node_topic, centre_node

    @property
    def decided(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        return self.ids, self.node_topic, self.centre_node

    @property
    def item_topic(self) -> np.ndarray:
        return self.node_topic[self.nodes.item_node]

    def _by_stored_id(self) -> list[int]:
        by_stored_id = np.empty(len(self.node_id), dtype=np.int64)
        by_stored_id[self.node_id] = np.arange(len(self.node_id))
        return by_stored_id.tolist()

    def node_rows(self) -> Iterator[tuple]:
        """Every node in stored-id order, its topic still ``_UNDECIDED``."""
        nodes = self.nodes
        weight = nodes.weight.astype(np.int64).tolist()
        return ((rank, nodes.texts[k], " ".join(nodes.tokens[k]), nodes.keys[k], weight[k], _UNDECIDED, 0)
                for rank, k in enumerate(self._by_stored_id()))

    def node_topics(self) -> Iterator[tuple[str, int, int]]:
        """(topic id, is centre, stored id) of every node, in stored-id order."""
        is_centre = np.zeros(len(self.node_id), dtype=np.int64)
        is_centre[self.centre_node] = 1
        ids, topic, flags = self.ids, self.node_topic.tolist(), is_centre.tolist()
        return ((ids[topic[k]], flags[k], rank) for rank, k in enumerate(self._by_stored_id()))

    def item_rows(self) -> Iterator[tuple[Item, int]]:
        """(item, stored node id) in id order: known before the clustering is."""
        items, node_of = self.items, self._item_nodes()
        return ((items[k], node_of[k]) for k in self._by_id())

    def renumbered(self) -> Iterator[tuple[int, str]]:
        """A rebuild's (stored node id, item id) for every stored item."""
        return zip(self._item_nodes(), (it.id for it in self.items))

    def _item_nodes(self) -> list[int]:
        """Each item's stored node id, in item order."""
        return self.node_id[self.nodes.item_node].tolist()

    def _by_id(self) -> list[int]:
        """The items in id order: the stable argsort of their ids, from their ranks."""
        by_id = np.empty(len(self.items), dtype=np.int64)
        by_id[self.nodes.item_rank] = np.arange(len(self.items))
        return by_id.tolist()

    def write_assignments(self, path: Path) -> tuple[Path, Counter]:
        """assignments.csv under its temporary name, and the items per topic: rows made in id order as
        written (a sorted list of a million pairs would cost the run seconds and 100 MB at its peak)."""
        ids, items, item_topic = self.ids, self.items, self.item_topic
        topic_of = item_topic.tolist()
        written = write_csv(path, ["id", "topic_id"], ((items[k].id, ids[topic_of[k]]) for k in self._by_id()),
                            final=False)
        return written, Counter(dict(zip(ids, np.bincount(item_topic, minlength=len(ids)).tolist())))

    def summaries(self) -> tuple[list[TopicSummary], list, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(topics in id order, node tokens, node weights, topic per node, sampled nodes, their places in
        their topics' samples), as ``_summaries``."""
        nodes, node_topic, centre_node = self.nodes, self.node_topic, self.centre_node
        sample, place = sample_members(node_topic, centre_node, nodes.weight, nodes.ranked_keys())
        topics = summarise(self.items, nodes.item_node, node_topic, centre_node, nodes.tokens,
                           nodes.weight, self.ids, sample, nodes.item_rank, self.times)
        by_id = np.argsort(text_array(self.ids), kind="stable").tolist()  # in id order, as a night lists them
        position = np.empty(len(topics), dtype=np.int64)
        position[by_id] = np.arange(len(topics))
        return [topics[t] for t in by_id], nodes.tokens, nodes.weight, position[node_topic], sample, place


def write_plan(store: Store, con, later, *, plan: Plan, kind: str, started: str, inputs: list,
                config: dict) -> tuple[int, float, None]:
    """The body of a night's transaction: its nodes, moves and items, then what ``later`` brings: the
    topics and the index's new segment list (``Topics``), then, once the segment is written, the run's
    record (``Finish``).
    Returns the run id, the seconds the rows took and None (no file written)."""
    begun = time.perf_counter()
    run_id = store.write_run(con, kind=kind, started_at=started, finished_at=None, inputs=inputs, config=config,
                             counts={}, timings={})
    store.write_nodes(con, plan.node_rows)
    store.move_topics(con, plan.moves)
    store.write_items(con, run_id, sorted(((it, node) for it, node, _ in plan.new_items), key=lambda r: r[0].id))
    rows_seconds = time.perf_counter() - begun
    _write_topics(store, con, run_id, later(Topics))
    _finish_run(store, con, run_id, later(Finish))
    return run_id, rows_seconds, None


def write_full(store: Store, con, later, *, full: FullRows, assignments: Path | None, kind: str, started: str,
                inputs: list, config: dict) -> tuple[int, float, tuple[Path, Counter] | None]:
    """The body of a full run's or rebuild's transaction, begun before it signs: once told to begin
    (``BeginNodes``), every node; once the run has clustered (``BeginItems``), every item (an item's
    topic is its node's: it need not wait for the topics); then the nodes' topics (``Decided``); then
    the topics and the index's segment list (``Topics``), and ``assignments`` (under its temporary name)
    from the rows it holds, while the run writes the index segment and the workbook; last, sent once
    the segment is written, the run's record (``Finish``). Indexes are built once their column is filled. Returns the
    run id, the seconds spent writing rows (not waiting) and what ``FullRows.write_assignments``
    returned (None if not asked, or if the file could not be written: the run then writes it after the
    commit, and says why if it fails)."""
    begun = time.perf_counter()
    run_id = store.write_run(con, kind=kind, started_at=started, finished_at=None, inputs=inputs, config=config,
                             counts={}, timings={})
    rows_seconds = time.perf_counter() - begun
    later(BeginNodes)  # the run is about to cluster on one core
    begun = time.perf_counter()
    store.drop_indexes(con)
    store.clear_nodes(con)
    store.write_nodes(con, full.node_rows())
    store.build_index(con, "nodes_text")
    rows_seconds += time.perf_counter() - begun
    # Not before the run has clustered: reading an item copies its pages (reference counts), which
    # during clustering would take all processes together past 4 GiB (4,112 MiB measured at 1.28M)
    later(BeginItems)
    begun = time.perf_counter()
    if full.rebuild:  # every stored item gets its new node
        store.renumber_items(con, full.renumbered())
    else:
        store.write_items(con, run_id, full.item_rows())
    store.build_index(con, "items_node")
    rows_seconds += time.perf_counter() - begun
    decided = later(Decided)
    full.decide(decided.ids, decided.node_topic, decided.centre_node)
    begun = time.perf_counter()
    store.set_node_topics(con, full.node_topics(), len(full.node_id))
    store.build_index(con, "nodes_topic")
    rows_seconds += time.perf_counter() - begun
    _write_topics(store, con, run_id, later(Topics))
    written = None
    if assignments is not None:
        try:
            written = full.write_assignments(assignments)
        except OSError:
            pass
    _finish_run(store, con, run_id, later(Finish))  # the run's record: sent once the index segment is written
    return run_id, rows_seconds, written


def _write_topics(store: Store, con, run_id: int, message: Topics) -> None:
    store.write_topics(con, run_id, message.records, message.merged, message.rejected, message.flagged)
    if message.new_index is not None:
        store.set_meta(con, "index", message.new_index)


def _finish_run(store: Store, con, run_id: int, message: Finish) -> None:
    store.finish_run(con, run_id, finished_at=message.finished, counts=message.counts, timings=message.timings)


