"""Issues above topics on generated data with known issues: B-cubed precision and recall at the issue level.

    python benchmarks/issues_generated.py [--n 20000] [--seed 2]

Stress case (a) of benchmarks/stress_data.py: its topics word their complaint each its own way, several
topics can raise one issue (the same kind of complaint about the same object at the same place), and 30%
of topics have a sibling at another place or about another object (another issue). Each true topic is
one topic here, told by its first message; its subject is the message's first clause.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from stress_data import generate  # noqa: E402

from dedup.core import entities  # noqa: E402
from dedup.core.issues import group_issues, issue_params, road_keys  # noqa: E402
from dedup.core.normalize import normalize  # noqa: E402
from dedup.core.segment import Segmenter  # noqa: E402
from dedup.tools.metrics import cluster_metrics  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="an IssueParams field, e.g. --set threshold=0.3 (repeatable)")
    args = parser.parse_args()
    rows, gold, _city = generate("a", args.n, args.seed)
    first: dict[str, tuple[str, str]] = {}
    sizes: dict[str, int] = defaultdict(int)
    for row, g in sorted(zip(rows, gold), key=lambda rg: rg[0]["id"]):
        first.setdefault(g["topic"], (normalize(row["content"]), g["issue"]))
        sizes[g["topic"]] += 1
    topics = sorted(first)
    texts = [first[t][0] for t in topics]
    subjects = [re.split(r"[，。,.!?！？]", t, maxsplit=1)[0] for t in texts]
    seg = Segmenter()
    start = time.perf_counter()
    label = group_issues([seg(s) for s in subjects], [seg(t) for t in texts], texts, [sizes[t] for t in topics],
                         [entities.keys(t) | road_keys(t) for t in texts], issue_params(args.set))
    seconds = time.perf_counter() - start
    truth = [first[t][1] for t in topics]
    m = cluster_metrics(label.tolist(), truth)
    print(f"{len(topics)} topics, {len(set(truth))} true issues, {len(set(label.tolist()))} found, in {seconds:.1f} s")
    print("issue level, each topic counted once: " + ", ".join(f"{k} {v:.4f}" for k, v in m.items()
                                                             if k.startswith(("bcubed", "pairwise"))))


if __name__ == "__main__":
    main()
