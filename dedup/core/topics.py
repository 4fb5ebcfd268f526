"""Topic summaries and stable topic ids."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain

import numpy as np
from scipy.sparse import csr_matrix

from dedup.core.records import CHANNELS, Item
from dedup.runtime.arrays import first_in_groups, key_ranks, ranks, stable_order, text_array


@dataclass
class TopicSummary:
    topic_id: str
    size: int
    representative_id: str
    representative_text: str
    keywords: list[str]
    channels: dict[str, int]
    first_received: str
    last_received: str
    department: str = ""
    department_score: float = 0.0
    department_top3: list[tuple[str, float]] = field(default_factory=list)
    needs_review: bool = False

    @property
    def channels_text(self) -> str:
        return ",".join(f"{c}:{n}" for c, n in self.channels.items() if n)


TOPIC_COLUMNS = ["topic_id", "size", "representative_id", "representative_text", "keywords", "channels",
                 "first_received", "last_received", "department", "department_score", "department_top3",
                 "needs_review"]


def topic_row(t: TopicSummary) -> list:
    """A topic as one row of topics.csv; the database keeps the same text forms."""
    return [t.topic_id, t.size, t.representative_id, t.representative_text, " ".join(t.keywords), t.channels_text,
            t.first_received, t.last_received, t.department,
            f"{t.department_score:.3f}" if t.department else "",
            ", ".join(f"{d}:{p:.3f}" for d, p in t.department_top3), int(t.needs_review)]


class _Numbering(dict):
    """word -> its number in the order first asked for."""

    def __missing__(self, word: str) -> int:
        self[word] = number = len(self)
        return number


def keywords_by_topic(node_tokens: Sequence[Sequence[str]], node_weight: np.ndarray, node_topic: np.ndarray,
                      n_topics: int, k: int = 5) -> list[list[str]]:
    """Top-k TF-IDF words of each topic, idf over distinct texts so repeats don't dominate."""
    lengths = np.fromiter(map(len, node_tokens), dtype=np.int64, count=len(node_tokens))
    # one C pass over the tokens numbers the words as first seen (``_Numbering``); they are then
    # renumbered in sorted order, the tie-break among equal scores
    first_seen = _Numbering()
    cols = np.fromiter(map(first_seen.__getitem__, chain.from_iterable(node_tokens)), dtype=np.int64,
                       count=int(lengths.sum()))
    if not first_seen:
        return [[] for _ in range(n_topics)]
    seen = list(first_seen)
    rank = ranks(seen)  # one sort gives both the sorted words and each word's place among them
    words = [seen[k] for k in np.argsort(rank).tolist()]
    cols = rank[cols]
    rows = np.repeat(np.arange(len(node_tokens)), lengths)
    keep = np.fromiter(map(len, words), dtype=np.int64, count=len(words))[cols] > 1  # single characters say little
    presence = csr_matrix((np.ones(int(keep.sum())), (rows[keep], cols[keep])),
                          shape=(len(node_tokens), len(words)))
    presence.sum_duplicates()
    presence.data[:] = 1.0  # a word counts once per text
    idf = np.log((1 + len(node_tokens)) / (1 + np.asarray(presence.sum(axis=0)).ravel())) + 1
    membership = csr_matrix((node_weight, (node_topic, np.arange(len(node_tokens)))),
                            shape=(n_topics, len(node_tokens)))
    scores = (membership @ presence).tocsr()
    scores.sort_indices()
    # the k best words of every topic at once: by topic, then score, then word, from two stable sorts
    # (within a topic the entries are in word order already), keeping each topic's first k
    per_topic = np.diff(scores.indptr)
    topic = np.repeat(np.arange(n_topics), per_topic)
    order = np.argsort(-(scores.data * idf[scores.indices]), kind="stable")
    order = order[stable_order(topic[order])]
    chosen = order[np.arange(len(order)) - scores.indptr[topic[order]] < k]
    chosen_words = [words[c] for c in scores.indices[chosen].tolist()]
    ends = np.cumsum(np.minimum(per_topic, k)).tolist()
    return [chosen_words[start:end] for start, end in zip([0] + ends[:-1], ends)]


def sample_members(node_topic: np.ndarray, centre_node: np.ndarray, node_weight: np.ndarray,
                   keys: Sequence[str] | np.ndarray, k: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Up to k distinct texts per topic, the centre and then the most copied (ties by key; ``keys``:
    the strings, or their ranks), in node order, and each one's place in that order (0: the centre).

    Keywords and routing read these rather than every copy: a topic of 5,000
    items has few distinct wordings, and the most copied ones carry it.
    """
    is_centre = np.zeros(len(node_topic), dtype=bool)
    is_centre[centre_node] = True
    order = np.lexsort((key_ranks(keys), -node_weight, ~is_centre, node_topic))
    topics_sorted = node_topic[order]
    first = np.searchsorted(topics_sorted, topics_sorted, side="left")
    position = np.arange(len(order)) - first
    keep = position < k
    picked, place = order[keep], position[keep]
    in_node_order = np.argsort(picked, kind="stable")
    return picked[in_node_order], place[in_node_order]


def _time_keys(received: np.ndarray) -> np.ndarray:
    """Sort keys for "YYYY-MM-DD HH:MM:SS" strings: seconds, which order as the strings do."""
    try:
        return np.array(received, dtype="datetime64[s]").astype(np.int64)
    except ValueError:
        return text_array(received.tolist())


def received_times(items: Sequence[Item]) -> tuple[np.ndarray, np.ndarray]:
    """Each item's received_at (an object array) and sort keys that order as those strings do."""
    received = np.array([it.received_at for it in items], dtype=object)
    return received, _time_keys(received)


def numbering_order(items: Sequence[Item], item_node: np.ndarray, node_topic: np.ndarray, node_keys: Sequence[str],
                    n_topics: int, times: tuple[np.ndarray, np.ndarray] | None = None,
                    key_rank: np.ndarray | None = None) -> list[int]:
    """The topics in the order new ids are numbered: by first received, then smallest item id.
    ``times`` is ``received_times(items)`` and ``key_rank`` is ``ranks(node_keys)``, when the caller has them.

    Sorted on arrays of the times' and ids' ranks (sorting 123k (time, id) string pairs took 0.4-0.6 s).
    """
    _received, keys = received_times(items) if times is None else times
    earliest = keys[first_in_groups(node_topic[item_node], keys, n_topics)]
    rank = ranks(node_keys) if key_rank is None else key_rank
    smallest = rank[first_in_groups(node_topic, rank, n_topics)]  # a node's key is its smallest item id
    return np.lexsort((smallest, earliest)).tolist()


def summarise(items: Sequence[Item], item_node: np.ndarray, node_topic: np.ndarray, centre_node: np.ndarray,
              node_tokens: Sequence[Sequence[str]], node_weight: np.ndarray, topic_ids: Sequence[str],
              sample: np.ndarray | None = None, item_rank: np.ndarray | None = None,
              times: tuple[np.ndarray, np.ndarray] | None = None) -> list[TopicSummary]:
    """One summary per topic; topic t has id topic_ids[t] and centre node centre_node[t].

    ``item_rank`` (each item's place in id order) and ``times`` (``received_times(items)``), when the
    caller has them, spare sorting the ids and converting the times again.
    """
    n_topics = len(topic_ids)
    sample = np.arange(len(node_topic)) if sample is None else sample
    keywords = keywords_by_topic([node_tokens[k] for k in sample], node_weight[sample], node_topic[sample],
                                 n_topics)
    item_topic = node_topic[item_node]
    ids = text_array([it.id for it in items]) if item_rank is None else item_rank
    received, time_keys = received_times(items) if times is None else times
    channel_code = {c: k for k, c in enumerate(CHANNELS)}
    channels = np.bincount(item_topic * len(CHANNELS) + np.array([channel_code[it.channel] for it in items]),
                           minlength=n_topics * len(CHANNELS)).reshape(n_topics, len(CHANNELS))
    sizes = np.bincount(item_topic, minlength=n_topics)
    # first and last received per topic: sort by (topic, time), take each group's ends
    by_time = np.lexsort((time_keys, item_topic))
    starts = np.searchsorted(item_topic[by_time], np.arange(n_topics))
    first = received[by_time[starts]]
    last = received[by_time[starts + sizes - 1]]
    # the representative: the smallest item id carrying the centre's text
    by_id = np.lexsort((ids, item_node))
    node_start = np.searchsorted(item_node[by_id], centre_node)
    rep = by_id[node_start]
    # whole columns to lists first: indexing numpy arrays a topic at a time cost 0.4 s for 123k topics
    return [TopicSummary(topic_id=topic_ids[t], size=size, representative_id=items[r].id,
                         representative_text=items[r].text, keywords=keywords[t],
                         channels=dict(zip(CHANNELS, counts)), first_received=earliest, last_received=latest)
            for t, (size, r, counts, earliest, latest) in enumerate(zip(
                sizes.tolist(), rep.tolist(), channels.tolist(), first.tolist(), last.tolist()))]


def assign_ids(clusters: Sequence[Sequence[str]], previous: dict[str, str], next_number: int,
               order: Sequence[int]) -> tuple[list[str], dict[str, str], int]:
    """Give each cluster (a list of item ids) a topic id, keeping yesterday's ids where possible.

    A cluster takes the old id that most of its previously-assigned items had
    (ties to the older id); an old id is used once. Old ids left without a
    cluster are returned as merged into the id their items went to. New
    clusters are numbered in ``order`` (every cluster once: ``numbering_order``,
    first received, then id), so numbering does not depend on input order.
    """
    votes = []
    for c, members in enumerate(clusters if previous else ()):  # (a first run's 123k empty Counters: 0.3 s)
        counts = Counter(previous[m] for m in members if m in previous)
        for old, count in counts.items():
            votes.append((-count, old, c))
    votes.sort()
    ids: list[str | None] = [None] * len(clusters)
    used: set[str] = set()
    for _neg, old, c in votes:
        if ids[c] is None and old not in used:
            ids[c] = old
            used.add(old)
    for c in order:
        if ids[c] is None:
            ids[c] = f"T{next_number:07d}"
            next_number += 1
    merged: dict[str, str] = {}
    for c, members in enumerate(clusters if previous else ()):
        for m in members:
            old = previous.get(m)
            if old is not None and old not in used and old not in merged:
                merged[old] = ids[c]
    return [str(i) for i in ids], merged, next_number
