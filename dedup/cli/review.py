"""Commands for staff deciding on topics: the review page, the same decisions for scripts, and their log."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import click

from dedup.cli.base import EXIT_USAGE, DedupError, database_errors, main

DB = click.option("--db", default="dedup.sqlite", show_default=True, type=click.Path(exists=True, dir_okay=False))
WHO = click.option("--who", required=True, help="The reviewer's name, recorded in the decisions log.")


@contextmanager
def decision_errors():
    from dedup.review.decide import DecisionError

    with database_errors():
        try:
            yield
        except DecisionError as exc:
            raise DedupError(f"{exc} (nothing was changed)", EXIT_USAGE) from exc


def _writable(db: str):
    from dedup.storage.store import Store

    return Store(Path(db))


@main.command()
@DB
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; the default is this machine only.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(1, 65535))
@click.option("--users", "users_file", type=click.Path(exists=True, dir_okay=False),
              help="CSV of name,role (viewer or reviewer): who may sign in.")
@click.option("--user", "user_name", help="Without a users file: the one person who signs in.")
@click.option("--role", default="reviewer", show_default=True, type=click.Choice(["viewer", "reviewer"]))
def review(db, host, port, users_file, user_name, role):
    """Serve the review page over the database: the queue of topics, most doubtful first, and each
    topic's members, to confirm, split, merge, re-route and undo.

    \b
    Example:
      dedup review --db dedup.sqlite --users users.csv
      then open http://127.0.0.1:8765/ in a browser
    """
    from dedup.review.app import serve
    from dedup.review.decide import Reviewer
    from dedup.review.users import UsersError, read_users

    if users_file:
        try:
            users = read_users(users_file)
        except UsersError as exc:
            raise DedupError(str(exc), EXIT_USAGE) from exc
    elif user_name:
        users = {user_name: Reviewer(user_name, role)}
    else:
        raise DedupError("name who signs in: --users FILE (name,role) or --user NAME", EXIT_USAGE)
    click.echo(f"review page for {db} on http://{host}:{port}/ (Ctrl-C stops it)")
    with database_errors():
        serve(Path(db), users, host, port)


@main.group()
def decide():
    """The review page's decisions, for scripts: each is logged with who made it, and honoured by later
    nights."""


def _reviewer(who: str):
    from dedup.review.decide import Reviewer

    return Reviewer(who, "reviewer")


@decide.command("confirm")
@click.argument("topic_id")
@DB
@WHO
def decide_confirm(topic_id, db, who):
    """Confirm a topic as it stands."""
    from dedup.review import decide as d

    with decision_errors():
        number = d.confirm(_writable(db), _reviewer(who), topic_id)
    click.echo(f"decision {number}: confirmed {topic_id}")


@decide.command("reroute")
@click.argument("topic_id")
@click.argument("unit")
@click.option("--reason", required=True)
@DB
@WHO
def decide_reroute(topic_id, unit, reason, db, who):
    """Send a topic to another unit; later nights keep it there, and `dedup decisions --history` makes it
    training history."""
    from dedup.review import decide as d

    with decision_errors():
        number = d.reroute(_writable(db), _reviewer(who), topic_id, unit, reason)
    click.echo(f"decision {number}: re-routed {topic_id} to {unit}")


@decide.command("split")
@click.argument("topic_id")
@click.argument("item_ids", nargs=-1, required=True)
@click.option("--into", default="", help="An existing topic to move them to (default: a new topic).")
@DB
@WHO
def decide_split(topic_id, item_ids, into, db, who):
    """Move members (every copy of their texts) out of a topic; a night never joins the two again."""
    from dedup.review import decide as d

    with decision_errors():
        number, target = d.split(_writable(db), _reviewer(who), topic_id, list(item_ids), into)
    click.echo(f"decision {number}: split {len(item_ids)} members of {topic_id} into {target}")


@decide.command("merge")
@click.argument("topic_id")
@click.argument("into")
@DB
@WHO
def decide_merge(topic_id, into, db, who):
    """Merge TOPIC_ID into INTO; the old id redirects."""
    from dedup.review import decide as d

    with decision_errors():
        number = d.merge(_writable(db), _reviewer(who), topic_id, into)
    click.echo(f"decision {number}: merged {topic_id} into {into}")


@decide.command("undo")
@click.argument("decision_id", type=int)
@DB
@WHO
def decide_undo(decision_id, db, who):
    """Undo a decision by a compensating one (the log keeps both)."""
    from dedup.review import decide as d

    with decision_errors():
        number = d.undo(_writable(db), _reviewer(who), decision_id)
    click.echo(f"decision {number}: undid decision {decision_id}")


@main.command()
@DB
@click.option("--csv", "csv_out", type=click.Path(dir_okay=False), help="Write the log as CSV here.")
@click.option("--history", "history_out", type=click.Path(dir_okay=False),
              help="Write the items of re-routed topics as training history (id, content, department, topic).")
def decisions(db, csv_out, history_out):
    """The decisions log (who, when, what, before and after), and re-routes as training history."""
    from dedup.io.export import write_csv
    from dedup.storage import decisions as log
    from dedup.storage.store import Store

    with database_errors():
        store = Store(Path(db), readonly=True)
        try:
            entries = log.log(store.db)
            history = log.rerouted_items(store.db) if history_out else []
        finally:
            store.close()
    columns = ["decision_id", "at", "who", "kind", "topic_id", "target", "unit", "reason", "before", "after",
               "undoes", "undone_by"]
    if csv_out:
        write_csv(Path(csv_out), columns, [[json.dumps(e[c], ensure_ascii=False) if c in ("before", "after") else
                                            ("" if e[c] is None else e[c]) for c in columns] for e in entries])
        click.echo(f"wrote {csv_out}: {len(entries)} decisions")
    if history_out:
        write_csv(Path(history_out), ["id", "content", "department", "topic"], history)
        click.echo(f"wrote {history_out}: {len(history)} items of re-routed topics, for `dedup train`")
    if not csv_out and not history_out:
        for e in entries:
            undone = f" (undone by {e['undone_by']})" if e["undone_by"] else ""
            click.echo(f"{e['decision_id']:>5} {e['at']} {e['who']}: {e['kind']} {e['topic_id']}"
                       f"{' -> ' + e['target'] if e['target'] else ''}{' -> ' + e['unit'] if e['unit'] else ''}"
                       f"{' (' + e['reason'] + ')' if e['reason'] else ''}{undone}")
