"""A night's topic summaries: the topics it touched, from their stored totals and tonight's items.

A campaign touched every night must not cost its whole size every night: over a month that is the square
of its size. ``night_summaries`` reads, per touched topic, its stored row (size, representative, channel
counts, first and last received) and its few sample texts (``Store.sample_nodes_of_topics``), and adds
tonight's items. ``night_summaries_reference`` recomputes every touched topic from all its items, as a
full run does: the tests hold the two to the same summaries.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from dedup.batch.plan import Plan
from dedup.core.records import CHANNELS
from dedup.core.topics import TopicSummary, keywords_by_topic, sample_members, summarise
from dedup.storage.store import Store

SAMPLE = 8  # texts per topic read for keywords and routing (``sample_members``' k)


def _sampled(node_rows: list, plan: Plan, topic_index: dict[str, int]):
    """Arrays over ``node_rows`` (topics after tonight's moves): tokens, weights, topic per node, and the
    sampled nodes with their places."""
    node_topic = np.array([topic_index[r.topic] for r in node_rows], dtype=np.int64)
    weight = np.array([r.weight for r in node_rows], dtype=np.float64)
    centre = np.full(len(topic_index), -1, dtype=np.int64)
    for k, r in enumerate(node_rows):
        if r.is_centre:
            centre[node_topic[k]] = k
    tokens = [r.tokens.split(" ") for r in node_rows]
    sample, place = sample_members(node_topic, centre, weight, [r.key for r in node_rows], SAMPLE)
    return tokens, weight, node_topic, centre, sample, place


def _rows_after(stored: list, plan: Plan) -> list:
    """Stored node rows overlaid with tonight's (new texts, new weights, demoted centres), in tonight's topics."""
    rows = {row.node_id: row for row in stored}
    rows.update({row.node_id: row for row in plan.node_rows})
    return [r._replace(topic=plan.moves.get(r.topic, r.topic)) for r in rows.values()]


def night_summaries(store: Store, plan: Plan):
    """(topics in id order, node tokens, weights, topic per node, sampled nodes, their places) of the topics
    a night touched, from stored totals and samples: its work grows with tonight's items and the number
    of touched topics, not with their sizes.

    The sample is exact: a node enters a topic's first ``SAMPLE`` only by being one of them already (in its
    own topic or one merged into it) or by changing tonight, and tonight's changed nodes are all in the plan.
    """
    affected = sorted(plan.affected)
    touched = affected + list(plan.moves)
    topic_index = {t: k for k, t in enumerate(affected)}
    node_rows = _rows_after(store.sample_nodes_of_topics(touched, SAMPLE), plan)
    tokens, weight, node_topic, centre, sample, place = _sampled(node_rows, plan, topic_index)
    totals = store.topic_totals(touched)
    size = Counter()
    channels: dict[str, Counter] = {t: Counter() for t in affected}
    first: dict[str, str] = {}
    last: dict[str, str] = {}
    rep: dict[str, str] = {}
    for old, (n, representative, counts, earliest, latest) in totals.items():
        t = plan.moves.get(old, old)
        size[t] += n
        channels[t].update(counts)
        first[t] = min(first.get(t, earliest), earliest)
        last[t] = max(last.get(t, latest), latest)
        if old == t:  # a merged topic's centre is a centre no more: its representative goes with it
            rep[t] = representative
    centre_node = {node_rows[c].node_id: affected[t] for t, c in enumerate(centre.tolist()) if c >= 0}
    for it, node, t in plan.new_items:
        size[t] += 1
        channels[t][it.channel] += 1
        first[t] = min(first.get(t, it.received_at), it.received_at)
        last[t] = max(last.get(t, it.received_at), it.received_at)
        if centre_node.get(node) == t and (t not in rep or it.id < rep[t]):
            rep[t] = it.id
    keywords = _keywords(tokens, weight, node_topic, sample, len(affected))
    topics = [TopicSummary(topic_id=t, size=size[t], representative_id=rep[t],
                           representative_text=node_rows[centre[k]].text, keywords=keywords[k],
                           channels={c: channels[t][c] for c in CHANNELS}, first_received=first[t],
                           last_received=last[t])
              for k, t in enumerate(affected)]
    return topics, tokens, weight, node_topic, sample, place


def _keywords(tokens: list, weight: np.ndarray, node_topic: np.ndarray, sample: np.ndarray,
              n_topics: int) -> list[list[str]]:
    return keywords_by_topic([tokens[k] for k in sample], weight[sample], node_topic[sample], n_topics)


def night_summaries_reference(store: Store, plan: Plan):
    """``night_summaries`` from every stored item and node of the touched topics, as a full run summarises."""
    affected = sorted(plan.affected)
    touched = affected + list(plan.moves)
    stored_items = [(it, node, plan.moves.get(topic, topic)) for it, node, topic in store.items_of_topics(touched)]
    node_rows = _rows_after(store.nodes_of_topics(touched), plan)
    all_items = stored_items + plan.new_items
    local = {row.node_id: k for k, row in enumerate(node_rows)}
    topic_index = {t: k for k, t in enumerate(affected)}
    node_topic = np.array([topic_index[r.topic] for r in node_rows], dtype=np.int64)
    item_node = np.array([local[node] for _, node, _ in all_items], dtype=np.int64)
    weight = np.bincount(item_node, minlength=len(node_rows)).astype(np.float64)
    centre = np.full(len(affected), -1, dtype=np.int64)
    for k, r in enumerate(node_rows):
        if r.is_centre:
            centre[node_topic[k]] = k
    keys = [r.key for r in node_rows]
    tokens = [r.tokens.split(" ") for r in node_rows]
    sample, place = sample_members(node_topic, centre, weight, keys, SAMPLE)
    topics = summarise([it for it, _, _ in all_items], item_node, node_topic, centre, tokens, weight, affected,
                       sample)
    return topics, tokens, weight, node_topic, sample, place
