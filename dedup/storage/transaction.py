"""One run's writes in one SQLite transaction, begun before the run has decided everything: in a forked
process with a connection of its own (a full run's rows go in while it clusters), or in-process."""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
from collections.abc import Callable
from multiprocessing.reduction import ForkingPickler

from dedup.runtime.parallel import can_fork, die_with_parent, receive_outcome, send_outcome
from dedup.storage.store import Store, StoreError

_BULK_CACHE_KIB = 32 * 1024


class Transaction:
    """One run's writes in one transaction, begun before the run has decided everything.

    ``body(store, con, later)`` writes inside the transaction and calls
    ``later(kind)`` for each message the run sends, in order (the last one with
    ``commit`` or ``send``), naming the type it expects: a message of another type
    stops the transaction; it commits when ``body`` returns. With
    ``ahead``, a forked process with a connection of its own runs ``body`` at once
    (a full run's nodes are inserted while it clusters, its million items while it
    summarises and routes); the run must not touch the database until ``result``
    (or ``commit``) returns. A body that raises, ``abandon()`` before the last
    ``send``, or a run that dies (the process dies with it) rolls everything back.
    Otherwise, and where fork is unavailable, ``result`` runs ``body`` on
    ``store``'s connection with the messages sent.
    """

    def __init__(self, store: Store, body: Callable, ahead: bool = False) -> None:
        self.store, self.body = store, body
        self.conn = self.child = None
        self._sending: threading.Thread | None = None  # a message still going into the writer's pipe
        self._messages: list = []
        self._committed, self._value = False, None
        if ahead and can_fork():
            ctx = mp.get_context("fork")
            self.conn, theirs = ctx.Pipe()
            self.child = ctx.Process(target=self._serve, args=(theirs, os.getpid()), daemon=True)
            self.child.start()
            theirs.close()

    def _write(self, store: Store, later: Callable):
        with store.transaction() as con:
            return self.body(store, con, later)

    def _serve(self, conn, parent: int) -> None:
        die_with_parent(parent)
        try:
            store = Store(self.store.path)  # never the parent's connection: SQLite's must not cross a fork
            # rows go in in key order and the pages filled are new: a small cache is as fast (measured at
            # 1.28M rows: 16.8 s against 18.0 s with 256 MiB) and its copy of the run's memory stays small
            store.db.execute(f"PRAGMA cache_size={-_BULK_CACHE_KIB}")
            try:
                send_outcome(conn, True, self._write(store, lambda kind=None: _sent(conn, kind)))
            finally:
                store.close()
        except BaseException as exc:
            send_outcome(conn, False, exc)

    def commit(self, message):
        """Hand ``later()`` its answer; ``body``'s return value once committed, or its exception."""
        self.send(message)
        return self.result()

    def send(self, message) -> None:
        """Hand ``later()`` its next answer. After the last, the transaction commits unless it fails
        itself: a forked writer goes on while the caller works; in-process, it runs at ``result``."""
        if self.child is None:
            self._messages.append(message)
            return
        # the pipe holds 64 KiB and the writer reads a message only when it has written what came
        # before it: a thread feeds it, so that the run goes on (its topics: 60 MB, 1.3 s at 1.28M)
        self._wait_sent()
        data = ForkingPickler.dumps(message)
        self._sending = threading.Thread(target=self._send_bytes, args=(data,), daemon=True)
        self._sending.start()

    def _send_bytes(self, data) -> None:
        try:
            self.conn.send_bytes(data)
        except OSError:  # it failed before asking; its outcome says why
            pass

    def _tell(self, control: str) -> None:
        """A small control message, once any message still going in has gone."""
        self._wait_sent()
        self._send_bytes(ForkingPickler.dumps(control))

    def _wait_sent(self) -> None:
        if self._sending is not None:
            self._sending.join()
            self._sending = None

    def result(self):
        """``body``'s return value once committed (the same value if asked again), or its exception."""
        if self._committed:
            return self._value
        if self.conn is None:  # in-process: the body runs now
            self._value = self._write(self.store, _answers(self._messages))
        else:
            self._tell(_NO_MORE)  # a body that asks for another message fails rather than waits
            try:
                self._value = receive_outcome(self.conn, self.child, f"writing {self.store.path}")
            finally:
                self._end()
        self._committed = True
        return self._value

    def abandon(self) -> None:
        """Roll back (a no-op once committed)."""
        if self.child is None:
            return
        self._tell(_ABANDONED)
        self.child.join(timeout=60)
        if self.child.is_alive():
            self.child.kill()
        self._end()

    def _end(self) -> None:
        self.child.join()
        self.conn.close()
        self.child = None


_ABANDONED = "abandoned"
_NO_MORE = "no more messages"
_ASKED_TOO_MUCH = "the transaction asked for more than the run sent; nothing was written"


def _expected(message, kind: type | None):
    """The message, if it is of the type the body asked for."""
    if kind is not None and not isinstance(message, kind):
        raise StoreError(f"the transaction expected {kind.__name__} and the run sent {type(message).__name__}; "
                         "nothing was written")
    return message


def _answers(messages: list) -> Callable:
    """``later`` for a body run in-process: the messages sent, in order."""
    answers = iter(messages)

    def later(kind: type | None = None):
        try:
            return _expected(next(answers), kind)
        except StopIteration:
            raise StoreError(_ASKED_TOO_MUCH) from None

    return later


def _sent(conn, kind: type | None = None):
    message = conn.recv()  # EOFError if the run is gone: rolled back
    if isinstance(message, str) and message == _ABANDONED:
        raise StoreError("the run stopped before it committed; nothing was written")
    if isinstance(message, str) and message == _NO_MORE:
        raise StoreError(_ASKED_TOO_MUCH)
    return _expected(message, kind)


