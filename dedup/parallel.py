"""Spread per-text work over the machine's cores.

Work goes to forked worker processes in large contiguous chunks, which they
inherit through the fork rather than receive pickled, and results come back
in input order, so a parallel run gives exactly what a serial one
gives. Small inputs run in-process: starting workers costs more than it saves.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

SERIAL_BELOW = 20_000
_JOB: tuple[Callable, list] | None = None


def die_with_parent(parent: int) -> None:
    """Have Linux kill this forked process when ``parent`` dies.

    A run killed with kill -9 must not leave workers behind: they would hold
    the run's lock file (a flock shared through fork) and keep the next night
    out. Elsewhere this does nothing.
    """
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before we asked
        os._exit(1)


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def map_chunks(func: Callable[[Sequence[T]], list[R]], items: Sequence[T], workers: int = 0,
               progress: str | None = None, serial: bool | None = None, pieces: int = 8) -> list[R]:
    """``func`` applied to contiguous chunks of ``items``, results concatenated in order.

    With ``progress``, a bar named by it counts items as chunks finish.
    ``serial`` forces the choice that is otherwise made by the number of
    items; each worker gets about ``pieces`` chunks.
    """
    workers = workers or default_workers()
    if serial is None:
        serial = len(items) < SERIAL_BELOW
    serial = serial or workers <= 1 or "fork" not in mp.get_all_start_methods()
    pieces = 1 if serial else workers * pieces
    size = max(1, -(-len(items) // pieces))
    chunks = [items[k:k + size] for k in range(0, len(items), size)]
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(items), desc=progress, unit="text", mininterval=0.5, leave=False)
    out: list[R] = []
    try:
        if serial:
            results = map(func, chunks)
            for chunk, part in zip(chunks, results):
                out.extend(part)
                if bar:
                    bar.update(len(chunk))
            return out
        global _JOB
        _JOB = (func, chunks)  # forked workers inherit the function and the chunks: only results are pickled
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork"),
                                 initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
            for chunk, part in zip(chunks, pool.map(_run_chunk, range(len(chunks)))):
                out.extend(part)
                if bar:
                    bar.update(len(chunk))
        return out
    finally:
        _JOB = None
        if bar:
            bar.close()


def _run_chunk(k: int) -> list:
    func, chunks = _JOB
    return func(chunks[k])


class Background:
    """A call running in a forked process (or, without fork, run when first waited for)."""

    def __init__(self, func: Callable[..., R], *args) -> None:
        self.func, self.args = func, args
        self.child = self.receive = None
        self._done, self._result = False, None
        if "fork" in mp.get_all_start_methods():
            ctx = mp.get_context("fork")
            self.receive, send = ctx.Pipe(duplex=False)
            self.child = ctx.Process(target=_call_and_send, args=(send, os.getpid(), func, args), daemon=True)
            self.child.start()
            send.close()

    def wait(self) -> R:
        """The call's return value; its exception, if it raised one."""
        if not self._done:
            self._done = True
            if self.child is None:
                self._result = self.func(*self.args)
            else:
                try:
                    ok, value = self.receive.recv()
                except EOFError:
                    self.child.join()
                    name = getattr(self.func, "__name__", self.func)
                    raise RuntimeError(f"{name} died in its worker (exit {self.child.exitcode})") from None
                self.child.join()
                if not ok:
                    raise value
                self._result = value
        return self._result

    def stop(self) -> None:
        """Abandon the call."""
        self._done = True
        if self.child is not None and self.child.is_alive():
            self.child.terminate()
            self.child.join()


def _call_and_send(conn, parent: int, func: Callable, args: tuple) -> None:
    die_with_parent(parent)
    try:
        conn.send((True, func(*args)))
    except BaseException as exc:  # the parent re-raises it
        conn.send((False, exc))
    finally:
        conn.close()


@contextmanager
def in_background(func: Callable[..., R], *args) -> Iterator[Background]:
    """Run ``func(*args)`` in a forked process while the block runs; waited for at its end.

    Its exception, if any, is raised by ``wait()`` or when the block ends; if
    the block fails, the call is abandoned.
    """
    job = Background(func, *args)
    try:
        yield job
    except BaseException:
        job.stop()
        raise
    job.wait()
