"""What a run will write, decided before its transaction: the record the planning steps (a full run,
a night's ``incremental.attach``) hand to the pipeline that stores it, and the index parameters a
database is built under."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dedup.config import Config
from dedup.core.candidates import bands_rows
from dedup.core.gazetteer import load_gazetteer
from dedup.core.records import Item, NodeRow
from dedup.storage.transaction import Transaction


@dataclass
class Plan:
    """Everything a run will write, decided before the transaction opens (a full run's or rebuild's is
    open already: ``writer``)."""

    node_rows: list[NodeRow]
    new_items: list[tuple[Item, int, str]]            # (item, node_id, topic_id)
    moves: dict[str, str]                             # topic -> topic its items now belong to
    affected: set[str]                                # topics whose summary is recomputed
    indexed: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # new centres: node ids, signatures, places
    replace_index: bool = False
    stats: dict = field(default_factory=dict)
    full: object | None = None                        # a full run or rebuild: its rows (writes.FullRows)
    writer: Transaction | None = None                 # its transaction, begun before it clustered
    known: set[str] = field(default_factory=set)      # its topic ids already stored (a rebuild keeps ids)
    boilerplate: list[int] | None = None              # the shingles left out, as the index keeps them


# The messages a run sends its transaction (``storage.transaction.Transaction``), each of its own type: the body asks
# for the type it expects next (``later(Topics)``), so a stage moved in the run and not in the body
# stops with an error naming both, instead of being read as another message.

@dataclass(frozen=True)
class BeginNodes:
    """A full run is about to cluster: write every node now."""


@dataclass(frozen=True)
class BeginItems:
    """A full run has clustered: write every item now (an item's topic is its node's)."""


@dataclass(frozen=True)
class Decided:
    """A full run's topic id per cluster, cluster per node and centre per cluster."""

    ids: list
    node_topic: np.ndarray
    centre_node: np.ndarray


@dataclass(frozen=True)
class Topics:
    """The topics to store, the merges, the rejected and flagged rows, and the index's new segment list."""

    records: list
    merged: dict
    rejected: list
    flagged: list
    new_index: str | None


@dataclass(frozen=True)
class Finish:
    """The run's record, sent once the index segment is written: then the transaction commits."""

    finished: str
    counts: dict
    timings: dict


def index_params(config: Config) -> dict:
    """The settings an index is built under; a night refuses to add to an index built under others. The
    gazetteer is named by its content's SHA-256: a place word added to it changes how texts are cut."""
    bands, rows = bands_rows(config)
    return {"num_perm": config.sign.num_perm, "seed": config.sign.seed, "shingle": config.sign.shingle,
            "ngram": config.sign.ngram, "bands": bands, "rows": rows, "boilerplate": config.sign.boilerplate,
            "entities": config.sign.entities, "gazetteer": load_gazetteer(config.places.gazetteer).sha256}
