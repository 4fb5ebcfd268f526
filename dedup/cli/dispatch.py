"""Commands for dispatching topics to units as work orders and following the orders."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from pathlib import Path

import click

from dedup.cli.base import EXIT_INPUT, EXIT_OUTPUT, EXIT_USAGE, DedupError, _config, database_errors, main, with_config


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
            try:  # the sheets' folder first: orders are not made when their sheets cannot be written
                Path(out).mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DedupError(f"{out}: cannot make the folder for the sheets ({exc.strerror or exc}); no order "
                                 "was made", EXIT_USAGE) from exc
            result = orders.dispatch(store, when, calendar, config.dispatch, config.classify.review_below,
                                     include_all)
        finally:
            store.close()
        try:
            written = orders.write_sheets(result, Path(out), config.dispatch)
        except OSError as exc:
            raise DedupError(f"{out}: the day's orders are stored but their sheets could not be written "
                             f"({exc.strerror or exc}); free the space and run `dedup dispatch --date {when}` "
                             "again to list them", EXIT_OUTPUT) from exc
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


@main.command("feedback")
@click.argument("replies", type=click.Path(exists=True, dir_okay=False))
@click.option("--db", default="dedup.sqlite", show_default=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--rejects", default="feedback_rejected.csv", show_default=True, type=click.Path(dir_okay=False),
              help="Where the rows that could not be imported are listed, with their reasons.")
def feedback_command(replies, db, rejects):
    """Import the units' replies (CSV or XLSX: order id, 办理结果, 答复内容, 办结时间, 审核领导, optional 满意度).

    Good rows complete their orders in one transaction; bad rows are listed in --rejects.

    \b
    Example:
      dedup feedback replies-2019-03-12.xlsx --db dedup.sqlite
    """
    from dedup.dispatch.feedback import FeedbackError, import_replies
    from dedup.io.export import write_csv
    from dedup.io.readers import IngestError
    from dedup.storage.store import Store

    with order_errors():
        store = Store(Path(db))
        try:
            result = import_replies(store, Path(replies))
        except (FeedbackError, IngestError) as exc:
            raise DedupError(f"{exc} (nothing was imported)", EXIT_INPUT) from exc
        finally:
            store.close()
    write_csv(Path(rejects), ["file", "line", "order_id", "reason"], result.rejected)
    click.echo(f"{result.replies} replies imported ({result.visits} with a follow-up call); "
               f"{len(result.rejected)} rows refused, listed in {rejects}")


@main.command("report")
@click.option("--db", default="dedup.sqlite", show_default=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--period", required=True, help="FIRST:LAST, two dates (YYYY-MM-DD), both included.")
@click.option("--out", default="report", show_default=True, type=click.Path(file_okay=False))
@with_config
def report_command(db, period, out, config_file, sets):
    """Rates per unit over a period and the next numbered bulletin (HTML, XLSX, PNG), with a publication
    export of topics and replies with personal data removed.

    \b
    Example:
      dedup report --db dedup.sqlite --period 2019-03-01:2019-04-30 --out report/
    """
    from dedup.dispatch.report import Period, bulletin
    from dedup.storage.store import Store

    try:
        span = Period.parse(period)
    except ValueError as exc:
        raise DedupError(str(exc), EXIT_USAGE) from exc
    config = _config(config_file, sets)
    with order_errors():
        store = Store(Path(db))
        try:
            number, files, overall = bulletin(store, span, Path(out), config.dispatch.satisfied)
        finally:
            store.close()
    pct = lambda v: "—" if v is None else f"{v:.1%}"  # noqa: E731
    click.echo(f"bulletin {number} ({span.start} to {span.end}): {overall.get('orders', 0)} orders, 办结率 "
               f"{pct(overall.get('completion_rate'))}, 按时办结率 {pct(overall.get('on_time_rate'))}, satisfaction "
               f"{pct(overall.get('satisfaction_rate'))}")
    click.echo("wrote " + ", ".join(str(f) for f in files))
