"""How far a topic's members stray from its centre: the least word similarity of any of its texts to the
centre's, one of the doubts the review queue ranks by. Computed for every topic when the page starts, then
for the topics a run or a decision changed since, a bounded number per request."""

from __future__ import annotations

from collections import defaultdict

from dedup.review.show import similarity
from dedup.storage import decisions as db
from dedup.storage.store import Store, writing

BATCH = 5000  # topics brought up to date per request: a night's changed topics in one or two


def least_similarity(rows: list[tuple[str, str, int]]) -> dict[str, float]:
    """Topic -> the least similarity of its texts to its centre (1.0 for a topic of one text)."""
    by_topic: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for topic, tokens, is_centre in rows:
        by_topic[topic].append((tokens, is_centre))
    out = {}
    for topic, texts in by_topic.items():
        centre = next((t for t, c in texts if c), texts[0][0])
        out[topic] = min(similarity(t, centre) for t, _ in texts)
    return out


def refresh(store: Store, limit: int = BATCH) -> int:
    """Bring up to ``limit`` topics' least similarity up to date (all with -1); returns how many."""
    stale = db.stale_cohesion(store.db, limit)
    if not stale:
        return 0
    least = least_similarity(db.topic_tokens(store.db, [t for t, _ in stale]))
    with writing(store) as con:
        db.save_cohesion(con, [(t, version, least.get(t, 1.0)) for t, version in stale])
    return len(stale)
