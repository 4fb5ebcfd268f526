import time

import pytest

from dedup.parallel import SERIAL_BELOW, in_background, map_chunks


def _square(chunk):
    return [x * x for x in chunk]


def test_parallel_chunks_come_back_in_order():
    items = list(range(SERIAL_BELOW + 12_345))
    assert map_chunks(_square, items, workers=2) == [x * x for x in items]


def test_small_inputs_run_in_process():
    assert map_chunks(_square, [3, 1, 2], workers=2) == [9, 1, 4]
    assert map_chunks(_square, [], workers=2) == []


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
