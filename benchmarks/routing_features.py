"""Department-model features compared on three sources, each with a grouped split (no topic on both sides).

    python benchmarks/routing_features.py [--sources real bundled where] [--features word word+char where where+char]

- ``real``: the labelled real messages (../shared/data/real, 7 first-level categories): trained on the
  tokenised 附件2 rows that match no raw row, tested on the 3,715 raw messages (as benchmarks/real_routing.py).
- ``bundled``: the bundled history (sample_data/history.csv with its gazetteer), `dedup train`'s own split.
- ``where``: a stress export whose units follow the kind × where rule (benchmarks/stress_data.py
  --routing where, case a, 30,000 items, seed 3) with its made-up city's gazetteer: a third of its topics
  are the history, with 3% of their labels flipped at random (seeded), the other two thirds are routed
  and scored against the true units.

For each: item top-1, topic top-1, topic macro-F1, the share of topics scored >= 0.9 and how often those
are right (a score that means what it says), and the fitting time.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dedup.core.gazetteer import EMPTY, load_gazetteer  # noqa: E402
from dedup.core.normalize import normalize  # noqa: E402
from dedup.routing.model import build_pipeline, calibration_folds, evaluate, grouped_split  # noqa: E402
from dedup.tools.training import read_history  # noqa: E402


def _read(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def real(data: Path):
    raw = _read(data / "teddy2020c_fj2_labeled_raw.csv")
    full = _read(data / "teddy2020c_fj2_tokenized_full.csv")
    raw_texts = {normalize(r["text"]) for r in raw}
    train = [r for r in full if not r["raw_row_id"]]
    joined = [r["tokens"].replace(" ", "") for r in train]
    keep = [k for k, t in enumerate(joined) if t not in raw_texts]
    return ([joined[k] for k in keep], [train[k]["label"] for k in keep],
            [normalize(r["text"]) for r in raw], [r["label"] for r in raw], [r["row_id"] for r in raw], EMPTY)


def bundled():
    texts, labels, groups, _ids = read_history([ROOT / "sample_data" / "history.csv"], "topic")
    tr, te = grouped_split(groups)
    pick = lambda seq, idx: [seq[k] for k in idx]  # noqa: E731
    return (pick(texts, tr), pick(labels, tr), pick(texts, te), pick(labels, te), pick(groups, te),
            load_gazetteer(ROOT / "sample_data" / "gazetteer.csv"))


def where(n: int = 30_000, seed: int = 3, flip: float = 0.03):
    folder = ROOT / "benchmarks" / "data" / f"stress-a-n{n}-s{seed}-where"
    if not (folder / "gold.csv").exists():
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "stress_data.py"), "--case", "a", "--n", str(n),
                        "--seed", str(seed), "--routing", "where", "--out", str(folder)], check=True)
    rows = _read(folder / "export.csv")
    gold = {g["id"]: g for g in _read(folder / "gold.csv")}
    texts = [normalize(r["content"]) for r in rows]
    labels = [gold[r["id"]]["department"] for r in rows]
    groups = [gold[r["id"]]["topic"] for r in rows]
    test, history = grouped_split(groups, test_size=1 / 3, seed=seed)  # history: a third of the topics
    rng = np.random.default_rng(seed)
    units = sorted(set(labels))
    noisy = [labels[k] for k in history]
    for k in rng.choice(len(noisy), int(flip * len(noisy)), replace=False).tolist():
        noisy[k] = units[(units.index(noisy[k]) + 1 + rng.integers(len(units) - 1)) % len(units)]
    return ([texts[k] for k in history], noisy, [texts[k] for k in test], [labels[k] for k in test],
            [groups[k] for k in test], load_gazetteer(folder / "gazetteer.csv"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", nargs="+", default=["real", "bundled", "where"])
    parser.add_argument("--features", nargs="+", default=["word", "word+char", "where", "where+char"])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "real")
    parser.add_argument("--no-gazetteer", action="store_true", help="fit without the source's gazetteer")
    args = parser.parse_args()
    for source in args.sources:
        train_x, train_y, test_x, test_y, test_g, gazetteer = (
            real(args.data) if source == "real" else bundled() if source == "bundled" else where())
        if args.no_gazetteer:
            gazetteer = EMPTY
        for features in args.features:
            start = time.perf_counter()
            model = build_pipeline(features, folds=calibration_folds(train_y), gazetteer=gazetteer)
            model.fit(train_x, train_y)
            fit_s = time.perf_counter() - start
            m = evaluate(model, test_x, test_y, test_g)
            print(json.dumps({"source": source, "features": features, "train": len(train_x), "test": len(test_x),
                              "fit_s": round(fit_s, 1), "item_top1": round(m["item_top1"], 4),
                              "topic_top1": round(m["topic_top1"], 4),
                              "topic_macro_f1": round(m["topic_macro_f1"], 4),
                              "share_ge_0.9": round(m["topic_share_score_ge_0.9"], 4),
                              "right_when_ge_0.9": m["topic_top1_when_score_ge_0.9"] and
                              round(m["topic_top1_when_score_ge_0.9"], 4)}, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
