"""The run's memory budget: refuse, before anything is stored, a run that would not fit.

A run's peak memory (all its processes together, PSS) is checked twice against
``run.memory_budget``. Before any row is read (``check``): the items and texts
held while preparing take about ``PREPARED_PER_INPUT_BYTE`` times the input's
size, so an export that could not even be prepared is refused at once. Once the
items are normalised and segmented, still before anything is stored
(``check_prepared``): what the process holds now, plus what clustering adds per
distinct text (signature, its transposed copy, band buckets, shingle hashes),
the bounded slice of candidate pairs (``joins.Bounds``), and the model's and
writer's processes. The constants are measured (``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

BASE_BYTES = 100 << 20        # the interpreter and the libraries, before any row
PREPARED_PER_INPUT_BYTE = 6.0  # held once prepared, per byte of export (5.2 measured on the stress shapes)
SIDE_PROCESSES = 300 << 20    # the department model's process and the database writer's own pages
PAIR_BYTES = 64               # bytes per raw candidate pair held at once (its code, a sort, gathers)


class BudgetError(Exception):
    """The run would need more memory than ``run.memory_budget``."""


def input_bytes(paths: Sequence[Path]) -> int:
    """The inputs' size as reading them costs: an XLSX counts as its expanded XML (a 1.5 MB workbook can
    expand to 1.5 GB, and its shared strings are held whole)."""
    total = 0
    for path in map(Path, paths):
        if not path.is_file():
            continue
        total += path.stat().st_size
        if path.suffix.lower() == ".xlsx":
            try:
                with zipfile.ZipFile(path) as archive:
                    total = total - path.stat().st_size + sum(m.file_size for m in archive.infolist())
            except (zipfile.BadZipFile, OSError):
                pass  # ingest names the damage
    return total


def estimate(n_bytes: int) -> int:
    """Estimated memory, in bytes, to hold inputs of ``n_bytes`` once prepared."""
    return int(BASE_BYTES + PREPARED_PER_INPUT_BYTE * n_bytes)


def check(paths: Sequence[Path], budget: int) -> int:
    """The estimate for these inputs; raises ``BudgetError`` with what to do when it is over ``budget``."""
    n_bytes = input_bytes(paths)
    need = estimate(n_bytes)
    if need > budget:
        raise BudgetError(_advice(f"the inputs ({n_bytes / 2**20:,.0f} MiB)", need, budget))
    return need


def check_prepared(held: int, nodes: int, shingles: int, num_perm: int, bands: int, chunk: int,
                   budget: int) -> int:
    """The run's estimated peak once its ``nodes`` distinct texts (``shingles`` in all) are prepared and
    the process holds ``held`` bytes; raises ``BudgetError`` when it is over ``budget``."""
    per_node = 8 * num_perm + 16 * bands + 400       # signature and its columns, buckets and tops, numbering
    need = held + nodes * per_node + 8 * shingles + chunk * PAIR_BYTES + SIDE_PROCESSES
    if need > budget:
        raise BudgetError(_advice(f"{nodes:,} distinct texts", need, budget))
    return need


def held_bytes() -> int:
    """This process's resident memory now (Linux: /proc/self/statm; 0 where unknown)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * 4096
    except (OSError, ValueError, IndexError):
        return 0


def _advice(what: str, need: int, budget: int) -> str:
    share = budget / need
    return (f"{what} need an estimated {need / 2**30:.1f} GiB, above run.memory_budget ({budget / 2**30:.1f} GiB): "
            f"split the export into runs of about {share:.0%} of it or less (later runs add to the same topics), "
            "or raise run.memory_budget with --set run.memory_budget=8GiB on a machine that has the memory")


def pair_chunk(configured: int, budget: int) -> int:
    """Raw candidate pairs held at once: the configured chunk, or less where the budget asks for it."""
    planned = max(1 << 16, budget // 8 // PAIR_BYTES)
    return min(configured, planned) if configured else planned
