"""Commands for staff looking into topics: explain a pair, pairs to label, a topic and its members."""


from __future__ import annotations

from pathlib import Path

import click

from dedup.cli.base import (
    database_errors,
    main,
)


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


