"""Threshold tuning on labelled data: grids, shared work, the best-setting rule.

Work that a setting does not change is done once: ingest, normalisation and
segmentation once for the sweep; shingles, signatures and LSH buckets once
per (shingle, num_perm), with bands x rows chosen for the lowest threshold of
the sweep so that one set of candidates serves every threshold. Only
verification and clustering run per threshold.
"""

from __future__ import annotations

import csv
import itertools
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dedup.batch.engine import StageTimer, cluster_signed, sign
from dedup.batch.prepare import prepare
from dedup.config import Config, ConfigError, dump_toml
from dedup.core.candidates import bucket_ids, candidate_probability, lsh_params
from dedup.core.segment import segmenter_for
from dedup.io.ingest import ingest
from dedup.tools.metrics import cluster_metrics, pair_metrics

SHINGLES = {"word": "word", "char": "char"}


def _range(spec: str) -> list[float]:
    start, stop, step = (float(x) for x in spec.split(":"))
    if step <= 0 or stop < start:
        raise ConfigError(f"bad range {spec!r}: expected start:stop:step with step > 0")
    count = int(round((stop - start) / step)) + 1
    return [round(start + k * step, 6) for k in range(count)]


def parse_grid(specs: list[str]) -> dict[str, list]:
    """``["threshold=0.3:0.9:0.05", "num_perm=64,128", "shingle=word2,char3"]`` -> values per name."""
    grid: dict[str, list] = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip()
        if not sep or not values:
            raise ConfigError(f"--grid expects name=values, got {spec!r}")
        if name == "threshold":
            parsed = _range(values) if ":" in values else [float(v) for v in values.split(",")]
            if not all(0 < v <= 1 for v in parsed):
                raise ConfigError(f"thresholds must be in (0, 1]: {values}")
        elif name == "num_perm":
            parsed = [int(v) for v in values.split(",")]
        elif name == "shingle":
            parsed = []
            for v in values.split(","):
                kind, n = v.rstrip("0123456789"), v[len(v.rstrip("0123456789")):]
                if kind not in SHINGLES or not n:
                    raise ConfigError(f"shingle values look like word2 or char3, got {v!r}")
                parsed.append((kind, int(n)))
        else:
            raise ConfigError(f"unknown grid name {name!r}; use threshold, num_perm or shingle")
        grid[name] = parsed
    return grid


@dataclass
class Gold:
    topics: dict[str, str] | None = None                 # id -> gold topic
    pairs: list[tuple[str, str, bool]] | None = None     # hand-labelled pairs


class GoldError(Exception):
    """The labels file cannot be read."""


def read_gold(path: Path) -> Gold:
    """Topic labels (id,topic) or labelled pairs (id_a,id_b,same)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            fields = set(reader.fieldnames or [])
            rows = list(reader)
    except UnicodeDecodeError as exc:
        raise GoldError(f"{path}: not a UTF-8 CSV file ({exc.reason} at byte {exc.start})") from exc
    except (csv.Error, OSError) as exc:
        raise GoldError(f"{path}: cannot be read as CSV ({exc})") from exc
    if {"id", "topic"} <= fields:
        return Gold(topics={r["id"]: r["topic"] for r in rows})
    if {"id_a", "id_b", "same"} <= fields:
        labelled = [r for r in rows if r["same"].strip()]
        return Gold(pairs=[(r["id_a"], r["id_b"], r["same"].strip().lower() in {"1", "true", "yes", "y", "same"})
                           for r in labelled])
    raise GoldError(f"{path}: gold needs columns id,topic or id_a,id_b,same; has {sorted(fields)}")


def score(item_ids: list[str], item_topic: np.ndarray, gold: Gold) -> dict:
    pred = dict(zip(item_ids, item_topic.tolist()))
    if gold.topics is not None:
        ids = [i for i in item_ids if i in gold.topics]
        return cluster_metrics([pred[i] for i in ids], [gold.topics[i] for i in ids])
    pairs = [(a, b, s) for a, b, s in gold.pairs if a in pred and b in pred]
    return pair_metrics([pred[a] == pred[b] for a, b, _ in pairs], [s for _, _, s in pairs])


def best_setting(rows: list[dict], min_precision: float = 0.98) -> dict | None:
    """Highest B-cubed F1 (pairwise F1 for pair labels) among settings with pairwise precision >= min."""
    key = "bcubed_f1" if rows and "bcubed_f1" in rows[0] else "pairwise_f1"
    ok = [r for r in rows if r["pairwise_precision"] >= min_precision]
    if not ok:
        return None
    return max(ok, key=lambda r: (r[key], r["pairwise_precision"], -r["threshold"]))


def sweep(export: Path, gold: Gold, grid: dict[str, list], base: Config, log=print) -> tuple[list[dict], dict]:
    """Run every setting of the grid; returns one row per setting and the shared timings. Thresholds are
    Jaccard thresholds: the sweep compares by Jaccard alone (``cluster.scorer = none``)."""
    base = base.with_overrides({"cluster.scorer": "none"})
    timer = StageTimer()
    with timer("ingest"):
        result = ingest([export], base.ingest)
    prepared = prepare(result.items, base, segmenter_for(base), timer)
    ids, nodes = [it.id for it in prepared.items], prepared.nodes
    thresholds = grid.get("threshold", [base.cluster.threshold])
    rows: list[dict] = []
    for (kind, n), num_perm in itertools.product(grid.get("shingle", [(base.sign.shingle, base.sign.ngram)]),
                                                 grid.get("num_perm", [base.sign.num_perm])):
        config = base.with_overrides({"sign.shingle": kind, "sign.ngram": n, "sign.num_perm": num_perm})
        start = time.perf_counter()
        signed = sign(nodes, config, timer)
        bands, r = lsh_params(min(thresholds), num_perm, base.cluster.bands, base.cluster.rows,
                              base.cluster.fn_weight)
        buckets = bucket_ids(signed.sig, bands, r, columns=signed.columns)
        shared = time.perf_counter() - start
        for threshold in thresholds:
            setting = config.with_overrides({"cluster.threshold": threshold, "cluster.bands": bands,
                                             "cluster.rows": r})
            start = time.perf_counter()
            clustering = cluster_signed(nodes, signed, setting, buckets=buckets)
            metrics = score(ids, clustering.item_topic, gold)
            rows.append({"shingle": f"{kind}{n}", "num_perm": num_perm, "threshold": threshold, "bands": bands,
                         "rows": r, **{k: v for k, v in metrics.items() if k != "items"},
                         "seconds": round(time.perf_counter() - start + shared / len(thresholds), 3)})
            log(f"{kind}{n} num_perm={num_perm} threshold={threshold:.2f}: " + ", ".join(
                f"{k} {metrics[k]:.4f}" for k in ("pairwise_precision", "pairwise_recall", "bcubed_f1")
                if k in metrics))
    return rows, {"items": len(ids), "distinct_texts": len(nodes.texts), **timer.rounded()}


def one_run_seconds(export: Path, base: Config) -> float:
    """What one untuned full clustering of the export costs, from reading it to its topics (by Jaccard, as
    the sweep compares)."""
    base = base.with_overrides({"cluster.scorer": "none"})
    start = time.perf_counter()
    timer = StageTimer()
    result = ingest([export], base.ingest)
    nodes = prepare(result.items, base, segmenter_for(base), timer).nodes
    cluster_signed(nodes, sign(nodes, base), base)
    return time.perf_counter() - start


def write_results(out: Path, rows: list[dict], shared: dict, best: dict | None, min_precision: float,
                  extra: dict, keep: dict | None = None) -> dict[str, Path]:
    """results.csv/json and best.toml: the best setting and ``keep`` (settings of the base configuration
    that the sweep ran with, such as its gazetteer), so that best.toml runs on its own."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "results.csv", "json": out / "results.json"}
    with paths["csv"].open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    rule = (f"highest {'B-cubed' if 'bcubed_f1' in rows[0] else 'pairwise'} F1 among settings with pairwise "
            f"precision >= {min_precision}")
    paths["json"].write_text(json.dumps({"rule": rule, "best": best, "shared_seconds": shared, **extra,
                                         "results": rows}, indent=2), encoding="utf-8")
    if best is not None:
        kind = best["shingle"].rstrip("0123456789")
        paths["best"] = out / "best.toml"
        paths["best"].write_text(
            f"# chosen by `dedup tune`: {rule}\n" + dump_toml({
                "sign.shingle": kind, "sign.ngram": int(best["shingle"][len(kind):]), "sign.num_perm": best["num_perm"],
                "cluster.threshold": best["threshold"], "cluster.bands": best["bands"], "cluster.rows": best["rows"],
                "cluster.scorer": "none", **(keep or {})}),
            encoding="utf-8")
    return paths


def plot_sweep(rows: list[dict], path: Path, data_name: str, best: dict | None) -> Path:
    from dedup.io.plots import plt_module, save_figure

    plt = plt_module()
    settings = sorted({(r["shingle"], r["num_perm"]) for r in rows})
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), sharey=True)
    for ax, (metric, title) in zip(axes, (("pairwise_precision", "pairwise precision"),
                                          ("pairwise_recall", "pairwise recall"),
                                          ("bcubed_f1" if "bcubed_f1" in rows[0] else "pairwise_f1", "F1"))):
        for shingle, num_perm in settings:
            part = sorted((r for r in rows if (r["shingle"], r["num_perm"]) == (shingle, num_perm)),
                          key=lambda r: r["threshold"])
            ax.plot([r["threshold"] for r in part], [r[metric] for r in part], marker="o", markersize=3,
                    label=f"{shingle}, {num_perm} perms")
        if best is not None:
            ax.axvline(best["threshold"], color="grey", linestyle=":", label="chosen")
        ax.set_xlabel("similarity threshold (Jaccard)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("score against gold")
    axes[-1].legend(fontsize=8)
    fig.suptitle(f"Threshold sweep on {data_name}")
    return save_figure(plt, fig, path)


def plot_sizes(pred_sizes: np.ndarray, gold_sizes: np.ndarray | None, path: Path, data_name: str) -> Path:
    from dedup.io.plots import plt_module, save_figure

    plt = plt_module()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    top = max(int(pred_sizes.max()), int(gold_sizes.max()) if gold_sizes is not None else 1)
    bins = np.unique(np.logspace(0, np.log10(top + 1), 30).astype(int))
    ax.hist(pred_sizes, bins=bins, histtype="step", linewidth=1.5, label=f"found ({len(pred_sizes)} topics)")
    if gold_sizes is not None:
        ax.hist(gold_sizes, bins=bins, histtype="step", linewidth=1.5, label=f"gold ({len(gold_sizes)} topics)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("topic size (items)")
    ax.set_ylabel("number of topics")
    ax.set_title(f"Topic sizes at the chosen setting, {data_name}")
    ax.legend()
    return save_figure(plt, fig, path)


def plot_s_curve(bands: int, rows: int, threshold: float, path: Path, data_name: str) -> Path:
    from dedup.io.plots import plt_module, save_figure

    plt = plt_module()
    s = np.linspace(0, 1, 201)
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.plot(s, candidate_probability(s, bands, rows), label=f"{bands} bands x {rows} rows")
    ax.axvline(threshold, color="red", linestyle="--", label=f"threshold {threshold:.2f}")
    ax.set_xlabel("true Jaccard similarity of a pair")
    ax.set_ylabel("probability of becoming an LSH candidate")
    ax.set_title(f"LSH S-curve of the chosen setting ({data_name})")
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(plt, fig, path)


def tune(export: Path, gold_path: Path, specs: list[str], out: Path, base: Config, min_precision: float = 0.98,
         measure_full_run: bool = True, log=print) -> dict:
    """The whole `dedup tune`: sweep, results, best setting as config, plots; returns the results summary."""
    grid = parse_grid(specs)
    gold = read_gold(gold_path)
    start = time.perf_counter()
    rows, shared = sweep(export, gold, grid, base, log)
    total = time.perf_counter() - start
    best = best_setting(rows, min_precision)
    extra = {"sweep_seconds": round(total, 2), "settings": len(rows)}
    if measure_full_run:
        single = one_run_seconds(export, base)
        extra.update({"one_full_run_seconds": round(single, 2),
                      "cost_ratio_vs_separate_runs": round(total / (single * len(rows)), 3)})
    keep = {"places.gazetteer": str(Path(base.places.gazetteer).resolve())} if base.places.gazetteer else {}
    paths = write_results(out, rows, shared, best, min_precision, extra, keep)
    name = export.name
    paths["sweep_png"] = plot_sweep(rows, out / "sweep.png", name, best)
    chosen = best or max(rows, key=lambda r: r.get("bcubed_f1", r["pairwise_f1"]))
    paths["s_curve_png"] = plot_s_curve(chosen["bands"], chosen["rows"], chosen["threshold"], out / "s_curve.png",
                                        name)
    if gold.topics is not None:
        kind = chosen["shingle"].rstrip("0123456789")
        config = base.with_overrides({"cluster.scorer": "none", "sign.shingle": kind,
                                      "sign.ngram": int(chosen["shingle"][len(kind):]),
                                      "sign.num_perm": chosen["num_perm"], "cluster.threshold": chosen["threshold"],
                                      "cluster.bands": chosen["bands"], "cluster.rows": chosen["rows"]})
        result = ingest([export], base.ingest)
        nodes = prepare(result.items, config, segmenter_for(config), StageTimer()).nodes
        clustering = cluster_signed(nodes, sign(nodes, config), config)
        pred_sizes = np.bincount(clustering.item_topic)
        gold_sizes = np.unique(np.array(list(gold.topics.values()), dtype=object).astype(str),
                               return_counts=True)[1]
        paths["sizes_png"] = plot_sizes(pred_sizes, gold_sizes, out / "topic_sizes.png", name)
    return {"best": best, "paths": {k: str(v) for k, v in paths.items()}, **extra}
