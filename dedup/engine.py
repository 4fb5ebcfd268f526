"""From normalised, segmented items to topics: sign, find candidates, verify, cluster.

Items whose normalised text is identical share one node, so a complaint sent
500 times is signed and compared once; the node's weight remembers the 500.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from .arrays import first_in_groups, ranks, unique
from .candidates import bucket_ids, lsh_params
from .cluster import lsh_star_cluster, split_conflicts
from .config import Config, SignConfig
from .parallel import map_chunks
from .segment import places
from .signatures import char_shingle_hashes, flat_signatures, hash_shingles, shingles
from .verify import Verifier


class StageTimer:
    """Seconds spent per named stage, in the order stages ran."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start

    def rounded(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in self.seconds.items()}


@dataclass
class Nodes:
    """Distinct normalised texts and the items that carry them."""

    texts: list[str]
    tokens: list[list[str]]
    keys: list[str]                # smallest item id per text: an order-free tie-breaker
    weight: np.ndarray             # items per text
    item_node: np.ndarray          # node of each item
    item_rank: np.ndarray | None = None  # each item's place in id order, sorted once for all who need it
    key_rank: np.ndarray | None = None   # each key's place among the keys (``ranks(keys)``), likewise

    def ranked_keys(self) -> np.ndarray:
        """``ranks(keys)``, made once: node ids, priorities, samples and numbering all order by it."""
        if self.key_rank is None:
            self.key_rank = ranks(self.keys)
        return self.key_rank


def group_texts(item_ids: Sequence[str], texts: Sequence[str], tokens: Sequence[list[str]]) -> Nodes:
    """One node per distinct text, numbered in first-seen order; its key is its smallest item id."""
    index: dict[str, int] = {}
    item_node = np.fromiter((index.setdefault(text, len(index)) for text in texts), dtype=np.int64,
                            count=len(texts))
    first = np.unique(item_node, return_index=True)[1].tolist()  # the item that first carried each text
    return nodes_of(item_ids, item_node, list(index), [tokens[k] for k in first])


def nodes_of(item_ids: Sequence[str], item_node: np.ndarray, texts: list[str], tokens: list[list[str]]) -> Nodes:
    """The nodes of items already mapped to their texts (``item_node``; every text carried by some item)."""
    rank = ranks(item_ids)
    smallest = first_in_groups(item_node, rank, len(texts))
    weight = np.bincount(item_node, minlength=len(texts)).astype(np.float64)
    # a key is its item's id, so the keys rank as their items do (a run's ids are distinct: no ties)
    key_rank = np.empty(len(texts), dtype=np.int64)
    key_rank[np.argsort(rank[smallest])] = np.arange(len(texts))
    return Nodes(texts, tokens, [item_ids[k] for k in smallest.tolist()], weight, item_node, rank, key_rank)


@dataclass
class Clustering:
    nodes: Nodes
    node_topic: np.ndarray         # topic index 0..T-1 per node
    centre_node: np.ndarray        # centre node per topic
    stats: dict[str, int] = field(default_factory=dict)
    place_codes: np.ndarray | None = None  # (3, nodes) stable place hashes, as the index stores them

    @property
    def item_topic(self) -> np.ndarray:
        return self.node_topic[self.nodes.item_node]


@dataclass
class Signed:
    """What thresholds do not change: shingle hashes, signatures and places, reusable across a sweep."""

    hashes: np.ndarray             # shingle hashes of all nodes, end to end
    lengths: np.ndarray            # shingles per node
    sig: np.ndarray
    places: list[dict]


def sign_docs(docs: Sequence, config: SignConfig) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Shingle hashes, their counts and signatures of texts (char shingles) or token lists (word)."""
    if config.shingle == "char":
        hashes, lengths = char_shingle_hashes(list(docs), config.ngram)
    else:
        sets = hash_shingles([shingles(tok, config.ngram) for tok in docs])
        lengths = np.fromiter((len(h) for h in sets), dtype=np.int64, count=len(sets))
        hashes = np.concatenate(sets) if sets else np.empty(0, np.uint32)
    return [(hashes, lengths, flat_signatures(hashes, lengths, config.num_perm, config.seed))]


def sign(nodes: Nodes, config: Config, timer: StageTimer | None = None, workers: int = 0) -> Signed:
    timer = timer or StageTimer()
    with timer("sign"):
        docs = nodes.texts if config.sign.shingle == "char" else nodes.tokens
        parts = map_chunks(partial(sign_docs, config=config.sign), docs, workers)
        hashes = np.concatenate([p[0] for p in parts]) if parts else np.empty(0, np.uint32)
        lengths = np.concatenate([p[1] for p in parts]) if parts else np.empty(0, np.int64)
        sig = np.concatenate([p[2] for p in parts]) if parts else np.empty((0, config.sign.num_perm), np.uint32)
        node_places = [places(tok) for tok in nodes.tokens]
    return Signed(hashes, lengths, sig, node_places)


def candidates(signed: Signed, config: Config, timer: StageTimer | None = None) -> np.ndarray:
    """LSH bucket ids (bands, nodes) of the signatures, for ``config``'s threshold."""
    cc = config.cluster
    with (timer or StageTimer())("candidates"):
        bands, rows = lsh_params(cc.threshold, config.sign.num_perm, cc.bands, cc.rows, cc.fn_weight)
        return bucket_ids(signed.sig, bands, rows)


def cluster_signed(nodes: Nodes, signed: Signed, config: Config, timer: StageTimer | None = None,
                   buckets: np.ndarray | None = None) -> Clustering:
    """Candidates (unless buckets are given), verification and star clustering at config.cluster.threshold."""
    timer = timer or StageTimer()
    cc = config.cluster
    if buckets is None:
        buckets = candidates(signed, config, timer)
    verifier = Verifier(signed.sig, signed.hashes, signed.lengths, signed.places, cc.threshold, cc.place_veto)
    with timer("cluster"):
        labels = lsh_star_cluster(buckets, nodes.weight, nodes.ranked_keys(), verifier, verifier.allowed,
                                  verifier.block)
        if cc.place_veto:
            labels = split_conflicts(labels, signed.places, nodes.weight, nodes.keys, verifier.codes)
        centres = unique(labels)
        # number topics by their centre's key so numbering ignores input order
        centres = centres[np.argsort(nodes.ranked_keys()[centres], kind="stable")]
        topic_of_centre = np.empty(len(nodes.texts), dtype=np.int64)
        topic_of_centre[centres] = np.arange(len(centres))
        node_topic = topic_of_centre[labels]
    stats = {"nodes": len(nodes.texts), "exact_checks": verifier.exact_checks, "topics": int(len(centres))}
    return Clustering(nodes, node_topic, centres, stats, verifier.codes)


def find_topics(item_ids: Sequence[str], texts: Sequence[str], tokens: Sequence[list[str]], config: Config,
                timer: StageTimer | None = None) -> Clustering:
    """The whole clustering: items in, a topic index per item out (``Clustering.item_topic``)."""
    nodes = group_texts(item_ids, texts, tokens)
    signed = sign(nodes, config, timer)
    return cluster_signed(nodes, signed, config, timer)
