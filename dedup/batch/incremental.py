"""Attach a night's items to the stored topics without re-reading or re-signing what is stored.

The rules are the batch rules, applied to what is new:
- a text already stored joins that text's topic;
- a new text joins the stored topic whose centre it is most similar to
  (verified, place veto included), found through the persisted LSH index;
- the rest are star-clustered among themselves into new topics;
- when a new text is accepted by the centres of two stored topics and those
  centres accept each other, the topics are one: the older id survives and
  the other is recorded as merged into it.
"""

from __future__ import annotations

import numpy as np

from dedup.batch.engine import Nodes, StageTimer, bounds_of, group_texts, sign, sign_docs
from dedup.batch.plan import Plan, index_params
from dedup.config import Config
from dedup.core.candidates import band_keys, bucket_ids
from dedup.core.cluster import best_centres, lsh_star_cluster
from dedup.core.gazetteer import load_gazetteer
from dedup.core.records import Item, NodeRow
from dedup.core.segment import NodePlaces
from dedup.core.verify import Verifier
from dedup.runtime.arrays import unique
from dedup.storage import decisions
from dedup.storage.index import Index
from dedup.storage.scorers import load_scorer
from dedup.storage.store import Store


def _older(a: str, b: str) -> tuple[str, str]:
    """(survivor, merged): ids are T + zero-padded number, so the smaller string is the older topic."""
    return (a, b) if a < b else (b, a)


def bridges(nodes: np.ndarray, centres: np.ndarray, sims: np.ndarray, labels: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """(the centre a node joined, another centre that accepted it) for every such pair of a verified hit
    (node, centre, similarity; rejected below 0), by node and then in hit order: the merges to consider."""
    hits = np.flatnonzero(sims >= 0)
    hits = hits[np.argsort(nodes[hits], kind="stable")]
    joined, other = labels[nodes[hits]], centres[hits]
    differ = joined != other
    return joined[differ], other[differ]


def attach(store: Store, index: Index, items: list[Item], nodes: Nodes, config: Config, timer: StageTimer,
           boilerplate: np.ndarray | None = None):
    """Tonight's items (``nodes``: their distinct texts) joined to the stored topics; returns the run's Plan.
    ``boilerplate`` is the shingle set the stored signatures left out, so tonight's leave out the same."""
    boilerplate = np.empty(0, np.uint32) if boilerplate is None else boilerplate
    params = index_params(config)
    existing = store.nodes_for_texts(nodes.texts)
    new = np.array([t not in existing for t in nodes.texts], dtype=bool)
    new_idx = np.flatnonzero(new)
    first_node = store.next_node_id()
    node_id = np.empty(len(nodes.texts), dtype=np.int64)
    node_id[new_idx] = first_node + np.arange(len(new_idx))
    for k in np.flatnonzero(~new):
        node_id[k] = existing[nodes.texts[k]][0]

    sub = group_texts([nodes.keys[k] for k in new_idx], [nodes.texts[k] for k in new_idx],
                      [nodes.tokens[k] for k in new_idx])
    sub.weight = nodes.weight[new_idx]
    signed = sign(sub, config, timer, boilerplate=boilerplate)
    m = len(new_idx)
    with timer("candidates"):
        keys = np.stack([band_keys(signed.sig, b, params["rows"]) for b in range(params["bands"])]) if m else \
            np.empty((params["bands"], 0), np.uint64)
        bounds = bounds_of(config)
        query, found = index.lookup(keys, signed.codes if config.cluster.place_veto else None,
                                    bounds.bucket_centres, bounds.candidates, bounds.stats)
        stored_rows = {r.node_id: r for r in store.node_rows(unique(found).tolist())} if len(found) else {}
        centre_ids = np.array(sorted(nid for nid, r in stored_rows.items() if r.is_centre), dtype=np.int64)
    c = len(centre_ids)
    centre_rows = [stored_rows[int(nid)] for nid in centre_ids]
    centre_tokens = [r.tokens.split(" ") for r in centre_rows]
    docs = [r.text for r in centre_rows] if config.sign.shingle == "char" else centre_tokens
    c_hashes, c_lengths, _ = sign_docs(docs, config.sign, boilerplate)[0] if c else (np.empty(0, np.uint32),
                                                                          np.empty(0, np.int64), None)
    verifier = Verifier(np.vstack([signed.sig, index.signatures(centre_ids)]) if c else signed.sig,
                        np.concatenate([signed.hashes, c_hashes]), np.concatenate([signed.lengths, c_lengths]),
                        NodePlaces(list(sub.tokens) + centre_tokens, list(sub.texts) + [r.text for r in centre_rows],
                                   config.sign.entities, load_gazetteer(config.places.gazetteer)),
                        config.cluster.threshold, config.cluster.place_veto,
                        scorer=load_scorer(config.cluster.scorer),
                        match_probability=config.cluster.night_probability or config.cluster.match_probability)
    local_of = {int(nid): m + k for k, nid in enumerate(centre_ids)}
    centre_topic = [r.topic for r in centre_rows]

    with timer("cluster"):
        is_centre_hit = np.isin(found, centre_ids)
        qi = query[is_centre_hit]
        cj = np.array([local_of[int(f)] for f in found[is_centre_hit]], dtype=np.int64)
        sims = verifier(qi, cj) if len(qi) else np.empty(0)
        rank = np.arange(m + c)  # stored centres: the older (smaller node id) wins a tie
        attached_nodes, attached_to, _ = best_centres(qi, cj, sims, rank)
        labels = np.full(m, -1, dtype=np.int64)       # local centre for every new node
        labels[attached_nodes] = attached_to
        rest = np.flatnonzero(labels < 0)
        if len(rest):
            buckets = bucket_ids(signed.sig[rest], params["bands"], params["rows"])
            block = verifier.block
            sub_labels = lsh_star_cluster(
                buckets, sub.weight[rest], [sub.keys[k] for k in rest],
                lambda i, j: verifier(rest[i], rest[j]), lambda i, j: verifier.allowed(rest[i], rest[j]),
                block[rest] if block is not None else None, bounds=bounds)
            labels[rest] = rest[sub_labels]
        # merges: a new text accepted by two stored centres that accept each other
        a, b = bridges(qi, cj, sims, labels)
        parent: dict[str, str] = {}

        def root(t: str) -> str:
            while t in parent:
                t = parent[t]
            return t

        centre_of_topic = {centre_topic[k - m]: k for k in range(m, m + c)}
        kept_apart = decisions.apart(store.db) if len(a) else set()  # a person split these: never bridged
        members: dict[str, set[str]] = {}
        if len(a):
            # the centres' similarities, all in one call: a merge asks about the centres of the two topics'
            # roots, which are these centres until an earlier merge changed a root (one call per pair
            # cost a night on a 1.28M database 3 s)
            centre_sims = verifier(a, b)
            order = np.argsort(-centre_sims, kind="stable")
            for k in order.tolist():
                ta, tb = root(centre_topic[a[k] - m]), root(centre_topic[b[k] - m])
                if ta == tb:
                    continue
                ca, cb = centre_of_topic[ta], centre_of_topic[tb]
                group_a, group_b = members.get(ta, {ta}), members.get(tb, {tb})
                if kept_apart and any(frozenset((x, y)) in kept_apart for x in group_a for y in group_b):
                    continue
                sim = centre_sims[k] if (ca, cb) == (a[k], b[k]) else verifier(np.array([ca]), np.array([cb]))[0]
                if sim >= 0:
                    survivor, gone = _older(ta, tb)
                    parent[gone] = survivor
                    members[survivor] = group_a | group_b

    with timer("summarise"):
        # topic of each tonight's node
        first_seen: dict[int, str] = {}
        for it, k in zip(items, nodes.item_node.tolist()):
            if k not in first_seen or it.received_at < first_seen[k]:
                first_seen[k] = it.received_at
        new_centres = [k for k in range(m) if labels[k] == k]
        new_centres.sort(key=lambda k: (first_seen[int(new_idx[k])], sub.keys[k]))
        next_number = store.next_topic_number()
        topic_of_local: dict[int, str] = {}
        for n, k in enumerate(new_centres):
            topic_of_local[k] = f"T{next_number + n:07d}"
        for k in range(m, m + c):
            topic_of_local[k] = root(centre_topic[k - m])
        topic_of_node = np.empty(len(nodes.texts), dtype=object)
        for pos, k in enumerate(new_idx.tolist()):
            topic_of_node[k] = topic_of_local[int(labels[pos])]
        stored_existing = {r.node_id: r for r in store.node_rows([int(node_id[k]) for k in np.flatnonzero(~new)])}
        node_rows = []
        for k in np.flatnonzero(~new).tolist():
            r = stored_existing[int(node_id[k])]
            topic_of_node[k] = root(r.topic)
            node_rows.append(r._replace(key=min(r.key, nodes.keys[k]), weight=r.weight + int(nodes.weight[k]),
                                        topic=topic_of_node[k]))
        for pos, k in enumerate(new_idx.tolist()):
            node_rows.append(NodeRow(int(node_id[k]), nodes.texts[k], " ".join(nodes.tokens[k]), nodes.keys[k],
                                     int(nodes.weight[k]), topic_of_node[k], int(labels[pos] == pos)))
        moves = {gone: root(gone) for gone in parent}
        position = {row.node_id: k for k, row in enumerate(node_rows)}
        for gone in moves:  # the merged topic's centre is a centre no more
            r = stored_rows[int(centre_ids[centre_of_topic[gone] - m])]
            k = position.setdefault(r.node_id, len(node_rows))
            if k == len(node_rows):
                node_rows.append(r._replace(topic=moves[gone], is_centre=0))
            else:
                node_rows[k] = node_rows[k]._replace(topic=moves[gone], is_centre=0)
        new_items = [(it, int(node_id[k]), topic_of_node[k]) for it, k in zip(items, nodes.item_node.tolist())]
        affected = {str(t) for t in topic_of_node} | set(moves.values())
    stats = {"nodes": len(nodes.texts), "new_texts": m, "stored_candidates": int(len(found)),
             "stored_centres_checked": c, "attached": int(len(attached_nodes)), "exact_checks": verifier.exact_checks,
             "verified": verifier.verified, **bounds.stats}
    centres = np.array(sorted(k for k in range(m) if labels[k] == k), dtype=np.int64)
    indexed = (node_id[new_idx[centres]], signed.sig[centres], verifier.codes[:, centres])
    return Plan(node_rows, new_items, moves, affected, indexed, False, stats)

