"""Label noise in the routing history: accuracy when a share of labels is wrong, and how many of the wrong
ones `dedup train` lists for staff to check.

    python benchmarks/label_noise.py [--history sample_data/history.csv] [--rates 0 0.03 0.1]
    python benchmarks/label_noise.py --real    # the 3,715 labelled real messages of ../shared/data/real

A share of the history's items gets another unit at random (seeded). The model is fitted on the
training side of the grouped split with the noisy labels and scored on the held-out side against the
true ones; ``routing.model.suspect_labels`` runs on the whole noisy history, and its list is compared
with the items that were flipped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dedup.core.gazetteer import load_gazetteer  # noqa: E402
from dedup.routing.model import build_pipeline, calibration_folds, evaluate, grouped_split, suspect_labels  # noqa: E402
from dedup.tools.training import read_history  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=Path, default=ROOT / "sample_data" / "history.csv")
    parser.add_argument("--gazetteer", type=Path, default=ROOT / "sample_data" / "gazetteer.csv")
    parser.add_argument("--rates", type=float, nargs="+", default=[0.0, 0.03, 0.10])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--real", action="store_true", help="the labelled real messages (附件2), no gazetteer")
    args = parser.parse_args()
    if args.real:
        import csv

        from dedup.core.normalize import normalize

        path = ROOT.parent / "shared" / "data" / "real" / "teddy2020c_fj2_labeled_raw.csv"
        csv.field_size_limit(1 << 30)
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        texts, labels, groups = [normalize(r["text"]) for r in rows], [r["label"] for r in rows], \
            [r["row_id"] for r in rows]
        gazetteer = load_gazetteer("")
    else:
        texts, labels, groups, _ = read_history([args.history], "topic")
        gazetteer = load_gazetteer(args.gazetteer)
    units = sorted(set(labels))
    train_idx, test_idx = grouped_split(groups, 0.25, args.seed)
    for rate in args.rates:
        rng = np.random.default_rng(args.seed)
        noisy = list(labels)
        flipped = set(rng.choice(len(labels), size=int(round(rate * len(labels))), replace=False).tolist())
        for k in flipped:
            noisy[k] = rng.choice([u for u in units if u != labels[k]])
        part = [noisy[k] for k in train_idx]
        pipe = build_pipeline("word", random_state=args.seed, folds=calibration_folds(part), gazetteer=gazetteer)
        pipe.fit([texts[k] for k in train_idx], part)
        m = evaluate(pipe, [texts[k] for k in test_idx], [labels[k] for k in test_idx], [groups[k] for k in test_idx])
        listed = {k for k, *_ in suspect_labels(texts, noisy, groups, "word", args.seed, gazetteer)}
        caught = len(listed & flipped)
        print(f"{rate:.0%} of labels flipped ({len(flipped)} items): held-out item top-1 {m['item_top1']:.4f}, "
              f"topic top-1 {m['topic_top1']:.4f}; listed {len(listed)}, of them flipped {caught} "
              f"(precision {caught / max(len(listed), 1):.3f}, recall {caught / max(len(flipped), 1):.3f})")


if __name__ == "__main__":
    main()
