"""Score a real peer, HuggingFace datatrove's MinHash dedup stages, on an export with gold topics.

A user who wants near-duplicate clusters without this project would run datatrove's
MinhashDedupSignature -> MinhashDedupBuckets -> MinhashDedupCluster(save_cluster_id=True)
under LocalPipelineExecutor. This script does that in a temporary folder, reads the cluster id
of every document from the ``NNNNNN.clusters`` files (the ones MinhashDedupFilter reads into
``minhash_cluster_id``); a document in no cluster is its own singleton. It then scores the
clusters with ``dedup.metrics.cluster_metrics`` against the gold CSV and prints one JSON line.

Chinese tokenization is datatrove's own: ``language=Languages.mandarin_chinese__hani`` maps,
through datatrove's tokenizer_assignment.csv, to SpaCyTokenizer("zh") with spaCy's jieba
segmenter, after datatrove's default text normalisation (punctuation removed, digits to 0).
Shingles are word n-grams (default 2, datatrove's own default of 5 is for English words).
Bands and rows default to datatrove's MinhashConfig (14 buckets x 8 hashes, LSH threshold
~(1/14)^(1/8) = 0.72); ``--threshold T`` picks bands x rows (at most those 112 hashes) the way
datasketch's MinHashLSH(threshold=T) does, so it lines up with the project's naive baseline.

wall_s runs from reading the export CSV to holding every cluster id (imports excluded; jieba's
dictionary load, spaCy start-up and datatrove's disk I/O included). peak_rss_mib is ru_maxrss
of this process (RUSAGE_SELF) with --tasks 1, where every stage runs in-process and the only
children are datatrove's idle forked multiprocess.Manager servers; with --tasks 2 it adds
RUSAGE_CHILDREN's ru_maxrss (the largest forked pool worker), an upper bound on the joint peak.

datatrove lives in its own venv, apart from the project's environment:

    python3 -m venv /tmp/peer-venv
    /tmp/peer-venv/bin/pip install datatrove jieba numpy spacy regex "xxhash<4" tokenizers
    /tmp/peer-venv/bin/python benchmarks/peers.py --export E/export.csv --gold E/gold.csv
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # dedup.metrics, without installing dedup here

from datatrove.data import Document  # noqa: E402
from datatrove.executor import LocalPipelineExecutor  # noqa: E402
from datatrove.pipeline.dedup.minhash import (  # noqa: E402
    MinhashConfig,
    MinhashDedupBuckets,
    MinhashDedupCluster,
    MinhashDedupSignature,
)
from datatrove.utils.binaryio import read_tuples_from_file  # noqa: E402
from datatrove.utils.typeshelper import Languages  # noqa: E402

from dedup.tools.metrics import cluster_metrics  # noqa: E402

LANGUAGE = Languages.mandarin_chinese__hani  # "cmn_Hani" -> SpaCyTokenizer("zh", segmenter=jieba)
TOTAL_HASHES = 14 * 8  # MinhashConfig's defaults


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def bands_for(threshold: float, total: int = TOTAL_HASHES) -> tuple[int, int]:
    """(num_buckets, hashes_per_bucket), b*r <= total, as datasketch's MinHashLSH picks them for a threshold.

    Minimises the mean of the false-positive area (P[candidate] below the threshold) and the
    false-negative area (P[not candidate] above it) under the S-curve 1 - (1 - s^r)^b.
    """
    s = np.linspace(0.0, 1.0, 2001)
    below, above = s <= threshold, s >= threshold

    def error(b: int, r: int) -> float:
        p = 1 - (1 - s**r) ** b
        return 0.5 * np.trapezoid(p[below], s[below]) + 0.5 * np.trapezoid(1 - p[above], s[above])

    return min(((b, r) for b in range(1, total + 1) for r in range(1, total // b + 1)), key=lambda br: error(*br))


class Shard:
    """First pipeline step: rank r of w gets documents r, r+w, r+2w, ... (doc_idx k there is item r + k*w)."""

    def __init__(self, docs: list[Document]):
        self.docs = docs

    def __call__(self, data, rank: int = 0, world_size: int = 1):
        yield from self.docs[rank::world_size]


def datatrove_clusters(texts: list[str], work: Path, config: MinhashConfig, tasks: int) -> list[int]:
    """Run the three MinHash stages; return a cluster id per text, -1 for documents in no cluster."""
    docs = [Document(text=t, id=str(k)) for k, t in enumerate(texts)]
    common = {"start_method": "fork", "skip_completed": False}
    LocalPipelineExecutor(
        pipeline=[Shard(docs), MinhashDedupSignature(output_folder=str(work / "sigs"), config=config,
                                                     language=LANGUAGE)],
        tasks=tasks, workers=tasks, logging_dir=str(work / "logs/sigs"), **common,
    ).run()
    LocalPipelineExecutor(  # stage 2 asserts tasks % num_buckets == 0: one task per bucket
        pipeline=[MinhashDedupBuckets(input_folder=str(work / "sigs"), output_folder=str(work / "buckets"),
                                      config=config)],
        tasks=config.num_buckets, workers=tasks, logging_dir=str(work / "logs/buckets"), **common,
    ).run()
    LocalPipelineExecutor(  # stage 3 asserts world_size == 1
        pipeline=[MinhashDedupCluster(input_folder=str(work / "buckets"), output_folder=str(work / "clusters"),
                                      config=config, save_cluster_id=True)],
        tasks=1, workers=1, logging_dir=str(work / "logs/clusters"), **common,
    ).run()
    labels = [-1] * len(texts)
    for rank in range(tasks):
        path = work / "clusters" / f"{rank:06d}.clusters"
        if path.exists():
            with path.open("rb") as fh:
                for doc_idx, cluster in read_tuples_from_file(fh, "I", "I"):
                    labels[rank + doc_idx * tasks] = cluster
    return labels


def rss_mib(tasks: int) -> dict:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    peak, how = (own, "RUSAGE_SELF") if tasks == 1 else (own + kids, "RUSAGE_SELF + RUSAGE_CHILDREN")
    return {"peak": round(peak, 1), "how": how, "self": round(own, 1), "children_max": round(kids, 1)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--export", type=Path, required=True, help="export CSV: id, received_at, channel, content")
    ap.add_argument("--gold", type=Path, required=True, help="gold CSV: id, topic, department")
    ap.add_argument("--n-grams", type=int, default=2, help="word n-gram size of the shingles (default 2)")
    ap.add_argument("--threshold", type=float, help="Jaccard threshold -> bands x rows, as datasketch picks")
    ap.add_argument("--num-buckets", type=int, help="override bands (needs --hashes-per-bucket too)")
    ap.add_argument("--hashes-per-bucket", type=int, help="override rows per band")
    ap.add_argument("--tasks", type=int, default=1, choices=(1, 2), help="signature tasks = workers (default 1)")
    args = ap.parse_args(argv)

    defaults = MinhashConfig()
    buckets, rows = defaults.num_buckets, defaults.hashes_per_bucket
    if args.threshold is not None:
        buckets, rows = bands_for(args.threshold)
    if args.num_buckets or args.hashes_per_bucket:
        if not (args.num_buckets and args.hashes_per_bucket):
            ap.error("--num-buckets and --hashes-per-bucket go together")
        buckets, rows = args.num_buckets, args.hashes_per_bucket
    config = MinhashConfig(n_grams=args.n_grams, num_buckets=buckets, hashes_per_bucket=rows)

    start = time.perf_counter()
    rows_in = read_csv(args.export)
    ids = [r["id"] for r in rows_in]
    with tempfile.TemporaryDirectory(prefix="peer-datatrove-") as tmp:
        labels = datatrove_clusters([r["content"] for r in rows_in], Path(tmp), config, args.tasks)
    wall = time.perf_counter() - start
    rss = rss_mib(args.tasks)

    pred = [f"c{c}" if c >= 0 else f"s{i}" for i, c in zip(ids, labels)]
    gold = {r["id"]: r["topic"] for r in read_csv(args.gold)}
    missing = [i for i in ids if i not in gold]
    if missing:
        raise SystemExit(f"{len(missing)} export ids have no gold topic, e.g. {missing[0]}")
    metrics = cluster_metrics(pred, [gold[i] for i in ids])
    metrics["clustered_items"] = sum(c >= 0 for c in labels)

    out = {
        "peer": "datatrove",
        "version": importlib.metadata.version("datatrove"),
        "settings": {
            "stages": "MinhashDedupSignature -> MinhashDedupBuckets -> MinhashDedupCluster(save_cluster_id)",
            "language": str(LANGUAGE), "tokenizer": "datatrove SpaCyTokenizer('zh', segmenter=jieba)",
            "shingle": f"word {config.n_grams}-grams of simplify_text(default TextNormConfig)",
            "n_grams": config.n_grams, "num_buckets": buckets, "hashes_per_bucket": rows,
            "lsh_threshold": round((1 / buckets) ** (1 / rows), 3), "seed": config.seed,
            "hash": str(config.hash_config), "tasks": args.tasks, "workers": args.tasks,
            "bucket_tasks": buckets, "spacy": importlib.metadata.version("spacy"),
            "jieba": importlib.metadata.version("jieba"),
        },
        "wall_s": round(wall, 2),
        "peak_rss_mib": rss.pop("peak"),
        "peak_rss_detail_mib": rss,
        "metrics": metrics,
    }
    print(json.dumps(out, ensure_ascii=False))
    return out


if __name__ == "__main__":
    main()
