"""Fit the shipped pair scorer (dedup/data/pair_scorer.joblib) on three sources, one of them real.

    python benchmarks/fit_scorer.py [--out dedup/data/pair_scorer.joblib]

- real: the pairs of ../shared/data/real 附件3 labelled by reading (benchmarks/labels/real_pairs.csv),
  only those of the fitting part (``split = fit``); the part set aside is never seen here and is scored
  by ``python benchmarks/real_pairs.py whole --set cluster.scorer=...``.
- stress: case (a) of benchmarks/stress_data.py, 20,000 items, seed 1, with its truth.
- generator: ``dedup sample --n 20000 --seed 5`` with its gazetteer.

Evaluations use other seeds and sizes (stress seed 2, generator seed 1, the 100k exports). The examples
are the pairs a run at ``cluster.threshold = 0.3`` verifies. Prints the held-out precision and recall of
each source; the sidecar records them with what the scorer was fitted on.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.real_pairs import LABELS, write_export  # noqa: E402
from dedup.config import Config  # noqa: E402
from dedup.core.gazetteer import example_path  # noqa: E402
from dedup.tools.fitting import examples, fit_sources  # noqa: E402
from dedup.tools.tune import read_gold  # noqa: E402

THRESHOLD = 0.3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dedup" / "data" / "pair_scorer.joblib")
    parser.add_argument("--data", type=Path, default=ROOT / "benchmarks" / "data")
    args = parser.parse_args()
    config = Config().with_overrides({"cluster.threshold": THRESHOLD})
    sources = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        pairs = tmp / "real_pairs.csv"
        with (LABELS / "real_pairs.csv").open(encoding="utf-8", newline="") as fh, \
                pairs.open("w", encoding="utf-8", newline="") as out:
            w = csv.writer(out)
            w.writerow(["id_a", "id_b", "same"])
            for row in csv.DictReader(fh):
                if row["split"] == "fit":
                    w.writerow([row["a_id"], row["b_id"], row["same_topic"]])
        sources.append(examples(write_export(tmp / "real.csv"), read_gold(pairs), config, name="real 附件3 (fit part)"))
        stress = args.data / "stress-a-n20000-s1"
        if not (stress / "export.csv").exists():
            subprocess.run([sys.executable, str(ROOT / "benchmarks" / "stress_data.py"), "--case", "a", "--n", "20000",
                            "--seed", "1", "--out", str(stress)], check=True)
        sources.append(examples(stress / "export.csv", read_gold(stress / "gold.csv"), config,
                                name="stress (a) 20k s1"))
        generated = tmp / "generated"
        subprocess.run([sys.executable, "-m", "dedup.cli", "sample", "--n", "20000", "--history", "0", "--seed", "5",
                        "--out", str(generated)], check=True, capture_output=True)
        with_places = config.with_overrides({"places.gazetteer": str(example_path())})
        sources.append(examples(generated / "export.csv", read_gold(generated / "gold.csv"), with_places,
                                name="generator 20k s5"))
    _, held = fit_sources(sources, args.out, describe={"threshold_for_examples": THRESHOLD,
                                                        "fitted_by": "benchmarks/fit_scorer.py"})
    for name, m in held.items():
        print(f"{name:28s} held out {m['held_out_pairs']:6d} pairs ({m['matching']} matching): "
              f"precision {m['precision']:.4f}, recall {m['recall']:.4f}")
    print(f"wrote {args.out} and {args.out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
