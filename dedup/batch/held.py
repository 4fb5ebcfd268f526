"""Topics a person decided on stay as they are through a rebuild.

A rebuild clusters every stored text again. A topic that a person confirmed, re-routed, split or merged
into is *held*: its texts leave whatever cluster the rebuild put them in and form that topic again, whole,
so it keeps its id, its unit and its members; a split stays split (the two topics are held apart) and a
merge stays merged. A cluster that loses its centre to a held topic takes its most copied remaining text
as centre. Everything else is the rebuild's own clustering.
"""

from __future__ import annotations

import numpy as np

from dedup.batch.engine import Clustering, Nodes
from dedup.core.records import Item
from dedup.core.topics import TopicSummary


def hold(node_topic: np.ndarray, centre_node: np.ndarray, node_weight: np.ndarray, held_of_node: np.ndarray
         ) -> tuple[np.ndarray, np.ndarray, int]:
    """(node -> cluster, cluster -> centre node, how many clusters are held) after taking the held topics'
    texts out of the rebuild's clusters.

    ``held_of_node`` is, per node, the number of the held topic its items were in (-1: none); held topics
    become the last clusters, in that number's order. Clusters left empty are dropped and the rest keep
    their order.
    """
    node_topic = node_topic.copy()
    held = held_of_node >= 0
    if not held.any():
        return node_topic, centre_node, 0
    n_free = len(centre_node)
    node_topic[held] = -1
    # the free clusters still holding a node, renumbered in order
    alive = np.zeros(n_free, dtype=bool)
    alive[node_topic[~held]] = True
    renumber = np.cumsum(alive) - 1
    node_topic[~held] = renumber[node_topic[~held]]
    n_alive = int(alive.sum())
    groups = np.unique(held_of_node[held])
    node_topic[held] = n_alive + np.searchsorted(groups, held_of_node[held])
    n = n_alive + len(groups)
    # centres: a free cluster keeps its centre if the centre stayed, else its heaviest node (then the
    # smallest node); a held topic takes its heaviest node the same way
    centre = np.full(n, -1, dtype=np.int64)
    kept = alive & ~held[centre_node]
    centre[renumber[kept]] = centre_node[kept]
    order = np.lexsort((np.arange(len(node_topic)), -node_weight, node_topic))
    first = np.ones(len(order), dtype=bool)
    first[1:] = node_topic[order][1:] != node_topic[order][:-1]
    heaviest = order[first]
    missing = centre[node_topic[heaviest]] < 0
    centre[node_topic[heaviest][missing]] = heaviest[missing]
    return node_topic, centre, len(groups)


def hold_reference(node_topic: list[int], centre_node: list[int], node_weight: list[int], held_of_node: list[int]
                   ) -> tuple[list[int], list[int], int]:
    """``hold`` as a plain loop, the definition the array version is tested against."""
    free_clusters = sorted({t for t, h in zip(node_topic, held_of_node) if h < 0})
    new_number = {t: k for k, t in enumerate(free_clusters)}
    held_groups = sorted({h for h in held_of_node if h >= 0})
    out = []
    for t, h in zip(node_topic, held_of_node):
        out.append(new_number[t] if h < 0 else len(free_clusters) + held_groups.index(h))
    n = len(free_clusters) + len(held_groups)
    centre = []
    for c in range(n):
        members = [k for k, t in enumerate(out) if t == c]
        if c < len(free_clusters) and held_of_node[centre_node[free_clusters[c]]] < 0:
            centre.append(centre_node[free_clusters[c]])
        else:
            centre.append(min(members, key=lambda k: (-node_weight[k], k)))
    return out, centre, len(held_groups)


def hold_topics(clustering: Clustering, nodes: Nodes, items: list[Item], held: dict[str, str]) -> None:
    """Take the held topics' texts out of the rebuild's clusters and make each held topic whole again."""
    number = {topic: k for k, topic in enumerate(sorted(set(held.values())))}
    held_of_node = np.full(len(nodes.texts), -1, dtype=np.int64)
    for it, node in zip(items, nodes.item_node.tolist()):
        topic = held.get(it.id)
        if topic is not None:
            held_of_node[node] = number[topic]
    clustering.node_topic, clustering.centre_node, n = hold(clustering.node_topic, clustering.centre_node,
                                                            np.asarray(nodes.weight), held_of_node)
    clustering.stats["held_topics"] = n


def keep_staff_units(topics: list[TopicSummary], units: dict[str, str]) -> None:
    """A topic a person re-routed keeps that unit, whatever the model says tonight."""
    for t in topics:
        unit = units.get(t.topic_id)
        if unit:
            t.department, t.department_score, t.needs_review = unit, 1.0, False
