"""Fitting the pair scorer (``scorer.py``) from labelled data: gold topics or hand-labelled pairs.

From gold topics, the examples are the pairs a run would verify: texts sharing an LSH bucket at the
configured bands (at most ``per_bucket`` texts of a bucket, so a campaign of thousands does not
outweigh the rest), labelled by whether their gold topics agree. From labelled pairs (``dedup pairs``
output once labelled, or ``id_a,id_b,same`` files), the pairs themselves. Pairs the place veto parts
are left out: the scorer never sees them in a run. Each source weighs the same in the fit, whatever
its number of pairs, and a share of each (whole gold topics, or pairs) is held out and reported.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dedup.batch.engine import StageTimer, sign
from dedup.batch.prepare import prepare
from dedup.config import Config
from dedup.core.candidates import bands_rows, bucket_ids
from dedup.core.scorer import FEATURES, PairScorer, fit
from dedup.core.segment import segmenter_for
from dedup.core.verify import Verifier
from dedup.io.ingest import ingest
from dedup.runtime.arrays import unique
from dedup.storage.scorers import save
from dedup.tools.metrics import pair_metrics
from dedup.tools.tune import Gold, read_gold


@dataclass
class Examples:
    """Labelled pairs of one source, with their features and whether each is held out."""

    name: str
    x: np.ndarray
    y: np.ndarray
    held_out: np.ndarray


def _bucket_pairs(buckets: np.ndarray, per_bucket: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Distinct node pairs (i < j) sharing a bucket in some band, at most ``per_bucket`` nodes a bucket."""
    found = []
    n = buckets.shape[1]
    for band in buckets:
        order = np.argsort(band, kind="stable")
        ordered = band[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        ends = np.r_[starts[1:], n]
        for s, e in zip(starts[ends - starts > 1].tolist(), ends[ends - starts > 1].tolist()):
            members = order[s:e]
            if len(members) > per_bucket:
                members = rng.choice(members, per_bucket, replace=False)
            a, b = np.triu_indices(len(members), 1)
            found.append(np.minimum(members[a], members[b]) * n + np.maximum(members[a], members[b]))
    keys = unique(np.concatenate(found)) if found else np.zeros(0, np.int64)
    return keys // max(n, 1), keys % max(n, 1)


def examples(export: Path, gold: Gold, config: Config, name: str = "", per_bucket: int = 6, limit: int = 60_000,
             holdout: float = 0.3, seed: int = 0) -> Examples:
    """The labelled pairs of one export, as the scorer will see them in a run."""
    rng = np.random.default_rng(seed)
    result = ingest([export], config.ingest)
    prepared = prepare(result.items, config, segmenter_for(config), StageTimer())
    nodes = prepared.nodes
    node_of = {item.id: int(nodes.item_node[k]) for k, item in enumerate(prepared.items)}
    signed = sign(nodes, config)
    verifier = Verifier(signed.sig, signed.hashes, signed.lengths, signed.places, config.cluster.threshold,
                        config.cluster.place_veto, codes=signed.codes, tokens=nodes.tokens)
    if gold.topics is not None:
        topic = np.full(len(nodes.texts), "", dtype=object)
        for item_id, node in node_of.items():
            topic[node] = gold.topics.get(item_id, topic[node])
        i, j = _bucket_pairs(bucket_ids(signed.sig, *bands_rows(config)), per_bucket, rng)
        known = (topic[i] != "") & (topic[j] != "")
        i, j = i[known], j[known]
        if len(i) > limit:
            pick = np.sort(rng.choice(len(i), limit, replace=False))
            i, j = i[pick], j[pick]
        y = topic[i] == topic[j]
        held = np.array([zlib.crc32(str(t).encode()) % 1000 < holdout * 1000 for t in topic[i]], dtype=bool)
    else:
        kept = [(node_of[a], node_of[b], same) for a, b, same in gold.pairs or []
                if a in node_of and b in node_of and node_of[a] != node_of[b]]
        i = np.array([a for a, _, _ in kept], dtype=np.int64)
        j = np.array([b for _, b, _ in kept], dtype=np.int64)
        y = np.array([same for _, _, same in kept], dtype=bool)
        held = rng.random(len(i)) < holdout
    allowed = verifier.allowed(i, j)
    i, j, y, held = i[allowed], j[allowed], y[allowed], held[allowed]
    return Examples(name or export.name, verifier.features(i, j), y.astype(bool), held)


def report(scorer: PairScorer, sources: list[Examples], match_probability: float) -> dict:
    """Pairwise precision and recall at ``match_probability`` on each source's held-out pairs."""
    out = {}
    for source in sources:
        x, y = source.x[source.held_out], source.y[source.held_out]
        said = scorer.probability(x) >= match_probability
        m = pair_metrics(said.tolist(), y.tolist())
        out[source.name] = {"held_out_pairs": int(len(y)), "matching": int(y.sum()),
                            "precision": round(m["pairwise_precision"], 4), "recall": round(m["pairwise_recall"], 4)}
    return out


def fit_sources(sources: list[Examples], out: Path, match_probability: float = 0.5, seed: int = 0,
                describe: dict | None = None) -> tuple[PairScorer, dict]:
    """Fit on every source's pairs not held out, each source weighing the same; save with a sidecar."""
    x = np.vstack([s.x[~s.held_out] for s in sources])
    y = np.concatenate([s.y[~s.held_out] for s in sources])
    weight = np.concatenate([np.full(int((~s.held_out).sum()), 1.0 / max(int((~s.held_out).sum()), 1))
                             for s in sources])
    scorer = fit(x, y, weight * len(weight), seed=seed)
    held = report(scorer, sources, match_probability)
    sidecar = {"sources": {s.name: {"pairs": int(len(s.y)), "matching": int(s.y.sum()),
                                    "fitted_on": int((~s.held_out).sum())} for s in sources},
               "held_out": held, "match_probability": match_probability, "features": list(FEATURES),
               **(describe or {})}
    save(scorer, out, sidecar)
    return scorer, held


def fit_from_gold(export: Path, gold_path: Path, out: Path, config: Config) -> tuple[PairScorer, dict]:
    """``dedup tune --fit-scorer``: one export and its gold topics or labelled pairs."""
    source = examples(export, read_gold(gold_path), config, name=export.name)
    return fit_sources([source], out, config.cluster.match_probability,
                       describe={"export": str(export), "gold": str(gold_path)})
