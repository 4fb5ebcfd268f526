"""The ``dedup`` command: a thin layer over the library.

Exit status (the README's table): 0 success; 2 bad usage or configuration; 3 an
input file cannot be read (nothing stored); 4 the database is locked, damaged or
cannot be written; 5 the department model is unusable; 6 over the memory budget;
7 the run is stored but its files could not be written.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from dedup import __version__
from dedup.config import ConfigError, load_config

EXIT_USAGE, EXIT_INPUT, EXIT_DATABASE, EXIT_MODEL, EXIT_BUDGET, EXIT_OUTPUT = 2, 3, 4, 5, 6, 7
EXIT_SOFTWARE = 70  # a fault in dedup itself (sysexits' EX_SOFTWARE)


class DedupError(click.ClickException):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.exit_code = code


@contextmanager
def database_errors():
    """A database the user named: an unknown id or run is a usage error (2), damage or the wrong file is 4."""
    from dedup.storage.store import DatabaseError, NotFound, StoreError

    try:
        yield
    except NotFound as exc:
        raise DedupError(str(exc), EXIT_USAGE) from exc
    except StoreError as exc:
        raise DedupError(str(exc), EXIT_DATABASE) from exc
    except DatabaseError as exc:
        raise DedupError(f"the database is damaged or not a dedup database ({exc}); restore it from a backup",
                         EXIT_DATABASE) from exc


@contextmanager
def run_errors(db: str, done: str):
    """What stops a run or rebuild, as the exit-status table says; ``done`` is what did not happen to the
    database ("stored", "changed")."""
    from dedup.batch.budget import BudgetError
    from dedup.batch.pipeline import ExportError
    from dedup.core.privacy import mask
    from dedup.io.ingest import IngestError
    from dedup.routing.classify import ModelError
    from dedup.storage.store import DatabaseError, StoreError

    try:
        yield
    except IngestError as exc:
        raise DedupError(f"{mask(str(exc))} (nothing was {done})", EXIT_INPUT) from exc
    except StoreError as exc:
        raise DedupError(str(exc), EXIT_DATABASE) from exc
    except ModelError as exc:
        raise DedupError(f"{exc} (nothing was {done})", EXIT_MODEL) from exc
    except BudgetError as exc:
        raise DedupError(f"{exc} (nothing was {done})", EXIT_BUDGET) from exc
    except ExportError as exc:
        raise DedupError(str(exc), EXIT_OUTPUT) from exc
    except (DatabaseError, OSError) as exc:  # a full disk, a read-only database
        what = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise DedupError(f"{db}: the database could not be written ({what}); nothing was {done}",
                         EXIT_DATABASE) from exc


def _output_folder(out: str) -> None:
    """Check, before the run takes the database, that the output folder can be made: one that cannot is
    a usage error, not a database one (and nothing is stored). Nothing is made here."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise DedupError(f"{out}: is a file, not a folder for the run's files; nothing was stored", EXIT_USAGE)
    parent = path
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise DedupError(f"{out}: cannot make the output folder ({parent} is not a writable folder); "
                         "nothing was stored", EXIT_USAGE)


def _parse_sets(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep:
            raise DedupError(f"--set expects key=value, got {value!r}", EXIT_USAGE)
        out[key.strip()] = val.strip()
    return out


def _config(config_file, sets):
    from dedup.core.gazetteer import load_gazetteer
    from dedup.storage.modelfile import ModelError
    from dedup.storage.scorers import load_scorer

    try:
        config = load_config(config_file, _parse_sets(sets))
        load_gazetteer(config.places.gazetteer)  # a gazetteer that cannot be read stops the run before it starts
        load_scorer(config.cluster.scorer)       # and so does a pair scorer
        return config
    except ConfigError as exc:
        raise DedupError(str(exc), EXIT_USAGE) from exc
    except ModelError as exc:
        raise DedupError(f"{exc} (nothing was stored)", EXIT_MODEL) from exc


config_options = [
    click.option("--config", "config_file", type=click.Path(dir_okay=False), help="TOML or JSON config file."),
    click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                 help="Override one setting, e.g. --set cluster.threshold=0.5 (repeatable)."),
]


def with_config(func):
    for option in reversed(config_options):
        func = option(func)
    return func


@click.group()
@click.version_option(__version__, prog_name="dedup")
def main() -> None:
    """Deduplicate citizen suggestions into topics and route each topic to a unit."""


def program() -> None:
    """The installed ``dedup`` program: ``main``, and after a run or rebuild an exit that does not free
    the run's objects one by one (seconds for a million items; everything is written and closed by then)."""
    try:
        main(obj={"exit_when_done": True}, standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted!", err=True)
        sys.exit(1)
    except (KeyboardInterrupt, EOFError):
        click.echo("Aborted!", err=True)
        sys.exit(1)
    except Exception as exc:  # a fault of dedup's own: one line, never a traceback (DEDUP_DEBUG=1 shows it)
        if os.environ.get("DEDUP_DEBUG"):
            raise
        click.echo(f"Error: unexpected {type(exc).__name__}: {exc} (a fault in dedup; run again with "
                   "DEDUP_DEBUG=1 to see where, and report it)", err=True)
        sys.exit(EXIT_SOFTWARE)


def _done(report) -> None:
    """Print the report; then end the process at once if it is the ``dedup`` program (not a CliRunner)."""
    click.echo(format_report(report))
    if (click.get_current_context().obj or {}).get("exit_when_done"):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


@main.command()
@click.argument("exports", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--db", default="dedup.sqlite", show_default=True, type=click.Path(dir_okay=False),
              help="SQLite database holding items and topics across nights.")
@click.option("--out", default="out", show_default=True, type=click.Path(file_okay=False),
              help="Folder for assignments.csv, topics.csv/.xlsx, rejected.csv and run.json.")
@click.option("--model", type=click.Path(dir_okay=False), help="Department model (default: classify.model).")
@click.option("--progress/--no-progress", default=None, help="Progress bars (default: when on a terminal).")
@with_config
def run(exports, db, out, model, progress, config_file, sets):
    """Ingest EXPORTS, cluster them into topics with what the database holds, route and export.

    \b
    Example:
      dedup run sample_data/export.csv --db dedup.sqlite --out out
    """
    from dedup.batch.pipeline import run as run_pipeline

    config = _config(config_file, sets)
    show = sys.stderr.isatty() if progress is None else progress
    _output_folder(out)
    with run_errors(db, "stored"):
        report = run_pipeline(exports, db, out, config, model_path=model, progress=show)
    _done(report)


def bounds_line(counts: dict) -> str:
    """Where clustering's work bounds cut (``joins.Bounds``), in words; empty where none did."""
    cut = {k: counts.get(f"cluster_{k}", 0) for k in ("buckets_capped", "nodes_capped", "pairs_dropped",
                                                      "tops_skipped")}
    if not any(cut.values()):
        return ""
    return (f"work bounds: {cut['buckets_capped']} bucket joins capped (cluster.bucket_centres), "
            f"{cut['nodes_capped']} texts' candidates cut ({cut['pairs_dropped']} pairs not verified, "
            f"cluster.candidates), {cut['tops_skipped']} bucket tops not asked")


def format_report(report) -> str:
    c = report.counts
    lines = [f"run {report.run_id}: read {c['rows_read']} rows, {c['new_items']} new items, "
             f"{c['repeats']} repeats, {c['rejected']} rejected"]
    if not c["new_items"] and not c.get("topics_changed"):
        lines.append("nothing new: no item or topic changed" + (
            f" (the run and its {c['rejected']} rejected rows are recorded)" if c["rejected"] else ""))
    else:
        lines.append(f"topics: {c['new_topics']} new, {c['topics_changed'] - c['new_topics']} grown, "
                     f"{c['merged_topics']} merged")
    if c.get("flagged"):
        lines.append(f"flagged: {c['flagged']} rows kept with metadata filled in ({c.get('flagged_time', 0)} given "
                     f"the export's date for their time, {c.get('flagged_channel', 0)} with a channel not in "
                     "ingest.channels kept as other; flagged.csv lists them)")
    if report.relisted:
        lines.append(f"the exports of run {report.relisted} were cut off before they finished: "
                     "its lists (new, changed, rejected, flagged) are written now")
    if report.unexported:
        lines.append(f"warning: the exports of run {report.unexported} were cut off before they finished; "
                     f"`dedup export --run {report.unexported} --out DIR` writes its lists")
    for old, into in sorted(report.merged.items()):
        lines.append(f"  merged {old} into {into}")
    lines.append(report.routing)
    if c.get("cluster_boilerplate_shingles"):
        lines.append(f"boilerplate: {c['cluster_boilerplate_shingles']} shingles shared by unrelated texts left out "
                     "(learned from tonight's texts; `dedup explain` shows them)")
    bound = bounds_line(c)
    if bound:
        lines.append(bound)
    if report.rejected:
        lines.append("rejected rows (first 5): " + "; ".join(
            f"{Path(r.file).name}:{r.line} {r.reason}" for r in report.rejected[:5]))
    if report.topics:
        lines.append("largest topics changed tonight:")
    for t in report.largest(5):
        dept = f" -> {t.department} ({t.department_score:.2f})" if t.department else ""
        lines.append(f"  {t.topic_id} {t.size:>6}  {t.representative_text[:40]}{dept}")
    lines.append("seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in report.timings.items()))
    if report.outputs:
        lines.append(f"wrote {', '.join(str(p) for p in report.outputs.values())}")
    return "\n".join(lines)


@main.command()
@click.option("--db", default="dedup.sqlite", show_default=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--out", default="out", show_default=True, type=click.Path(file_okay=False))
@click.option("--model", type=click.Path(dir_okay=False), help="Department model (default: classify.model).")
@with_config
def rebuild(db, out, model, config_file, sets):
    """Recluster every stored item (after changing settings); topics keep the old ids they overlap most.

    \b
    Example:
      dedup rebuild --db dedup.sqlite --set cluster.threshold=0.45
    """
    from dedup.batch.pipeline import rebuild as rebuild_all

    config = _config(config_file, sets)
    _output_folder(out)
    with run_errors(db, "changed"):
        report = rebuild_all(db, out, config, model_path=model)
    _done(report)


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
@click.option("--features", default="word", show_default=True,
              type=click.Choice(["word", "char", "word+char"]), help="TF-IDF features.")
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


@main.command()
@click.argument("id_a")
@click.argument("id_b")
@click.option("--db", default="dedup.sqlite", show_default=True, type=click.Path(exists=True, dir_okay=False))
def explain(id_a, id_b, db):
    """Explain why two items share a topic or not: texts, shingles, Jaccard, LSH bands, places, thresholds.

    \b
    Example:
      dedup explain LC00000001 LC00000007 --db dedup.sqlite
    """
    from dedup.tools.explain import explain as explain_pair

    with database_errors():
        click.echo(explain_pair(Path(db), id_a, id_b))


@main.command()
@click.option("--sample", "n", default=200, show_default=True, type=click.IntRange(min=1),
              help="About how many pairs to write.")
@click.option("--db", default="dedup.sqlite", show_default=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--out", default="pairs.csv", show_default=True, type=click.Path(dir_okay=False))
@click.option("--seed", default=0, show_default=True)
def pairs(n, db, out, seed):
    """Write pairs spread over the similarity range for labelling by hand (fill the `same` column).

    \b
    Example:
      dedup pairs --sample 200 --db dedup.sqlite --out pairs.csv
      dedup tune export.csv --gold pairs.csv --grid threshold=0.3:0.8:0.05 --out tuning
    """
    from dedup.tools.explain import sample_pairs

    with database_errors():
        path = sample_pairs(Path(db), n, Path(out), seed)
    click.echo(f"wrote {path}: label the `same` column 1 or 0, then pass it to `dedup tune --gold`")


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


@main.group()
def topic():
    """Look at one topic."""


@topic.command("show")
@click.argument("topic_id")
@click.option("--db", default="dedup.sqlite", show_default=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--limit", default=20, show_default=True, help="Members to list.")
def topic_show(topic_id, db, limit):
    """Show a topic and its members, following merge redirects."""
    from dedup.storage.store import Store

    with database_errors():
        store = Store(db, readonly=True)
        live, path = store.resolve(topic_id)
        t, members = store.topic(live), store.members(live)
        store.close()
    if len(path) > 1:
        click.echo(f"{topic_id} was merged into {live} (" + " -> ".join(path) + ")")
    click.echo(f"{live}: {t['size']} items, {t['first_received']} .. {t['last_received']}")
    click.echo(f"keywords: {' '.join(t['keywords'])}")
    click.echo("channels: " + (", ".join(f"{kind} {n}" for kind, n in t["channels"].items()) or "none"))
    if t["department"]:
        click.echo(f"department: {t['department']} ({t['department_score']:.2f}); top-3 "
                   + ", ".join(f"{unit} {p:.2f}" for unit, p in t["department_top3"])
                   + ("  [needs review]" if t["needs_review"] else ""))
    click.echo(f"representative {t['representative_id']}: {t['representative_text']}")
    for item_id, received, channel, text in members[:limit]:
        click.echo(f"  {item_id} {received} {channel:8s} {text[:60]}")
    if len(members) > limit:
        click.echo(f"  ... {len(members) - limit} more")


@main.command()
@click.option("--db", default="dedup.sqlite", show_default=True, type=click.Path(exists=True, dir_okay=False))
def runs(db):
    """List past runs: when, inputs, counts and timings."""
    from dedup.storage.store import Store

    with database_errors():
        store = Store(db, readonly=True)
        records = store.runs()
        store.close()
    for r in records:
        c = r["counts"]
        files = ", ".join(f"{Path(i['file']).name} ({i['sha256'][:10]})" for i in r["inputs"])
        click.echo(f"run {r['run_id']} {r['kind']} {r['started_at']}..{r['finished_at']}  {files}")
        click.echo(f"    {c.get('new_items', 0)} new items, {c.get('repeats', 0)} repeats, "
                   f"{c.get('rejected', 0)} rejected; topics {c.get('new_topics', 0)} new, "
                   f"{c.get('topics_changed', 0) - c.get('new_topics', 0)} grown, {c.get('merged_topics', 0)} merged; "
                   f"{sum(r['timings'].values()):.1f} s")
        click.echo(f"    config: {json.dumps(r['config'], ensure_ascii=False)[:200]}")


@main.command("export")
@click.option("--db", default="dedup.sqlite", show_default=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--run", "run_id", type=click.IntRange(min=1), help="The run whose lists to write (default: the latest).")
@click.option("--out", default="out", show_default=True, type=click.Path(file_okay=False))
def export_cmd(db, run_id, out):
    """Write a run's lists again from the database (new and changed topics, rejected and flagged rows).

    \b
    Example:
      dedup export --db dedup.sqlite --run 12 --out out
    """
    from dedup.batch.pipeline import export_run

    try:
        with database_errors():
            paths = export_run(db, out, run_id)
    except OSError as exc:
        raise DedupError(f"{out}: cannot write the exports ({exc.strerror or exc})", EXIT_OUTPUT) from exc
    click.echo(f"wrote {', '.join(str(p) for p in paths.values())}")


@main.command()
@click.option("--db", default="dedup.sqlite", show_default=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--before", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Items received before this date (YYYY-MM-DD) lose their raw texts.")
def purge(db, before):
    """Mask the raw texts (content, title) of items received before a date: the end of their retention.

    \b
    Example:
      dedup purge --db dedup.sqlite --before 2019-01-01
    """
    from dedup.storage.store import Store, run_lock

    with database_errors(), run_lock(Path(db)):
        store = Store(db)
        changed = store.purge_raw(before.strftime("%Y-%m-%d 00:00:00"))
        store.close()
    click.echo(f"masked the raw texts of {changed} items received before {before:%Y-%m-%d}")


@main.command()
@click.option("--db", default="dedup.sqlite", show_default=True, type=click.Path(exists=True, dir_okay=False))
def status(db):
    """Summarise the database."""
    from dedup.storage.store import Store

    with database_errors():
        store = Store(db, readonly=True)
        counts = store.counts()
        store.close()
    for key, value in counts.items():
        click.echo(f"{key:14s} {value}")


if __name__ == "__main__":
    program()
