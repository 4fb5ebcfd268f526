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

from dedup.batch.budget import pair_chunk
from dedup.config import Config, SignConfig
from dedup.core import entities
from dedup.core.boilerplate import discount, learn, sample_nodes
from dedup.core.candidates import bands_rows, bucket_ids
from dedup.core.cluster import lsh_star_cluster, split_conflicts
from dedup.core.gazetteer import EMPTY, Gazetteer, load_gazetteer
from dedup.core.joins import Bounds
from dedup.core.segment import NodePlaces, node_places
from dedup.core.signatures import char_shingle_hashes, flat_signatures, hash_shingles, permuted_signatures, shingles
from dedup.core.verify import Verifier, place_codes
from dedup.runtime.arrays import first_in_groups, ranks, transposed, unique
from dedup.runtime.parallel import chunk_results, shared_empty
from dedup.storage.scorers import load_scorer


class StageTimer:
    """Seconds spent per named stage, in the order stages ran; with ``progress``, a line per stage on the
    terminal that counts its seconds while it runs (and its work, where the stage reports it)."""

    def __init__(self, progress: bool = False) -> None:
        self.seconds: dict[str, float] = {}
        self.progress = progress
        self._bar = None

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        bar = None
        if self.progress and self._bar is None:
            from tqdm import tqdm

            bar = self._bar = tqdm(desc=stage, mininterval=0.5, leave=False, bar_format="{desc} {elapsed}{postfix}")
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start
            if bar is not None:
                bar.close()
                self._bar = None

    def advance(self, done: int, total: int, unit: str) -> None:
        """Report a running stage's work: ``done`` of ``total`` ``unit``."""
        if self._bar is not None:
            self._bar.set_postfix_str(f"{done:,} of {total:,} {unit}")

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
    sig: np.ndarray                # (nodes, num_perm)
    places: Sequence[dict]         # each node's places (segment.places), found when asked for
    codes: np.ndarray | None = None    # place_codes(places)
    columns: np.ndarray | None = None  # sig.T, contiguous, as banding reads it: dropped once banded
    boilerplate: np.ndarray | None = None  # the shingle hashes left out (boilerplate.learn), sorted


def _shingle_hashes(docs: Sequence, config: SignConfig) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hashes of texts (char shingles) or token lists (word), end to end, and their counts."""
    if config.shingle == "char":
        return char_shingle_hashes(list(docs), config.ngram)
    sets = hash_shingles([shingles(tok, config.ngram) for tok in docs])
    lengths = np.fromiter((len(h) for h in sets), dtype=np.int64, count=len(sets))
    return (np.concatenate(sets) if sets else np.empty(0, np.uint32)), lengths


def sign_docs(docs: Sequence, config: SignConfig,
              boilerplate: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Shingle hashes (less ``boilerplate``), their counts and signatures of texts (char shingles) or token
    lists (word)."""
    hashes, lengths = discount(*_shingle_hashes(docs, config), _none(boilerplate))
    return [(hashes, lengths, flat_signatures(hashes, lengths, config.num_perm, config.seed))]


def _none(boilerplate: np.ndarray | None) -> np.ndarray:
    return np.empty(0, np.uint32) if boilerplate is None else boilerplate


def learn_boilerplate(nodes: Nodes, config: SignConfig) -> np.ndarray:
    """The boilerplate shingles of a sample of the nodes (chosen by their keys: any input order gives the
    same), or none when ``sign.boilerplate`` is off."""
    if not config.boilerplate or not len(nodes.texts):
        return np.empty(0, np.uint32)
    pick = sample_nodes(nodes.keys, config.boilerplate_sample).tolist()
    docs = [nodes.texts[k] for k in pick] if config.shingle == "char" else [nodes.tokens[k] for k in pick]
    learned = learn(*_shingle_hashes(docs, config), config.boilerplate_share, config.boilerplate_min_count,
                    config.boilerplate_coherence, seed=config.seed)
    return learned.hashes


def _sign_span(span: range, nodes: Nodes, config: SignConfig, columns: np.ndarray,
               boilerplate: np.ndarray, gazetteer: Gazetteer = EMPTY) -> list[tuple]:
    """Shingle hashes (less the boilerplate ones), their counts, signatures and place codes of the nodes in
    ``span``; the signatures also go, one row per permutation, into their columns of ``columns`` (shared
    with the run)."""
    texts, tokens = nodes.texts[span.start:span.stop], nodes.tokens[span.start:span.stop]
    hashes, lengths = discount(*_shingle_hashes(texts if config.shingle == "char" else tokens, config), boilerplate)
    permuted = permuted_signatures(hashes, lengths, config.num_perm, config.seed,
                                   out=columns[:, span.start:span.stop])
    return [(hashes, lengths, transposed(permuted),
             place_codes([node_places(tok, text, config.entities, gazetteer) for tok, text in zip(tokens, texts)]))]


def sign(nodes: Nodes, config: Config, timer: StageTimer | None = None, workers: int = 0,
         boilerplate: np.ndarray | None = None) -> Signed:
    """Every node's shingle hashes, signature and place codes, made on all cores.

    The workers write the signatures for banding straight into shared memory
    and send the rest back; each part is put in place as it comes, while the
    workers make the next (at 1.28M, concatenating the signatures, transposing
    them for banding and finding places and their codes on the run's own core
    took 4 s). The places themselves are found again when asked for
    (``NodePlaces``): few are.
    """
    timer = timer or StageTimer()
    if boilerplate is None:
        with timer("boilerplate"):
            boilerplate = learn_boilerplate(nodes, config.sign)
    gazetteer = load_gazetteer(config.places.gazetteer)
    with timer("sign"):
        if config.sign.entities:
            entities.warm()  # the place keys' dictionary, read here once rather than in every worker
        n, perms = len(nodes.texts), config.sign.num_perm
        columns = shared_empty((perms, n), np.uint32)
        sig = np.empty((n, perms), dtype=np.uint32)
        hashes, lengths, codes = [], [], []
        for span, [(h, counts, rows, code)] in chunk_results(
                partial(_sign_span, nodes=nodes, config=config.sign, columns=columns, boilerplate=boilerplate,
                        gazetteer=gazetteer),
                range(n), workers):
            sig[span.start:span.stop] = rows
            hashes.append(h)
            lengths.append(counts)
            codes.append(code)
        hashes = np.concatenate(hashes) if hashes else np.empty(0, np.uint32)
        lengths = np.concatenate(lengths) if lengths else np.empty(0, np.int64)
        codes = np.concatenate(codes, axis=1) if codes else np.empty((3, 0), np.int64)
    return Signed(hashes, lengths, sig, NodePlaces(nodes.tokens, nodes.texts, config.sign.entities, gazetteer), codes,
                  columns,
                  boilerplate)


def candidates(signed: Signed, config: Config, timer: StageTimer | None = None) -> np.ndarray:
    """LSH bucket ids (bands, nodes) of the signatures, for ``config``'s threshold."""
    with (timer or StageTimer())("candidates"):
        bands, rows = bands_rows(config)
        return bucket_ids(signed.sig, bands, rows, columns=signed.columns)


def bounds_of(config: Config) -> Bounds:
    """The clustering's work bounds from the configuration (``ClusterConfig``)."""
    cc = config.cluster
    chunk = pair_chunk(cc.pair_chunk, config.run.budget_bytes) if cc.pair_chunk else 0
    return Bounds(cc.bucket_centres, cc.candidates, chunk, cc.first_accepted)


def cluster_signed(nodes: Nodes, signed: Signed, config: Config, timer: StageTimer | None = None,
                   buckets: np.ndarray | None = None) -> Clustering:
    """Candidates (unless buckets are given), verification and star clustering at config.cluster.threshold."""
    timer = timer or StageTimer()
    cc = config.cluster
    if buckets is None:
        buckets = candidates(signed, config, timer)
    verifier = Verifier(signed.sig, signed.hashes, signed.lengths, signed.places, cc.threshold, cc.place_veto,
                        codes=signed.codes, scorer=load_scorer(cc.scorer), match_probability=cc.match_probability,
                        tokens=nodes.tokens)
    bounds = bounds_of(config)
    with timer("cluster"):
        labels = lsh_star_cluster(buckets, nodes.weight, nodes.ranked_keys(), verifier, verifier.allowed,
                                  verifier.block, bounds=bounds,
                                  on_round=lambda done: timer.advance(done, len(nodes.texts), "texts placed"))
        if cc.place_veto:
            labels = split_conflicts(labels, signed.places, nodes.weight, nodes.keys, verifier.codes)
        centres = unique(labels)
        # number topics by their centre's key so numbering ignores input order
        centres = centres[np.argsort(nodes.ranked_keys()[centres], kind="stable")]
        topic_of_centre = np.empty(len(nodes.texts), dtype=np.int64)
        topic_of_centre[centres] = np.arange(len(centres))
        node_topic = topic_of_centre[labels]
    stats = {"nodes": len(nodes.texts), "boilerplate_shingles": len(_none(signed.boilerplate)),
             "verified": verifier.verified, "exact_checks": verifier.exact_checks,
             "topics": int(len(centres)),
             **bounds.stats}
    return Clustering(nodes, node_topic, centres, stats, verifier.codes)


def find_topics(item_ids: Sequence[str], texts: Sequence[str], tokens: Sequence[list[str]], config: Config,
                timer: StageTimer | None = None) -> Clustering:
    """The whole clustering: items in, a topic index per item out (``Clustering.item_topic``)."""
    nodes = group_texts(item_ids, texts, tokens)
    signed = sign(nodes, config, timer)
    return cluster_signed(nodes, signed, config, timer)
