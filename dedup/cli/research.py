"""Commands for researchers: the sample generator, evaluate, train, tune and fit a scorer, learn a gazetteer."""


from __future__ import annotations

import csv
import json
from pathlib import Path

import click

from dedup.cli.base import (
    EXIT_INPUT,
    EXIT_USAGE,
    DedupError,
    _config,
    main,
    with_config,
)
from dedup.config import ConfigError


@main.command()
@click.option("--n", "n", default=3000, show_default=True, type=click.IntRange(min=0), help="Items in the export.")
@click.option("--seed", default=0, show_default=True, help="Random seed (logged in the README of the output).")
@click.option("--history", type=int, help="Items in the labelled history (default: same as --n).")
@click.option("--out", required=True, type=click.Path(file_okay=False))
@click.option("--gazetteer", default="", type=click.Path(dir_okay=False),
              help="Gazetteer whose counties, towns and places the items name [default: the bundled example].")
def sample(n, seed, history, out, gazetteer):
    """Generate an export with gold topics (gold.csv), a labelled history for training, and the gazetteer
    and dedup.toml to run it with.

    \b
    Example:
      dedup sample --n 100000 --seed 1 --out data/100k
      dedup run data/100k/export.csv --config data/100k/dedup.toml --db data/100k/dedup.sqlite --out data/100k/out
    """
    from dedup.core.gazetteer import GazetteerError, example_path, load_gazetteer
    from dedup.tools.sample import generate, write

    try:
        places = load_gazetteer(gazetteer or example_path())
        paths = write(generate(n, seed, history, gazetteer=places), Path(out))
    except (GazetteerError, ValueError) as exc:
        raise DedupError(str(exc), EXIT_INPUT) from exc
    click.echo(f"wrote {n} items (seed {seed}): " + ", ".join(str(p) for p in paths.values()))


def _read_labels(path: str, key: str, value: str) -> dict[str, str]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or key not in reader.fieldnames or value not in reader.fieldnames:
                raise DedupError(f"{path}: needs columns {key},{value}; has {reader.fieldnames}", EXIT_INPUT)
            return {row[key]: row[value] for row in reader}
    except UnicodeDecodeError as exc:
        raise DedupError(f"{path}: not a UTF-8 CSV file ({exc.reason} at byte {exc.start})", EXIT_INPUT) from exc
    except (csv.Error, OSError) as exc:
        raise DedupError(f"{path}: cannot be read as CSV ({exc})", EXIT_INPUT) from exc


@main.command()
@click.option("--gold", required=True, type=click.Path(exists=True, dir_okay=False),
              help="gold.csv: id,topic[,department]")
@click.option("--pred", required=True, type=click.Path(exists=True, dir_okay=False),
              help="assignments.csv: id,topic_id")
@click.option("--topics", type=click.Path(exists=True, dir_okay=False), help="topics.csv, for department accuracy.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def evaluate(gold, pred, topics, as_json):
    """Pairwise and B-cubed precision/recall/F1 of predicted topics against gold labels.

    \b
    Example:
      dedup evaluate --gold sample_data/gold.csv --pred out/assignments.csv --topics out/topics.csv
    """
    from dedup.tools.metrics import cluster_metrics

    gold_topic = _read_labels(gold, "id", "topic")
    pred_topic = _read_labels(pred, "id", "topic_id")
    if not set(gold_topic) & set(pred_topic):
        raise DedupError("no ids in common between gold and predictions", EXIT_INPUT)
    # every gold id is scored: one the predictions lack counts as a topic of its own (never a free pass)
    unpredicted = sorted(set(gold_topic) - set(pred_topic))
    pred_topic.update({i: f"\x00unpredicted:{i}" for i in unpredicted})
    ids = sorted(gold_topic)
    result = cluster_metrics([pred_topic[i] for i in ids], [gold_topic[i] for i in ids])
    result["gold_only"] = len(unpredicted)
    result["pred_only"] = len(set(pred_topic) - set(gold_topic))
    if unpredicted:
        click.echo(f"warning: {len(unpredicted)} of {len(ids)} gold ids have no prediction; each is scored as a "
                   "topic of its own", err=True)
    if topics:
        from dedup.tools.metrics import routing_metrics

        try:
            with open(topics, encoding="utf-8-sig", newline="") as fh:
                topic_rows = {r["topic_id"]: r for r in csv.DictReader(fh)}
        except (UnicodeDecodeError, csv.Error, KeyError) as exc:
            raise DedupError(f"{topics}: not a topics.csv (UTF-8, with a topic_id column): {exc}", EXIT_INPUT) from exc
        predicted = [i for i in ids if not pred_topic[i].startswith("\x00unpredicted:")]
        result.update(routing_metrics(predicted, gold_topic, _read_labels(gold, "id", "department"), pred_topic,
                                      topic_rows))
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        click.echo(f"{key:28s} {value:.4f}" if isinstance(value, float) else f"{key:28s} {value}")


@main.command()
@click.argument("history", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--out", default="models/department.joblib", show_default=True, type=click.Path(dir_okay=False))
@click.option("--features", default="where", show_default=True,
              type=click.Choice(["where", "word", "where+char", "word+char", "char"]),
              help="TF-IDF features: jieba words and bigrams with the counties a place implies, each word also "
                   "crossed with those counties (where) or not (word); char adds character 1-3-grams.")
@click.option("--group-by", default="topic", show_default=True,
              help="Column that groups near-duplicates for the split; 'cluster' clusters the texts first.")
@click.option("--seed", default=0, show_default=True)
@click.option("--gazetteer", default="", type=click.Path(dir_okay=False),
              help="Gazetteer file whose places are words (and imply their counties); the one nights run with.")
def train(history, out, features, group_by, seed, gazetteer):
    """Train the department model on labelled HISTORY files (content, department columns).

    \b
    Example:
      dedup train sample_data/history.csv --gazetteer sample_data/gazetteer.csv --out models/department.joblib
    """
    from dedup.core.gazetteer import GazetteerError, load_gazetteer
    from dedup.tools.training import TrainingError, train_from_files

    try:
        summary = train_from_files([Path(p) for p in history], Path(out), features, group_by, seed,
                                   load_gazetteer(gazetteer))
    except (TrainingError, GazetteerError) as exc:
        raise DedupError(str(exc), EXIT_INPUT) from exc
    click.echo(summary)


@main.command()
@click.argument("export", type=click.Path(exists=True, dir_okay=False))
@click.option("--gold", required=True, type=click.Path(exists=True, dir_okay=False),
              help="gold.csv (id,topic) or hand-labelled pairs (id_a,id_b,same).")
@click.option("--grid", "grids", multiple=True, metavar="NAME=VALUES",
              help="threshold=0.3:0.9:0.05, num_perm=64,128,256, shingle=word2,char3 (repeatable).")
@click.option("--out", required=True, type=click.Path(file_okay=False))
@click.option("--min-precision", default=0.98, show_default=True,
              help="The best setting is the highest F1 among those with at least this pairwise precision.")
@click.option("--no-baseline", is_flag=True, help="Skip timing one full run for the cost ratio.")
@click.option("--fit-scorer", is_flag=True,
              help="Fit a pair scorer on the labels instead of sweeping: OUT/pair_scorer.joblib and OUT/scorer.toml.")
@with_config
def tune(export, gold, grids, out, min_precision, no_baseline, fit_scorer, config_file, sets):
    """Sweep settings on labelled data; write results, plots and the best setting as a config file.
    With --fit-scorer, fit a pair scorer on the labels instead.

    \b
    Example:
      dedup tune sample_data/export.csv --gold sample_data/gold.csv \\
          --grid threshold=0.3:0.9:0.05 --grid shingle=word2,char3 --out tuning
      dedup run tonight.csv --config tuning/best.toml
      dedup tune export.csv --gold labelled_pairs.csv --fit-scorer --out tuning
      dedup run tonight.csv --config tuning/scorer.toml
    """
    from dedup.io.ingest import IngestError
    from dedup.tools.tune import GoldError
    from dedup.tools.tune import tune as run_tune

    config = _config(config_file, sets)
    if fit_scorer:
        from dedup.config import dump_toml
        from dedup.tools.fitting import fit_from_gold

        path = Path(out) / "pair_scorer.joblib"
        try:
            _, held = fit_from_gold(Path(export), Path(gold), path, config)
        except (GoldError, IngestError) as exc:
            raise DedupError(str(exc), EXIT_INPUT) from exc
        except ValueError as exc:
            raise DedupError(f"{gold}: {exc}", EXIT_INPUT) from exc
        settings = Path(out) / "scorer.toml"
        settings.write_text("# fitted by `dedup tune --fit-scorer`; the scorer's sidecar says on what and how well\n"
                            + dump_toml({"cluster.scorer": path.name, "cluster.threshold": config.cluster.threshold,
                                         "cluster.match_probability": config.cluster.match_probability}),
                            encoding="utf-8")
        for name, m in held.items():
            click.echo(f"{name}: held out {m['held_out_pairs']} pairs ({m['matching']} matching), precision "
                       f"{m['precision']:.4f}, recall {m['recall']:.4f} at {config.cluster.match_probability}")
        click.echo(f"wrote {path}, {path.with_suffix('.json')}, {settings}")
        return
    try:
        summary = run_tune(Path(export), Path(gold), list(grids) or ["threshold=0.3:0.9:0.05"], Path(out), config,
                           min_precision, not no_baseline, log=lambda line: click.echo(line, err=True))
    except ConfigError as exc:
        raise DedupError(str(exc), EXIT_USAGE) from exc
    except (GoldError, IngestError) as exc:
        raise DedupError(str(exc), EXIT_INPUT) from exc
    best = summary["best"]
    if best is None:
        click.echo(f"no setting reached pairwise precision {min_precision}; see {summary['paths']['csv']}")
    else:
        metric = "bcubed_f1" if "bcubed_f1" in best else "pairwise_f1"
        click.echo(f"best: {best['shingle']}, {best['num_perm']} perms, threshold {best['threshold']:.2f} "
                   f"({metric} {best[metric]:.4f}, pairwise precision {best['pairwise_precision']:.4f})")
    if "cost_ratio_vs_separate_runs" in summary:
        click.echo(f"{summary['settings']} settings in {summary['sweep_seconds']:.1f} s; one full run takes "
                   f"{summary['one_full_run_seconds']:.1f} s, so the sweep cost "
                   f"{summary['cost_ratio_vs_separate_runs']:.2f} of running each setting on its own")
    click.echo("wrote " + ", ".join(summary["paths"].values()))


@main.group()
def gazetteer():
    """Gazetteer files: the places and units of a city (see README "Places")."""


@gazetteer.command("learn")
@click.argument("history", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The draft gazetteer to write.")
@click.option("--min-count", default=3, show_default=True, type=click.IntRange(min=1),
              help="Keep names met in at least this many texts.")
def gazetteer_learn(history, out, min_count):
    """Write a draft gazetteer of the place names seen often in HISTORY files (a content column, and a
    title column where there is one), most frequent first with a `seen` column, for a person to check.

    \b
    Example:
      dedup gazetteer learn last_year.csv --out places-draft.csv
      (check it, then name it in a config file: [places] gazetteer = "places.csv")
    """
    from dedup.config import IngestConfig
    from dedup.core.normalize import item_text
    from dedup.io.ingest import IngestError, iter_records
    from dedup.tools.placenames import learn, write_draft

    texts = []
    for path in history:
        try:
            for _, record in iter_records(Path(path), IngestConfig(), required=("content",)):
                if not isinstance(record, str):
                    texts.append(item_text(str(record.get("title") or ""), str(record.get("content") or "")))
        except IngestError as exc:
            raise DedupError(str(exc), EXIT_INPUT) from exc
    learned = learn(texts, min_count=min_count)
    write_draft(Path(out), learned)
    kinds = {k: sum(1 for _, kind, _ in learned if kind == k) for k in ("county", "town", "place")}
    click.echo(f"read {len(texts)} texts; wrote {out}: {len(learned)} names seen in at least {min_count} texts "
               f"({kinds['county']} counties/districts, {kinds['town']} streets/towns, {kinds['place']} places); "
               "check them before naming the file in places.gazetteer")


