"""Commands for operators: the nightly run, rebuild, exports again, purge, runs and status."""


from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from dedup.cli.base import (
    EXIT_OUTPUT,
    DedupError,
    _config,
    _output_folder,
    database_errors,
    main,
    run_errors,
    with_config,
)


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


