"""Places found without a gazetteer on real messages: how often, and how often rightly.

    python benchmarks/places.py share                 # messages with a place found, by kind of finder
    python benchmarks/places.py todo --out /tmp/todo.csv   # 100 found places with their context, to read
    python benchmarks/places.py evaluate              # precision from benchmarks/labels/real_place_spans.csv

The texts are read from ../shared/data/real (internal evaluation only). The labels file keeps the message
id, the span's offsets in the normalised text and the label, never the text; the todo file, which holds
context for reading, is written outside the repository.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.real_pairs import LABELS, messages  # noqa: E402
from dedup.core.entities import spans  # noqa: E402
from dedup.core.normalize import item_texts  # noqa: E402

SPANS = LABELS / "real_place_spans.csv"
SEED = 20261203


def texts() -> dict[str, str]:
    rows = messages()
    normalised = item_texts([(r["subject"].strip(), " ".join(r["detail"].split())) for r in rows.values()])
    return dict(zip(rows, normalised))


def share() -> None:
    by_id = texts()
    found = {m: spans(t) for m, t in by_id.items()}
    with_place = sum(bool(s) for s in found.values())
    print(f"{len(by_id)} messages; a place named by its kind found in {with_place} "
          f"({with_place / len(by_id):.1%}); {sum(map(len, found.values()))} places in all")


def todo(out: Path, n: int = 100) -> None:
    by_id = texts()
    every = [(m, s, e, key) for m, t in by_id.items() for s, e, key in spans(t)]
    pick = np.random.default_rng(SEED).choice(len(every), size=min(n, len(every)), replace=False)
    with out.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["message_id", "start", "end", "key", "found", "context", "is_place", "kind"])
        for k in sorted(pick.tolist()):
            m, s, e, key = every[k]
            t = by_id[m]
            w.writerow([m, s, e, key, t[s:e], t[max(0, s - 15):e + 15], "", ""])
    print(f"wrote {out}: fill is_place (1: the found words are part of the name of a particular place, estate, "
          f"school, hospital, hotel or shop; 0: not) and kind")


def evaluate() -> None:
    by_id = texts()
    with SPANS.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    checked = [r for r in rows if spans(by_id[r["message_id"]]) and (int(r["start"]), int(r["end"])) in
               {(s, e) for s, e, _ in spans(by_id[r["message_id"]])}]
    right = sum(r["is_place"] == "1" for r in checked)
    print(f"{len(rows)} read spans, {len(checked)} still found by the recogniser: precision "
          f"{right / max(len(checked), 1):.3f} ({right}/{len(checked)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("share")
    t = sub.add_parser("todo")
    t.add_argument("--out", type=Path, required=True)
    sub.add_parser("evaluate")
    args = parser.parse_args()
    {"share": share, "evaluate": evaluate}.get(args.command, lambda: todo(args.out))()


if __name__ == "__main__":
    main()
