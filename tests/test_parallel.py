from dedup.parallel import SERIAL_BELOW, map_chunks


def _square(chunk):
    return [x * x for x in chunk]


def test_parallel_chunks_come_back_in_order():
    items = list(range(SERIAL_BELOW + 12_345))
    assert map_chunks(_square, items, workers=2) == [x * x for x in items]


def test_small_inputs_run_in_process():
    assert map_chunks(_square, [3, 1, 2], workers=2) == [9, 1, 4]
    assert map_chunks(_square, [], workers=2) == []
