"""Spread per-text work over the machine's cores.

Work goes to forked worker processes in large contiguous chunks, which they
inherit through the fork rather than receive pickled, and results come back
in input order, so a parallel run gives exactly what a serial one
gives. Small inputs run in-process: starting workers costs more than it saves.
"""

from __future__ import annotations

import ctypes
import mmap
import multiprocessing as mp
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

import numpy as np

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


_serial = os.environ.get("DEDUP_SERIAL", "") not in ("", "0")


@contextmanager
def serial(on: bool = True):
    """Within it (with ``on``), nothing forks and no helper thread starts: every stage runs in this
    process, one after another. The plain path through a run, to read first and to compare the fast
    one against (``run.serial``, or ``DEDUP_SERIAL=1``); it gives the same results, slower."""
    global _serial
    before, _serial = _serial, _serial or on
    try:
        yield
    finally:
        _serial = before


def is_serial() -> bool:
    return _serial


def can_fork() -> bool:
    return not _serial and "fork" in mp.get_all_start_methods()


def send_outcome(conn, ok: bool, value) -> None:
    """Send (ok, value) to the parent; an exception that does not pickle still says what happened."""
    try:
        conn.send((ok, value))
    except Exception:
        conn.send((False, RuntimeError(f"{type(value).__name__}: {value}")))


def receive_outcome(conn, process, name: str):
    """The value a forked process sent, or its exception raised here; a clear error if it died."""
    try:
        ok, value = conn.recv()
    except EOFError:
        process.join()
        raise RuntimeError(f"{name} died in its worker process (exit {process.exitcode})") from None
    if not ok:
        raise value
    return value


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def map_chunks(func: Callable[[Sequence[T]], list[R]], items: Sequence[T], workers: int = 0,
               progress: str | None = None, serial: bool | None = None, pieces: int = 8) -> list[R]:
    """``func`` applied to contiguous chunks of ``items``, results concatenated in order.

    With ``progress``, a bar named by it counts items as chunks finish.
    ``serial`` forces the choice that is otherwise made by the number of
    items; each worker gets about ``pieces`` chunks.
    """
    out: list[R] = []
    for _, part in chunk_results(func, items, workers, progress, serial, pieces):
        out.extend(part)
    return out


def chunk_results(func: Callable[[Sequence[T]], list[R]], items: Sequence[T], workers: int = 0,
                  progress: str | None = None, serial: bool | None = None,
                  pieces: int = 8) -> Iterator[tuple[Sequence[T], list[R]]]:
    """(chunk, ``func(chunk)``) for contiguous chunks of ``items``, in order, each as soon as it is
    done: a caller can put a part in place while the workers make the next (``map_chunks``)."""
    workers = workers or default_workers()
    if serial is None:
        serial = len(items) < SERIAL_BELOW
    serial = serial or workers <= 1 or not can_fork()
    pieces = 1 if serial else workers * pieces
    size = max(1, -(-len(items) // pieces))
    chunks = [items[k:k + size] for k in range(0, len(items), size)]
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(items), desc=progress, unit="text", mininterval=0.5, leave=False)
    try:
        if serial:
            for chunk in chunks:
                yield chunk, func(chunk)
                if bar:
                    bar.update(len(chunk))
            return
        global _JOB
        _JOB = (func, chunks)  # forked workers inherit the function and the chunks: only results are pickled
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork"),
                                 initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
            for chunk, part in zip(chunks, pool.map(_run_chunk, range(len(chunks)))):
                yield chunk, part
                if bar:
                    bar.update(len(chunk))
    finally:
        _JOB = None
        if bar:
            bar.close()


def shared_empty(shape: tuple[int, ...], dtype) -> np.ndarray:
    """An uninitialised array that forked workers fill and their parent reads, with no copy sent back
    (anonymous shared memory); an ordinary array where there is no fork.

    Shared memory gets no transparent huge pages, so random reads of it are
    slower (row gathers of a 700k x 128 signature array: 1.45x): for arrays
    read in order.
    """
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if not size or not can_fork():
        return np.empty(shape, dtype)
    return np.frombuffer(mmap.mmap(-1, size), dtype=dtype).reshape(shape)


def _run_chunk(k: int) -> list:
    func, chunks = _JOB
    return func(chunks[k])


class Background:
    """A call running in a forked process (or, without fork, run when first waited for)."""

    def __init__(self, func: Callable[..., R], *args) -> None:
        self.func, self.args = func, args
        self.child = self.receive = None
        self._done, self._result, self._error = False, None, None
        if can_fork():
            ctx = mp.get_context("fork")
            self.receive, send = ctx.Pipe(duplex=False)
            self.child = ctx.Process(target=_call_and_send, args=(send, os.getpid(), func, args), daemon=True)
            self.child.start()
            send.close()

    def wait(self) -> R:
        """The call's return value; its exception, if it raised one (every time it is asked)."""
        if not self._done:
            self._done = True
            try:
                if self.child is None:
                    self._result = self.func(*self.args)
                else:
                    self._result = receive_outcome(self.receive, self.child, getattr(self.func, "__name__", "call"))
                    self.child.join()
            except BaseException as exc:
                self._error = exc
        if self._error is not None:
            raise self._error
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
        send_outcome(conn, True, func(*args))
    except BaseException as exc:  # the parent re-raises it
        send_outcome(conn, False, exc)
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
