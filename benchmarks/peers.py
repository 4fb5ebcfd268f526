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
~(1/14)^(1/8) = 0.72); ``--threshold`` picks the split of the same 112 hashes nearest to it.

wall_s runs from reading the export CSV to holding every cluster id (imports excluded; jieba's
dictionary load, spaCy start-up and datatrove's disk I/O included). peak_rss_mib is
ru_maxrss of this process plus ru_maxrss of its reaped children (the largest one; with
--tasks 2 the pool workers are forked so they count), an upper bound on the simultaneous peak.

datatrove lives in its own venv, apart from the project's environment:

    python3 -m venv /tmp/peer-venv
    /tmp/peer-venv/bin/pip install datatrove jieba numpy spacy regex "xxhash<4"
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

from dedup.metrics import cluster_metrics  # noqa: E402

LANGUAGE = Languages.mandarin_chinese__hani  # "cmn_Hani" -> SpaCyTokenizer("zh", segmenter=jieba)
TOTAL_HASHES = 14 * 8  # MinhashConfig's defaults


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def bands_for(threshold: float) -> tuple[int, int]:
    """(num_buckets, hashes_per_bucket) with b*r = 112 whose LSH threshold (1/b)^(1/r) is nearest."""
    splits = [(b, TOTAL_HASHES // b) for b in range(1, TOTAL_HASHES + 1) if TOTAL_HASHES % b == 0]
    return min(splits, key=lambda br: abs((1 / br[0]) ** (1 / br[1]) - threshold))


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


def rss_mib() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"self": round(own, 1), "children_max": round(kids, 1), "sum": round(own + kids, 1)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--export", type=Path, required=True, help="export CSV: id, received_at, channel, content")
    ap.add_argument("--gold", type=Path, required=True, help="gold CSV: id, topic, department")
    ap.add_argument("--n-grams", type=int, default=2, help="word n-gram size of the shingles (default 2)")
    ap.add_argument("--threshold", type=float, help="target LSH threshold; default: datatrove's 14 x 8 (~0.72)")
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
    rss = rss_mib()

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
        "peak_rss_mib": rss["sum"],
        "peak_rss_note": {**rss, "how": "ru_maxrss RUSAGE_SELF + RUSAGE_CHILDREN (largest reaped child)"},
        "metrics": metrics,
    }
    print(json.dumps(out, ensure_ascii=False))
    return out


if __name__ == "__main__":
    main()
