"""The naive pipeline a user writes first with the design card's packages, as the speed baseline.

jieba.lcut per item, word-bigram shingles, one datasketch.MinHash per item with update_batch,
MinHashLSH.insert then query for every item, union-find over the hits.
"""

from __future__ import annotations

import csv
from pathlib import Path

import jieba
from datasketch import MinHash, MinHashLSH


def read_export(path: Path) -> tuple[list[str], list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [r["id"] for r in rows], [r["content"] for r in rows]


def naive_topics(ids: list[str], texts: list[str], threshold: float = 0.5, num_perm: int = 128) -> dict[str, str]:
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    hashes = []
    for item_id, text in zip(ids, texts):
        words = jieba.lcut(text)
        shingles = {" ".join(words[k:k + 2]) for k in range(max(1, len(words) - 1))}
        m = MinHash(num_perm=num_perm, seed=1)
        m.update_batch([s.encode("utf-8") for s in shingles])
        lsh.insert(item_id, m)
        hashes.append(m)
    parent = {i: i for i in ids}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for item_id, m in zip(ids, hashes):
        for other in lsh.query(m):
            a, b = find(item_id), find(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return {i: find(i) for i in ids}
