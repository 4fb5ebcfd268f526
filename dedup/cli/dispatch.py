"""Commands for dispatching topics to units as work orders and following the orders."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from pathlib import Path

import click

from dedup.cli.base import EXIT_USAGE, DedupError, _config, database_errors, main, with_config


@contextmanager
def order_errors():
    from dedup.dispatch.states import TransitionError
    from dedup.dispatch.workdays import CalendarError

    with database_errors():
        try:
            yield
        except (TransitionError, CalendarError) as exc:
            raise DedupError(f"{exc} (nothing was changed)", EXIT_USAGE) from exc


def _calendar(config):
    from dedup.dispatch.workdays import Calendar, read_overrides

    return Calendar(read_overrides(config.dispatch.calendar) if config.dispatch.calendar else None)


def _day(value: str | None) -> dt.date:
    if not value:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise DedupError(f"--date {value!r} is not a date (YYYY-MM-DD)", EXIT_USAGE) from exc


@main.command("dispatch")
@click.option("--db", default="dedup.sqlite", show_default=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--date", "day", help="The dispatch day, YYYY-MM-DD (default: today).")
@click.option("--out", default="dispatch", show_default=True, type=click.Path(file_okay=False))
@click.option("--all", "include_all", is_flag=True,
              help="Dispatch topics below classify.review_below too, without a reviewer's confirmation.")
@click.option("--overdue", is_flag=True, help="Only list open orders due within a working day (yellow) or late (red).")
@with_config
def dispatch_command(db, day, out, include_all, overdue, config_file, sets):
    """Make one work order per topic routed that day with no open order, and write a sheet per unit.

    \b
    Example:
      dedup dispatch --db dedup.sqlite --date 2019-03-05 --out dispatch/
      dedup dispatch --db dedup.sqlite --date 2019-03-12 --overdue
    """
    from dedup.dispatch import orders
    from dedup.storage.store import Store

    config = _config(config_file, sets)
    when = _day(day)
    with order_errors():
        calendar = _calendar(config)
        store = Store(Path(db))
        try:
            if overdue:
                flagged = orders.flags(store, when, calendar)
                for o in flagged:
                    late = f", {o['overdue_working_days']} working days late" if o["flag"] == "red" else ""
                    click.echo(f"{o['flag']:6s} {o['unit']}  {o['order_id']}  {o['state']}  due {o['deadline']}{late}")
                click.echo(f"{sum(o['flag'] == 'red' for o in flagged)} red, "
                           f"{sum(o['flag'] == 'yellow' for o in flagged)} yellow on {when}")
                return
            result = orders.dispatch(store, when, calendar, config.dispatch, config.classify.review_below,
                                     include_all)
        finally:
            store.close()
        written = orders.write_sheets(result, Path(out), config.dispatch)
    units = len({o["unit"] for o in result.new + result.grown})
    click.echo(f"{when}: {len(result.new)} new orders, {len(result.grown)} grown, to {units} units; "
               f"{len(result.waiting)} topics wait for a reviewer")
    if result.warning:
        click.echo(f"warning: {result.warning}")
    click.echo(f"wrote {len(written)} files in {out}")


@main.command("order")
@click.argument("order_id")
@click.argument("action")
@click.option("--who", required=True, help="Who makes the transition (kept in the order's log).")
@click.option("--reason", default="", help="Required to return, extend, reject and redo.")
@click.option("--unit", default="", help="For reassign: the unit the order goes to.")
@click.option("--date", "day", help="The day of the transition, YYYY-MM-DD (default: today).")
@click.option("--db", default="dedup.sqlite", show_default=True, type=click.Path(exists=True, dir_okay=False))
@with_config
def order_command(order_id, action, who, reason, unit, day, db, config_file, sets):
    """Move a work order: receive, start, extend, approve, reject, complete, visit, archive, return,
    reassign, redo. Any other transition is refused.

    \b
    Example:
      dedup order GD2019030500001 receive --who 市城管局
      dedup order GD2019030500002 return --reason "不属于本单位职责" --who 市水利局
      dedup order GD2019030500002 reassign --unit 市城管局 --who 王芳
    """
    from dedup.dispatch import orders
    from dedup.storage.store import Store

    config = _config(config_file, sets)
    with order_errors():
        store = Store(Path(db))
        try:
            result = orders.act(store, order_id, action, who, _calendar(config), config.dispatch, reason, unit,
                                _day(day))
        finally:
            store.close()
    extra = f"; new order {result['new_order']} to {unit}" if "new_order" in result else ""
    click.echo(f"{order_id}: {result['state']} (deadline {result['deadline']}){extra}")
