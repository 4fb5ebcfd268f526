"""Labelled pairs of real messages (2020 Teddy Cup 附件3): draw, show, merge, agreement, evaluate.

    python benchmarks/real_pairs.py sample            # draw the pairs (ids only) into labels/real_pairs_todo.csv
    python benchmarks/real_pairs.py show 1 25         # print pairs 1..25 to label by reading
    python benchmarks/real_pairs.py merge             # labels/part_*.csv -> labels/real_pairs.csv, with the split
    python benchmarks/real_pairs.py agreement         # the blind second pass against the first
    python benchmarks/real_pairs.py evaluate          # the matcher's similarity on the pairs, with and without
                                                      # learned boilerplate, per Jaccard stratum

The rules are in docs/labelling.md. The repository keeps ids and labels only; the texts are read from
../shared/data/real (the data's terms: internal evaluation, no redistribution). Without that folder
every command says so and stops.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import sys
import zlib
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LABELS = ROOT / "benchmarks" / "labels"
REAL = ROOT.parent / "shared" / "data" / "real" / "teddy2020c_fj3_messages_groups.csv"
SEED = 20261203
HOLDOUT_SHARE = 0.3


def messages(path: Path = REAL) -> dict[str, dict]:
    if not path.exists():
        raise SystemExit(f"{path} is absent: the real messages are not in this checkout's ../shared/data/real")
    csv.field_size_limit(1 << 30)
    with path.open(encoding="utf-8", newline="") as fh:
        return {r["message_id"]: r for r in csv.DictReader(fh)}


def plain(r: dict) -> str:
    return re.sub(r"\s+", "", r["subject"] + r["detail"])


def sample(out: Path) -> None:
    """Pairs across the character-bigram Jaccard range, plus low-Jaccard pairs naming one entity."""
    from scipy import sparse

    rows = list(messages().values())
    texts, ids = [plain(r) for r in rows], [r["message_id"] for r in rows]
    vocab: dict[str, int] = {}
    indptr, indices = [0], []
    for t in texts:
        indices.extend(sorted({vocab.setdefault(t[k:k + 2], len(vocab)) for k in range(len(t) - 1)}))
        indptr.append(len(indices))
    x = sparse.csr_matrix((np.ones(len(indices), np.float32), indices, indptr), shape=(len(texts), len(vocab)))
    sizes = np.asarray(x.sum(1)).ravel()
    inter = (x @ x.T).toarray()
    jac = inter / np.maximum(sizes[:, None] + sizes[None, :] - inter, 1)
    iu = np.triu_indices(len(texts), 1)
    jv = jac[iu]
    rng = random.Random(SEED)
    chosen: dict[tuple[int, int], str] = {}
    for lo, hi, k in [(0.8, 1.01, 90), (0.5, 0.8, 130), (0.3, 0.5, 150), (0.15, 0.3, 150), (0.05, 0.15, 60)]:
        idx = np.flatnonzero((jv >= lo) & (jv < hi))
        for p in rng.sample(list(idx), min(k, len(idx))):
            chosen[(int(iu[0][p]), int(iu[1][p]))] = f"jaccard_{lo}-{min(hi, 1.0)}"
    grams: dict[str, set[int]] = defaultdict(set)
    for i, r in enumerate(rows):
        s = re.sub(r"\s+", "", r["subject"])
        for k in range(len(s) - 3):
            g = s[k:k + 4]
            if re.fullmatch(r"[\u4e00-\u9fffA-Za-z0-9]+", g):
                grams[g].add(i)
    names = re.compile(r"(小区|花园|苑|城|路|街|村|公司|学校|中学|小学|医院|广场|大厦|区|县)")
    cands = sorted({(a, b) for g, m in grams.items() if 2 <= len(m) <= 6 and names.search(g)
                    for a in m for b in m if a < b and jac[a, b] < 0.15 and (a, b) not in chosen})
    for p in rng.sample(cands, min(120, len(cands))):
        chosen[p] = "shared_name_low_jaccard"
    pairs = sorted(chosen.items(), key=lambda kv: (ids[kv[0][0]], ids[kv[0][1]]))
    rng.shuffle(pairs)
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["pair", "a_id", "b_id", "stratum", "bigram_jaccard"])
        for n, ((i, j), stratum) in enumerate(pairs, 1):
            w.writerow([n, ids[i], ids[j], stratum, f"{jac[i, j]:.3f}"])


def show(first: int, last: int, every: int = 1) -> None:
    rows = messages()
    for p in _read(LABELS / "real_pairs_todo.csv"):
        n = int(p["pair"])
        if first <= n <= last and n % every == 0:
            a, b = rows[p["a_id"]], rows[p["b_id"]]
            print(f"=== pair {n}  ({p['a_id']} vs {p['b_id']})")
            for name, r in (("A", a), ("B", b)):
                detail = re.sub(r"\s+", " ", r["detail"]).strip()[:600]
                print(f"{name} [{r['time']}] 主题: {r['subject'].strip()}\n  详情: {detail}")


def _read(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def split_of(pairs: list[dict]) -> dict[str, str]:
    """fit / holdout per pair: messages grouped by the components of all pairs, a component held out when a
    hash of its smallest message id falls in the lowest HOLDOUT_SHARE."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in pairs:
        a, b = find(p["a_id"]), find(p["b_id"])
        if a != b:
            parent[max(a, b)] = min(a, b)
    members: dict[str, list[str]] = defaultdict(list)
    for x in list(parent):
        members[find(x)].append(x)
    smallest = {root: min(ms, key=int) for root, ms in members.items()}
    held = {root for root, s in smallest.items() if zlib.crc32(s.encode()) % 1000 < HOLDOUT_SHARE * 1000}
    return {p["pair"]: "holdout" if find(p["a_id"]) in held else "fit" for p in pairs}


def merge() -> None:
    todo = {p["pair"]: p for p in _read(LABELS / "real_pairs_todo.csv")}
    labels = [r for f in sorted(LABELS.glob("part_*.csv")) for r in _read(f)]
    missing = set(todo) - {r["pair"] for r in labels}
    if missing:
        raise SystemExit(f"{len(missing)} pairs have no label yet")
    splits = split_of(list(todo.values()))
    with (LABELS / "real_pairs.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["pair", "a_id", "b_id", "stratum", "bigram_jaccard", "same_topic", "same_issue", "split", "note"])
        for r in sorted(labels, key=lambda r: int(r["pair"])):
            t = todo[r["pair"]]
            if (t["a_id"], t["b_id"]) != (r["a_id"], r["b_id"]):
                raise SystemExit(f"pair {r['pair']}: ids differ from the drawn pair")
            w.writerow([r["pair"], r["a_id"], r["b_id"], t["stratum"], t["bigram_jaccard"], r["same_topic"],
                        r["same_issue"], splits[r["pair"]], r["note"]])


def agreement() -> None:
    first = {r["pair"]: r for r in _read(LABELS / "real_pairs.csv")}
    second = _read(LABELS / "real_pairs_second.csv")
    for label in ("same_topic", "same_issue"):
        a = np.array([int(first[r["pair"]][label]) for r in second])
        b = np.array([int(r[label]) for r in second])
        observed = float((a == b).mean())
        expected = float(a.mean() * b.mean() + (1 - a.mean()) * (1 - b.mean()))
        kappa = (observed - expected) / (1 - expected) if expected < 1 else 1.0
        print(f"{label}: {int((a == b).sum())} of {len(a)} agree ({observed:.3f}), Cohen's kappa {kappa:.3f}")


def evaluate(threshold: float, split: str, overrides: list[str]) -> None:
    """Exact char-3-gram Jaccard of each labelled pair as the matcher sees it (normalised title + content),
    with and without the boilerplate learned on all 附件3 messages; precision and recall of Jaccard >=
    threshold against same_topic, per bigram-Jaccard stratum."""
    from dedup.config import Config
    from dedup.core.boilerplate import discount, learn, sample_nodes
    from dedup.core.candidates import band_keys, bands_rows
    from dedup.core.normalize import item_texts
    from dedup.core.signatures import char_shingle_hashes, flat_signatures
    from dedup.core.verify import exact_jaccard

    rows = messages()
    ids = list(rows)
    config = Config().with_overrides(dict(kv.split("=", 1) for kv in overrides))
    texts = item_texts([(rows[i]["subject"].strip(), rows[i]["detail"].strip()) for i in ids], config.normalize)
    hashes, lengths = char_shingle_hashes(texts, config.sign.ngram)
    pick = sample_nodes(ids, 20_000)
    sc = config.sign
    learned = learn(*char_shingle_hashes([texts[k] for k in pick], sc.ngram), sc.boilerplate_share,
                    sc.boilerplate_min_count, sc.boilerplate_coherence, seed=sc.seed)
    pos = {m: k for k, m in enumerate(ids)}
    pairs = [p for p in _read(LABELS / "real_pairs.csv") if split == "all" or p["split"] == split]
    i = np.array([pos[p["a_id"]] for p in pairs])
    j = np.array([pos[p["b_id"]] for p in pairs])
    truth = np.array([p["same_topic"] == "1" for p in pairs])
    d_hashes, d_lengths = discount(hashes, lengths, learned.hashes)
    print(f"{len(pairs)} pairs ({split}), {int(truth.sum())} same topic; {len(learned.hashes)} boilerplate "
          f"shingles learned from {learned.sampled} messages; threshold {threshold}")
    strata = sorted({p["stratum"] for p in pairs})
    bands, rows_per_band = bands_rows(config.with_overrides({"cluster.threshold": threshold}))
    for name, (h, ln) in (("plain", (hashes, lengths)), ("boilerplate discounted", (d_hashes, d_lengths))):
        sims = exact_jaccard(h, np.cumsum(ln), ln, i, j)
        # candidate recall: the pair shares an LSH band of the signatures a run computes (before any verifying)
        sig = flat_signatures(h, ln, sc.num_perm, sc.seed)
        candidate = np.zeros(len(pairs), dtype=bool)
        for band in range(bands):
            keys = band_keys(sig, band, rows_per_band)
            candidate |= keys[i] == keys[j]
        said = sims >= threshold
        tp = int((said & truth).sum())
        print(f"{name}: precision {tp / max(said.sum(), 1):.3f}, recall {tp / max(truth.sum(), 1):.3f}; "
              f"candidate recall {int((candidate & truth).sum()) / max(truth.sum(), 1):.3f} "
              f"({bands} bands of {rows_per_band})")
        for s in strata:
            m = np.array([p["stratum"] == s for p in pairs])
            t = truth & m
            print(f"   {s:26s} pairs {int(m.sum()):3d} same {int(t.sum()):3d}  candidates "
                  f"{int((candidate & t).sum()) / max(int(t.sum()), 1):.2f}  recall "
                  f"{int((said & t).sum()) / max(int(t.sum()), 1):.2f}  false merges {int((said & m & ~truth).sum())}")


def write_export(path: Path, rows: dict[str, dict] | None = None) -> Path:
    """The real messages as a dedup export (id, time, channel, title, content), as ``tests/test_real.py``
    writes them; kept in a temporary folder by its callers, never in the repository."""
    import datetime as dt

    def when(value: str) -> str:
        for fmt in ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M"):
            try:
                return dt.datetime.strptime(value.strip(), fmt).strftime("%Y-%m-%d %H:%M:%S")
            except ValueError:
                pass
        return value

    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "received_at", "channel", "title", "content"])
        for r in (rows or messages()).values():
            w.writerow([r["message_id"], when(r["time"]), "网站", r["subject"].strip(), " ".join(r["detail"].split())])
    return path


def whole(overrides: list[str]) -> None:
    """Run the 4,326 messages whole (as ``tests/test_real.py`` does) with the settings given, and score the
    labelled pairs: precision of those the run puts in one topic, recall of the same-topic ones, per split."""
    import tempfile

    from dedup.batch.pipeline import run
    from dedup.config import Config

    rows = messages()
    config = Config().with_overrides(dict(kv.split("=", 1) for kv in overrides))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        export = write_export(tmp / "export.csv", rows)
        run([export], tmp / "db.sqlite", tmp / "out", config, model_path=tmp / "no-model")
        with (tmp / "out" / "assignments.csv").open(encoding="utf-8-sig", newline="") as fh:
            assigned = {r["id"]: r["topic_id"] for r in csv.DictReader(fh)}
    pairs = _read(LABELS / "real_pairs.csv")
    print(f"whole run of {len(rows)} messages, settings {overrides or 'default'}; topics {len(set(assigned.values()))}")
    for split in ("fit", "holdout", "all"):
        chosen = [p for p in pairs if split == "all" or p["split"] == split]
        together = [p for p in chosen if assigned[p["a_id"]] == assigned[p["b_id"]]]
        same = [p for p in chosen if p["same_topic"] == "1"]
        right = sum(p["same_topic"] == "1" for p in together)
        print(f"  {split:8s} pairs {len(chosen):3d}, same {len(same):3d}: precision "
              f"{right / max(len(together), 1):.3f} ({right}/{len(together)}), recall {right / max(len(same), 1):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("sample")
    s = sub.add_parser("show")
    s.add_argument("first", type=int)
    s.add_argument("last", type=int)
    s.add_argument("--every", type=int, default=1)
    sub.add_parser("merge")
    sub.add_parser("agreement")
    e = sub.add_parser("evaluate")
    e.add_argument("--threshold", type=float, default=0.4)
    e.add_argument("--split", choices=("fit", "holdout", "all"), default="all")
    e.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a setting, e.g. "
                   "sign.boilerplate_share=0.05")
    w = sub.add_parser("whole")
    w.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    if args.command == "whole":
        whole(args.set)
    elif args.command == "sample":
        sample(LABELS / "real_pairs_todo.csv")
    elif args.command == "show":
        show(args.first, args.last, args.every)
    elif args.command == "merge":
        merge()
    elif args.command == "agreement":
        agreement()
    else:
        evaluate(args.threshold, args.split, args.set)


if __name__ == "__main__":
    main()
