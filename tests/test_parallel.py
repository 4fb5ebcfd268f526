import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from dedup.runtime.parallel import SERIAL_BELOW, chunk_results, in_background, map_chunks, shared_empty


def _square(chunk):
    return [x * x for x in chunk]


def test_parallel_chunks_come_back_in_order():
    items = list(range(SERIAL_BELOW + 12_345))
    assert map_chunks(_square, items, workers=2) == [x * x for x in items]


def test_small_inputs_run_in_process():
    assert map_chunks(_square, [3, 1, 2], workers=2) == [9, 1, 4]
    assert map_chunks(_square, [], workers=2) == []


def test_chunk_results_come_in_order_with_their_chunks():
    items = list(range(SERIAL_BELOW + 12_345))
    parts = list(chunk_results(_square, items, workers=2))
    assert len(parts) > 1
    assert [x for chunk, _ in parts for x in chunk] == items
    assert all(part == [x * x for x in chunk] for chunk, part in parts)


def _fill(span, out):
    out[span.start:span.stop] = np.arange(span.start, span.stop) * 3
    return [len(span)]


def test_forked_workers_fill_a_shared_array():
    n = SERIAL_BELOW + 12_345
    out = shared_empty((n,), np.int64)
    assert sum(map_chunks(partial(_fill, out=out), range(n), workers=2)) == n
    assert np.array_equal(out, np.arange(n) * 3)
    assert shared_empty((0, 4), np.uint32).shape == (0, 4)


def _times_seven(x):
    return x * 7


def _fail(x):
    raise ValueError(f"bad {x}")


def test_background_call_returns_its_value():
    with in_background(_times_seven, 7) as job:
        assert job.wait() == 49
    assert job.wait() == 49  # waiting again gives the same value


def test_background_call_is_abandoned_when_the_block_fails():
    with pytest.raises(KeyError):
        with in_background(time.sleep, 30) as job:
            raise KeyError("stop")
    assert job.child is None or not job.child.is_alive()


def test_background_call_raises_in_parent():
    with pytest.raises(ValueError, match="bad 3"):
        with in_background(_fail, 3):
            pass


def _alive(pid: int) -> bool:
    """Running, not a zombie left for a reaper."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux's")
@pytest.mark.parametrize("spawn", [
    "with in_background(time.sleep, 60) as job:\n    print(job.child.pid, flush=True)\n    time.sleep(60)\n",
    "with RouterLoader(MODEL) as loader:\n    print(loader.process.pid, flush=True)\n    time.sleep(60)\n",
])
def test_forked_processes_die_with_a_killed_run(spawn):
    """kill -9 of a run must not leave workers holding its lock."""
    code = ("import time\nfrom dedup.routing.classify import RouterLoader\nfrom dedup.runtime.parallel import in_background\n"
            f"MODEL = {str(Path(__file__).parents[1] / 'models' / 'department.joblib')!r}\n" + spawn)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    child = int(proc.stdout.readline())
    assert _alive(child)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)
