"""Issues above topics: what many people raise in their own words.

A topic is a set of near-copies; an issue joins topics that speak of the same thing (one estate's mixing
plant, one developer's bundled parking spaces, one subsidy policy) in different words. Near-duplicate
matching is the wrong tool for that level: fifty residents' letters about one plant share a name and a
few words, not shingles.

Each topic is a TF-IDF vector of its words, its subject's words counted ``subject_weight`` times (the
subject says what the message is about; the body tells the writer's own case). Topics are compared only
within blocks: the places it names by their kind (``entities.keys``), its ``keywords`` heaviest words,
and its *anchors*: the words and word pairs of its subject that few others use (at least twice in all,
at most ``anchor_share`` of the topics: 58车贷, 五矿万境, 人才购房补贴 — the name an issue goes by).

Topics are taken largest first (then by text: the order does not depend on the input's) and each joins
the issue whose centroid is most similar above a threshold, or starts an issue. An issue is about one
named thing: a topic joins only an issue whose first topic shares an anchor with it (then the threshold
is ``anchor_threshold``) or a place (``threshold``), and never one that names another place.
Comparing with the issue's centroid rather than its first topic lets an issue hold many wordings
without chaining through pairs of them; at most ``block_issues`` issues are compared per block (the
largest), so the work per topic is bounded whatever the data.

Runs do not use this yet: on the measures in docs/design.md ("Issues above topics") an issue joins
too much (one area's different problems; a rare complaint word taken for a name) to be shown to staff.
"""

from __future__ import annotations

import functools
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dedup.core import lexicon


@dataclass(frozen=True)
class IssueParams:
    threshold: float = 0.25
    anchor_threshold: float = 0.15
    anchor_share: float = 0.007   # an anchor is used by at most this share of the topics (and at least 2)
    keywords: int = 3
    subject_weight: int = 3
    block_issues: int = 64


def issue_params(settings: Sequence[str]) -> IssueParams:
    """``IssueParams`` with ``field=value`` settings applied (numbers), for sweeps from the command line."""
    import dataclasses

    fields = {f.name: f.type for f in dataclasses.fields(IssueParams)}
    values = {}
    for setting in settings:
        key, _, value = setting.partition("=")
        if key not in fields:
            raise ValueError(f"unknown issue setting {key!r}; known: {', '.join(fields)}")
        values[key] = int(value) if fields[key] == "int" else float(value)
    return IssueParams(**values)


def _words(tokens: Sequence[str]) -> list[str]:
    return [w for w in tokens if len(w) > 1 and not w.isdigit()]


# roads, bridges and junctions: the topic-level place keys leave them out (one copy names the road, another
# the estate on it), but two issues at two roads are two issues
_ROAD = re.compile(r"([\u4e00-\u9fffA-Za-z0-9]{2})(路口|路|大道|大街|街|大桥|立交桥|立交|隧道|高架桥|高架|交叉口)(.?)")


@functools.lru_cache(maxsize=1)
def _words_of_two() -> frozenset[str]:
    """Two-character words of jieba's dictionary seen often (线路, 路人, 道路): a road's name does not end
    in one, nor does its suffix begin one."""
    return frozenset(word for word, count, _ in lexicon.entries(2) if len(word) == 2 and count >= 20)


def road_keys(text: str) -> frozenset[str]:
    """The two characters before each road-like suffix in ``text`` (东风路 -> 东风), where they and the
    suffix are not parts of common words (公交线路, 追咬路人 name no road)."""
    common = _words_of_two()
    keys = set()
    for m in _ROAD.finditer(text):
        name, suffix, after = m.group(1), m.group(2), m.group(3)
        if name in common or name[-1] + suffix[0] in common or (suffix + after)[:2] in common:
            continue
        keys.add(name)
    return frozenset(keys)


def _need(i: int, c: int, anchors: Sequence[set[str]], places: Sequence[frozenset[str]], params: IssueParams
          ) -> float:
    """The similarity topic ``i`` needs to join the issue begun by topic ``c``: an issue is about one named
    thing, so they must share a place or an anchor, and two different named places never join."""
    if places[i] and places[c] and not places[i] & places[c]:
        return np.inf
    if anchors[i] & anchors[c]:
        return params.anchor_threshold
    return params.threshold if places[i] & places[c] else np.inf


def _same(doc):
    return doc


# a word ending like a district, town, road or village names an area, not the thing an issue is about:
# topics at two estates of one town share the town's name (the place veto tells estates apart)
AREA_ENDINGS = ("省", "市", "区", "县", "镇", "乡", "街道", "路", "街", "道", "巷", "村", "庄", "屯", "营", "寨", "组")


def anchors_of(subjects: Sequence[Sequence[str]], share: float) -> list[set[str]]:
    """Each subject's rare words and adjacent word pairs that do not name an area (see the module's note)."""
    words = [[w for w in _words(ws) if not w.endswith(AREA_ENDINGS)] for ws in subjects]
    grams = [set(ws) | {a + b for a, b in zip(ws, ws[1:])} for ws in words]
    df = Counter(g for gs in grams for g in gs)
    most = max(2, int(share * len(subjects)))
    return [{g for g in gs if 2 <= df[g] <= most} for gs in grams]


def group_issues(subjects: Sequence[Sequence[str]], bodies: Sequence[Sequence[str]], texts: Sequence[str],
                 sizes: Sequence[int], places: Sequence[frozenset[str]], params: IssueParams = IssueParams()
                 ) -> np.ndarray:
    """Issue label per topic: the index of the issue's first topic."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    n = len(texts)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    docs = [_words(s) * params.subject_weight + _words(b) for s, b in zip(subjects, bodies)]
    vectorizer = TfidfVectorizer(analyzer=_same, sublinear_tf=True, norm="l2")
    try:
        X = vectorizer.fit_transform(docs).tocsr()
    except ValueError:  # no words at all
        return np.arange(n, dtype=np.int64)
    vocab = vectorizer.get_feature_names_out()
    anchors = anchors_of(subjects, params.anchor_share)
    blocks = []
    for i in range(n):
        row = X[i]
        heavy = row.indices[np.argsort(-row.data, kind="stable")][:params.keywords]
        blocks.append({("p", k) for k in places[i]} | {("w", vocab[j]) for j in heavy}
                      | {("a", g) for g in anchors[i]})
    order = sorted(range(n), key=lambda i: (-sizes[i], -len(texts[i]), texts[i], i))
    label = np.full(n, -1, dtype=np.int64)
    issues_in: dict[tuple, list[int]] = defaultdict(list)
    centroid: dict[int, object] = {}
    total: dict[int, object] = {}
    for i in order:
        seen: dict[int, None] = {}
        for b in blocks[i]:
            for c in issues_in.get(b, ())[:params.block_issues]:
                seen[c] = None
        candidates = list(seen)
        best = -1
        if candidates:
            from scipy.sparse import vstack

            sims = (vstack([centroid[c] for c in candidates]) @ X[i].T).toarray().ravel()
            need = np.array([_need(i, c, anchors, places, params) for c in candidates])
            ok = np.flatnonzero(sims >= need)
            if len(ok):
                margin = sims[ok] - need[ok]
                best = candidates[int(ok[np.argmax(margin)])]
        if best >= 0:
            label[i] = best
            total[best] = total[best] + X[i]
            centroid[best] = normalize(total[best])  # the members' mean direction
        else:
            label[i] = i
            centroid[i] = total[i] = X[i]
            for b in blocks[i]:
                issues_in[b].append(i)
    return label
