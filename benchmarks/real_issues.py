"""Issues above topics on the real messages of 附件3 (../shared/data/real): the 5 consensus hot issues.

    python benchmarks/real_issues.py [--data ../shared/data/real] [--sample 40 --out issues_sample.csv]

Each message is a topic of its own (附件3 holds few copies); subjects and bodies are cut with jieba. For
each hot issue: the largest share of its messages in one issue, that issue's size, and its other
members (how many of them one of the three teams put in the same issue). ``--sample`` writes the ids of
randomly drawn multi-topic issues for reading (the ids and labels only are kept in the repository).
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dedup.core import entities  # noqa: E402
from dedup.core.issues import group_issues, issue_params, road_keys  # noqa: E402
from dedup.core.normalize import normalize  # noqa: E402
from dedup.core.segment import Segmenter  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "real")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="an IssueParams field, e.g. --set threshold=0.3 (repeatable)")
    parser.add_argument("--sample", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("issues_sample.csv"))
    args = parser.parse_args()
    with (args.data / "teddy2020c_fj3_messages_groups.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    seg = Segmenter()
    subjects = [normalize(re.sub(r"\s+", "", r["subject"])) for r in rows]
    bodies = [normalize(re.sub(r"\s+", "", r["detail"])) for r in rows]
    texts = [s + "。" + b for s, b in zip(subjects, bodies)]
    start = time.perf_counter()
    label = group_issues([seg(s) for s in subjects], [seg(t) for t in texts], texts, [1] * len(rows),
                         [entities.keys(t) | road_keys(t) for t in texts],
                         issue_params(args.set))
    seconds = time.perf_counter() - start
    issues = defaultdict(list)
    for k, lab in enumerate(label.tolist()):
        issues[lab].append(k)
    multi = [v for v in issues.values() if len(v) > 1]
    print(f"{len(rows)} messages -> {len(issues)} issues ({len(multi)} of 2 or more messages) in {seconds:.1f} s")
    hot = defaultdict(list)
    for k, r in enumerate(rows):
        if r["consensus_issue"]:
            hot[r["consensus_issue"]].append(k)
    for name, members in sorted(hot.items()):
        lab, count = Counter(label[k] for k in members).most_common(1)[0]
        other = [k for k in issues[lab] if rows[k]["consensus_issue"] != name]
        teams = sum(1 for k in other if any(rows[k][c] for c in ("team_syucryingstar_issue", "team_jeshrz_issue",
                                                                   "team_marsw20_issue")))
        print(f"  {name:28s} {count:3d} of {len(members):3d} in one issue ({count / len(members):.0%}); that issue "
              f"has {len(issues[lab])} messages, {len(other)} others ({teams} of them put there by one team)")
    if args.sample:
        drawn = random.Random(0).sample(sorted(multi, key=min), min(args.sample, len(multi)))
        with args.out.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["issue", "message_id"])
            for number, members in enumerate(drawn, start=1):
                writer.writerows([number, rows[k]["message_id"]] for k in members)
        print(f"wrote {args.out}: {len(drawn)} multi-message issues to read")


if __name__ == "__main__":
    main()
