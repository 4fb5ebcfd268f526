"""The run's memory budget: refuse, before anything is stored, a run that would not fit.

A run's peak memory (all its processes together, PSS) grows with its input:
the items and their texts, one signature row per distinct text, the LSH
buckets and a bounded number of candidate pairs per text (``cluster.Bounds``).
``estimate`` is a linear model of that peak in the input's bytes, fitted on the
stress suite's four shapes and the bundled generator at 100k to 1.28M items
(``benchmarks/RESULTS.md``), taking the largest slope measured, plus the
interpreter, numpy, scikit-learn and the department model. A run compares it
with ``run.memory_budget`` before it reads its inputs, and the clustering
plans its pair chunks from the same budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

BASE_BYTES = 450 << 20        # interpreter, numpy, scikit-learn, the model's process
BYTES_PER_INPUT_BYTE = 11.0   # the largest measured slope of peak PSS against export bytes
PAIR_BYTES = 64               # bytes per raw candidate pair held at once (its code, a sort, gathers)


class BudgetError(Exception):
    """The run would need more memory than ``run.memory_budget``."""


def input_bytes(paths: Sequence[Path]) -> int:
    return sum(Path(p).stat().st_size for p in paths if Path(p).is_file())


def estimate(n_bytes: int) -> int:
    """Estimated peak memory, in bytes, of a run over inputs of ``n_bytes``."""
    return int(BASE_BYTES + BYTES_PER_INPUT_BYTE * n_bytes)


def check(paths: Sequence[Path], budget: int) -> int:
    """The estimate for these inputs; raises ``BudgetError`` with what to do when it is over ``budget``."""
    n_bytes = input_bytes(paths)
    need = estimate(n_bytes)
    if need > budget:
        fits = max(0, int((budget - BASE_BYTES) / BYTES_PER_INPUT_BYTE))
        raise BudgetError(
            f"the inputs ({n_bytes / 2**20:,.0f} MiB) need an estimated {need / 2**30:.1f} GiB, above "
            f"run.memory_budget ({budget / 2**30:.1f} GiB): split them into runs of at most "
            f"{fits / 2**20:,.0f} MiB each (later runs add to the same topics), or raise run.memory_budget "
            "with --set run.memory_budget=8GiB on a machine that has it")
    return need


def pair_chunk(configured: int, budget: int) -> int:
    """Raw candidate pairs held at once: the configured chunk, or less where the budget asks for it."""
    planned = max(1 << 16, budget // 8 // PAIR_BYTES)
    return min(configured, planned) if configured else planned
