"""What every command shares: exit statuses and errors, configuration options, the click group and
the installed program."""


from __future__ import annotations

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


