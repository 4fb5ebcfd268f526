"""What keeps the database safe to open: the errors a caller sees, the checks made before SQLite opens a
path it would quietly take for a new database, and the lock that lets one run at a time write."""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DatabaseError = sqlite3.DatabaseError  # a damaged or foreign file, a full disk: what callers catch


class StoreError(Exception):
    """The database cannot be used as asked (locked, newer schema, not a dedup database)."""


class NotFound(StoreError):
    """An id or run the user asked for is not in the database (a usage error, not damage)."""


def _refuse_unsafe(path: Path, readonly: bool) -> None:
    """Refuse a database path that SQLite would quietly take for a new, empty database: a 0-byte file
    (a database cut to nothing), or no file where its index folder shows there was one."""
    if path.exists() and not path.is_file():
        raise StoreError(f"{path}: not a regular file")
    index = Path(str(path) + ".index")
    if path.is_file() and path.stat().st_size == 0:
        raise StoreError(f"{path}: the file is empty (0 bytes), not a database; restore it from a backup, or "
                         "remove it" + (f" and {index}" if index.exists() else "") + " to start a new database")
    if not readonly and path.is_file() and not os.access(path, os.W_OK):
        raise StoreError(f"{path}: the database is read-only; a run must be able to write it")
    if not readonly and not os.access(path.parent if str(path.parent) else Path("."), os.W_OK | os.X_OK) \
            and path.parent.exists():
        raise StoreError(f"{path}: its folder is not writable (SQLite writes its journal beside the database)")
    if not path.exists():
        if readonly:
            raise StoreError(f"{path}: no such database")
        if index.exists() and any(index.iterdir()):
            raise StoreError(f"{path}: the database is missing but its index {index} is there; restore the "
                             f"database, or remove {index} to start a new one")


def _hot_journal(path: Path) -> bool:
    """Whether a rollback journal is beside the database with no run holding the lock: a run was cut off
    mid-commit, and only a writer can roll it back (a read-only open cannot)."""
    journal = Path(str(path) + "-journal")
    try:
        if journal.stat().st_size == 0:
            return False
    except FileNotFoundError:
        return False
    lock_path = Path(str(path) + ".lock")
    if not lock_path.exists():
        return True
    with open(lock_path) as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a run is committing now: its journal is not hot, and a reader waits for it
        fcntl.flock(fh, fcntl.LOCK_UN)
    return True


@contextmanager
def run_lock(db_path: Path) -> Iterator[None]:
    """Hold an exclusive lock for one run; a second run fails at once instead of waiting."""
    lock_path = Path(str(db_path) + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise StoreError(f"{db_path}: another dedup run is using this database; try again when it ends") from exc
        fh.write(str(os.getpid()))
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
