"""Why two items share a topic or do not, and pairs of items to label by hand.

Both read the database and its index as the last run left them, with the
settings that run used, so an explanation is of the decision actually made.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dedup.config import Config
from dedup.core.gazetteer import GazetteerError, load_gazetteer
from dedup.core.segment import node_places, places_conflict
from dedup.core.signatures import char_shingles, shingle_hash, text_shingles
from dedup.core.verify import Verifier
from dedup.storage.index import Index, index_root
from dedup.storage.modelfile import ModelError
from dedup.storage.scorers import load_scorer
from dedup.storage.store import NotFound, Store, StoreError


@dataclass
class Side:
    item_id: str
    node: int
    text: str
    tokens: list[str]
    topic: str
    centre: int
    centre_text: str
    centre_tokens: list[str]


def _settings(store: Store) -> tuple[Config, dict]:
    meta = json.loads(store.meta("index") or "null")
    runs = store.runs()
    if meta is None or not runs:
        raise StoreError(f"{store.path}: no run has built an index yet")
    params = meta["params"]
    cluster = runs[-1]["config"]["cluster"]
    gazetteer = runs[-1]["config"].get("places", {}).get("gazetteer", "")
    scoring = {"cluster.scorer": cluster.get("scorer", "none"),  # a run before the scorer compared Jaccard alone
               "cluster.match_probability": cluster.get("match_probability", 0.5)}
    config = Config().with_overrides({
        "sign.shingle": params["shingle"], "sign.ngram": params["ngram"], "sign.num_perm": params["num_perm"],
        "sign.seed": params["seed"], "cluster.bands": params["bands"], "cluster.rows": params["rows"],
        "cluster.threshold": cluster["threshold"], "cluster.place_veto": cluster["place_veto"],
        "sign.boilerplate": params.get("boilerplate", False), "sign.entities": params.get("entities", False),
        "places.gazetteer": gazetteer, **scoring})
    return config, meta


def _side(store: Store, item_id: str) -> Side:
    row = store.item_node(item_id)
    if row is None:
        raise NotFound(f"no item {item_id!r} in {store.path}")
    centre = store.centre_of(row[3])
    return Side(item_id, row[0], row[1], row[2].split(" "), row[3], centre[0], centre[1], centre[2].split(" "))


def _shingles(text: str, tokens: list[str], config: Config, boilerplate: frozenset[int] = frozenset()) -> set[str]:
    """The shingles the run compared: the text's own, less the learned boilerplate."""
    own = set(text_shingles(tokens, text, config.sign))
    kept = {s for s in own if shingle_hash(s) not in boilerplate}
    return kept or own  # a text of boilerplate alone keeps its own (boilerplate.discount)


_CLAUSE_END = re.compile(r"[,.;:!?，。；：！？、\n]+")


def discounted_clauses(text: str, config: Config, boilerplate: frozenset[int], share: float = 0.5) -> list[str]:
    """The clauses of a text (between punctuation) of which at least ``share`` of the character shingles are
    learned boilerplate: the greetings, sign-offs and templates a comparison leaves out, as a person reads them."""
    out = []
    for clause in _CLAUSE_END.split(text):
        own = set(char_shingles(clause, config.sign.ngram)) if clause.strip() else set()
        if own and sum(shingle_hash(s) in boilerplate for s in own) >= share * len(own):
            out.append(clause.strip())
    return out


def _discounted(text: str, tokens: list[str], config: Config, boilerplate: frozenset[int]) -> list[str]:
    return sorted(s for s in set(text_shingles(tokens, text, config.sign)) if shingle_hash(s) in boilerplate)


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def explain(db_path: Path, id_a: str, id_b: str) -> str:
    """A plain-text account of the pair: texts, shingles, similarity, LSH, veto, topics, thresholds."""
    store = Store(db_path, readonly=True)
    try:
        config, meta = _settings(store)
        a, b = _side(store, id_a), _side(store, id_b)
    finally:
        store.close()
    t = config.cluster.threshold
    bp = frozenset(meta.get("boilerplate", []))
    sa, sb = _shingles(a.text, a.tokens, config, bp), _shingles(b.text, b.tokens, config, bp)
    common = sorted(sa & sb)
    exact = jaccard(sa, sb)
    sig = _signatures([a.text, b.text], [a.tokens, b.tokens], config, np.array(sorted(bp), dtype=np.uint32))
    estimate = float((sig[0] == sig[1]).mean())
    rows = config.cluster.rows
    bands = [k for k in range(config.cluster.bands)
             if (sig[0, k * rows:(k + 1) * rows] == sig[1, k * rows:(k + 1) * rows]).all()]
    try:
        gazetteer = load_gazetteer(config.places.gazetteer)
    except GazetteerError as exc:
        raise StoreError(f"{exc}; the last run named it, and the places are read from it") from None
    pa = node_places(a.tokens, a.text, config.sign.entities, gazetteer)
    pb = node_places(b.tokens, b.text, config.sign.entities, gazetteer)
    veto = config.cluster.place_veto and places_conflict(pa, pb)
    lines = [f"A {a.item_id}: {a.text}", f"B {b.item_id}: {b.text}",
             f"shingles ({config.sign.shingle} {config.sign.ngram}-grams): A {len(sa)}, B {len(sb)}, "
             f"in common {len(common)}: " + " | ".join(common[:20]) + (" ..." if len(common) > 20 else ""),
             "clauses that are mostly boilerplate: A " + (" | ".join(discounted_clauses(a.text, config, bp)) or "none")
             + "; B " + (" | ".join(discounted_clauses(b.text, config, bp)) or "none")
             if config.sign.shingle == "char" else "clauses: (word shingles)",
             "boilerplate left out (learned from the data): A " + (" | ".join(_discounted(
                 a.text, a.tokens, config, bp)[:12]) or "none") + "; B " + (" | ".join(_discounted(
                     b.text, b.tokens, config, bp)[:12]) or "none"),
             f"Jaccard: exact {exact:.3f}, MinHash estimate {estimate:.3f} ({config.sign.num_perm} permutations); "
             f"threshold {t:.2f}",
             f"LSH ({config.cluster.bands} bands x {rows} rows): " +
             (f"candidates, equal in band(s) {', '.join(map(str, bands[:10]))}" if bands
              else "not candidates (no equal band)"),
             f"places: A {_fmt(pa)}; B {_fmt(pb)}" + ("; they name different places: the veto keeps them apart"
                                                     if veto else "")]
    try:
        scorer = load_scorer(config.cluster.scorer)
    except ModelError as exc:
        raise StoreError(f"{exc}; the last run scored pairs with it") from None
    boilerplate = np.array(sorted(bp), dtype=np.uint32)
    if scorer is not None:
        lines += _scored(scorer, config, [a.text, b.text], [a.tokens, b.tokens], boilerplate)

        def similarity(text, tokens, other_text, other_tokens) -> float:
            return _probability(scorer, config, [text, other_text], [tokens, other_tokens], boilerplate)
    else:
        def similarity(text, tokens, other_text, other_tokens) -> float:
            return jaccard(_shingles(text, tokens, config, bp), _shingles(other_text, other_tokens, config, bp))
    measure = "match probability" if scorer is not None else "similarity"
    t = config.cluster.match_probability if scorer is not None else t
    sim_a = similarity(a.text, a.tokens, a.centre_text, a.centre_tokens)
    sim_b = similarity(b.text, b.tokens, b.centre_text, b.centre_tokens)
    if a.topic == b.topic:
        path = []
        for side, sim in ((a, sim_a), (b, sim_b)):
            path.append(f"{side.item_id} is the centre" if side.node == side.centre
                        else f"{side.item_id} joined the centre with {measure} {sim:.3f}")
        lines.append(f"merged: both in {a.topic}; " + "; ".join(path) + f"; centre text: {a.centre_text[:60]}")
        lines.append(f"a threshold above {min(sim_a, sim_b):.3f} would part them (a member must reach its centre)")
    else:
        cross_a = similarity(a.text, a.tokens, b.centre_text, b.centre_tokens)
        cross_b = similarity(b.text, b.tokens, a.centre_text, a.centre_tokens)
        lines.append(f"not merged: A in {a.topic} ({measure} to its centre {sim_a:.3f}), "
                     f"B in {b.topic} ({measure} to its centre {sim_b:.3f})")
        if veto:
            lines.append("no threshold would merge them while the place veto is on")
        else:
            lines.append(f"A's {measure} to B's centre is {cross_a:.3f}, B's to A's centre {cross_b:.3f}: at a "
                         f"threshold at or below {max(cross_a, cross_b):.3f} one could join the other's topic "
                         f"(threshold {t:.2f})")
    return "\n".join(lines)


def _verifier(scorer, config: Config, texts: list[str], tokens: list[list[str]], boilerplate: np.ndarray):
    """A verifier over the texts, signed as the run signed them (its scorer reads the same features)."""
    from dedup.batch.engine import sign_docs

    hashes, lengths, sig = sign_docs(texts if config.sign.shingle == "char" else tokens, config.sign, boilerplate)[0]
    return Verifier(sig, hashes, lengths, [{} for _ in texts], config.cluster.threshold, False, scorer=scorer,
                    match_probability=config.cluster.match_probability, tokens=tokens)


def _probability(scorer, config: Config, texts: list[str], tokens: list[list[str]], boilerplate: np.ndarray) -> float:
    features = _verifier(scorer, config, texts, tokens, boilerplate).features(np.array([0]), np.array([1]))
    return float(scorer.probability(features)[0])


def _scored(scorer, config: Config, texts: list[str], tokens: list[list[str]], boilerplate: np.ndarray) -> list[str]:
    """The pair scorer's decision as a waterfall: from a typical non-matching pair, each feature's change."""
    features = _verifier(scorer, config, texts, tokens, boilerplate).features(np.array([0]), np.array([1]))[0]
    p = float(scorer.probability(features[None, :])[0])
    lines = [f"pair scorer ({config.cluster.scorer}): match probability {p:.3f}, "
             f"{'accepted' if p >= config.cluster.match_probability else 'refused'} at "
             f"{config.cluster.match_probability:.2f} (places are checked first)",
             f"  {'a typical non-matching pair':34s} {scorer.base:6.3f}"]
    for name, value, change in scorer.contributions(features):
        lines.append(f"  {name + ' = ' + format(value, '.3f'):34s} {change:+6.3f}")
    lines.append(f"  {'this pair':34s} {p:6.3f}")
    return lines


def _signatures(texts: list[str], tokens: list[list[str]], config: Config, boilerplate: np.ndarray) -> np.ndarray:
    """Signatures as the run computed them (only topic centres are kept in the index)."""
    from dedup.batch.engine import sign_docs

    return sign_docs(texts if config.sign.shingle == "char" else tokens, config.sign, boilerplate)[0][2]


def _fmt(found: dict[int, frozenset[str]]) -> str:
    names = {1: "county", 2: "street", 3: "estate"}
    return ", ".join(f"{names[level]} {'/'.join(sorted(words))}" for level, words in sorted(found.items())) or "none"


def sample_pairs(db_path: Path, n: int, out: Path, seed: int = 0, bins: int = 10) -> Path:
    """About n pairs spread evenly over Jaccard bins, for labelling by hand (id_a,id_b,same)."""
    store = Store(db_path, readonly=True)
    try:
        config, meta = _settings(store)
        nodes = store.all_nodes()
        first_item = store.first_item_of_nodes()
    finally:
        store.close()
    rng = np.random.default_rng(seed)
    index = Index(index_root(Path(db_path)), meta["segments"])
    picked = rng.choice(len(nodes), size=min(len(nodes), max(200, 4 * n)), replace=False)
    ids = np.array([nodes[k].node_id for k in picked], dtype=np.int64)
    bp = frozenset(meta.get("boilerplate", []))
    sig = _signatures([nodes[k].text for k in picked], [nodes[k].tokens.split(" ") for k in picked], config,
                      np.array(sorted(bp), dtype=np.uint32))
    from dedup.core.candidates import band_keys

    keys = np.stack([band_keys(sig, band, config.cluster.rows) for band in range(config.cluster.bands)])
    query, found = index.lookup(keys)
    near = [(int(ids[q]), int(f)) for q, f in zip(query.tolist(), found.tolist()) if ids[q] != f]
    random = [(int(ids[i]), int(ids[j])) for i, j in rng.integers(len(ids), size=(4 * n, 2)) if i != j]
    by_id = {row.node_id: row for row in nodes}
    cache: dict[int, set[int]] = {}

    def shingle_set(node: int) -> set[int]:
        if node not in cache:
            row = by_id[node]
            cache[node] = {shingle_hash(s) for s in _shingles(row.text, row.tokens.split(" "), config, bp)}
        return cache[node]

    strata: dict[int, list[tuple[int, int, float]]] = {}
    for x, y in dict.fromkeys(tuple(sorted(p)) for p in near + random):
        sim = jaccard(shingle_set(x), shingle_set(y))
        strata.setdefault(min(int(sim * bins), bins - 1), []).append((x, y, sim))
    per_bin = max(1, n // bins)
    chosen = []
    for level in sorted(strata):
        pairs = strata[level]
        take = rng.choice(len(pairs), size=min(per_bin, len(pairs)), replace=False)
        chosen.extend(pairs[k] for k in sorted(take))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id_a", "id_b", "jaccard", "same_topic_now", "text_a", "text_b", "same"])
        for x, y, sim in chosen:
            writer.writerow([first_item[x], first_item[y], f"{sim:.3f}", int(by_id[x].topic == by_id[y].topic),
                             by_id[x].text, by_id[y].text, ""])
    return out
