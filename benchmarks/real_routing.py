"""Department routing on real labelled citizen messages (2020 Teddy Cup problem C, ../shared/data/real).

Train on the full tokenised 附件2 minus every row that matches a raw test row, test on the raw rows
(3,715 messages, 7 first-level categories). Nothing here is tuned on the test part.

    python benchmarks/real_routing.py [--data ../shared/data/real] [--features word]
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

from dedup.core.normalize import normalize
from dedup.routing.model import build_pipeline, calibration_folds, evaluate


def read(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).parents[1].parent / "shared" / "data" / "real")
    parser.add_argument("--features", default="word")
    args = parser.parse_args()
    raw = read(args.data / "teddy2020c_fj2_labeled_raw.csv")
    full = read(args.data / "teddy2020c_fj2_tokenized_full.csv")
    raw_tokens = {normalize(r["text"]) for r in raw}
    train = [r for r in full if not r["raw_row_id"]]
    train_texts = [r["tokens"].replace(" ", "") for r in train]
    # drop training rows whose joined tokens equal a test text (the exact copies that matching missed)
    keep = [k for k, t in enumerate(train_texts) if t not in raw_tokens]
    texts = [train_texts[k] for k in keep]
    labels = [train[k]["label"] for k in keep]
    start = time.perf_counter()
    model = build_pipeline(args.features, folds=calibration_folds(labels)).fit(texts, labels)
    fit_s = time.perf_counter() - start
    test_texts = [normalize(r["text"]) for r in raw]
    metrics = evaluate(model, test_texts, [r["label"] for r in raw], [r["row_id"] for r in raw])
    metrics.pop("_confusion")
    per_unit = metrics.pop("per_unit")
    print(json.dumps({"train_rows": len(texts), "test_rows": len(raw), "fit_seconds": round(fit_s, 1),
                      "features": args.features, **{k: v for k, v in metrics.items() if "topic_" not in k},
                      "macro_f1": metrics["topic_macro_f1"]}, ensure_ascii=False, indent=2))
    for unit, m in per_unit.items():
        print(f"  {unit:10s} n={m['topics']:4d} precision={m['precision']:.3f} recall={m['recall']:.3f}")


if __name__ == "__main__":
    main()
