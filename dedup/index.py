"""The persisted LSH index beside the database: signatures and band keys of stored texts.

Only topic centres are indexed: a new text can join a stored topic only
through its centre. Each night appends one segment (a folder of .npy files
for the centres it created); a rebuild writes a single segment. Centres that
a merge demoted stay in their segment and are skipped at lookup. Segments are written before the
night's transaction commits, and the database names the segments in use, so
a crash leaves either the old list or the new one; folders no list names are
removed by the next run. Lookups memory-map the arrays, so a night reads the
pages it needs, not the whole index.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .candidates import band_keys
from .verify import codes_compatible


def index_root(db_path: Path) -> Path:
    return Path(str(db_path) + ".index")


@dataclass
class Segment:
    path: Path
    node_ids: np.ndarray       # (n,) sorted node ids of this segment's rows
    sig: np.ndarray            # (n, num_perm) uint32, row k belongs to node_ids[k]
    places: np.ndarray         # (3, n) place codes (see verify.place_codes)
    keys: np.ndarray           # (bands, n) uint64 band keys, each row sorted
    rows: np.ndarray           # (bands, n) segment rows in the order of keys

    @property
    def count(self) -> int:
        return len(self.node_ids)


def write_segment(root: Path, name: str, node_ids: np.ndarray, sig: np.ndarray, places: np.ndarray,
                  bands: int, rows: int) -> Path:
    """Write a segment for these nodes (topic centres) and their signatures; returns its folder."""
    folder = root / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    order = np.argsort(node_ids, kind="stable")
    node_ids, sig, places = node_ids[order], sig[order], places[:, order]
    keys = np.empty((bands, len(sig)), dtype=np.uint64)
    positions = np.empty((bands, len(sig)), dtype=np.int64)
    for band in range(bands):
        k = band_keys(sig, band, rows)
        by_key = np.argsort(k, kind="stable")
        keys[band] = k[by_key]
        positions[band] = by_key
    for file, array in (("nodes", node_ids), ("sig", sig), ("places", places), ("keys", keys), ("rows", positions)):
        np.save(folder / f"{file}.npy", array)
    (folder / "segment.json").write_text(json.dumps({"count": int(len(sig))}))
    return folder


def read_segment(folder: Path) -> Segment:
    def load(name: str) -> np.ndarray:
        return np.load(folder / f"{name}.npy", mmap_mode="r")

    return Segment(folder, load("nodes"), load("sig"), load("places"), load("keys"), load("rows"))


class Index:
    """The segments a database names, opened for lookups."""

    def __init__(self, root: Path, names: list[str]) -> None:
        self.root = root
        self.names = list(names)
        self.segments = [read_segment(root / name) for name in names]

    def signatures(self, node_ids: np.ndarray) -> np.ndarray:
        """Signatures of indexed nodes, in the order asked."""
        out = None
        for seg in self.segments:
            if out is None:
                out = np.zeros((len(node_ids), seg.sig.shape[1]), dtype=np.uint32)
            pos = np.searchsorted(seg.node_ids, node_ids)
            hit = (pos < seg.count) & (np.asarray(seg.node_ids)[np.minimum(pos, seg.count - 1)] == node_ids) \
                if seg.count else np.zeros(len(node_ids), bool)
            if hit.any():
                out[hit] = seg.sig[pos[hit]]
        return out if out is not None else np.empty((0, 0), np.uint32)

    def lookup(self, keys: np.ndarray, places: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Unique pairs (query row, indexed node) that share a band key.

        ``keys`` is (bands, m). With ``places`` ((3, m) codes), pairs the place
        veto would refuse are dropped before anything is read from the database.
        """
        codes_found = []
        for seg in self.segments:
            for band in range(keys.shape[0]):
                stored = seg.keys[band]
                lo = np.searchsorted(stored, keys[band], side="left")
                hi = np.searchsorted(stored, keys[band], side="right")
                counts = hi - lo
                if not counts.any():
                    continue
                query = np.repeat(np.arange(keys.shape[1]), counts)
                offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
                row = np.asarray(seg.rows[band][np.repeat(lo, counts) + offsets])
                if places is not None:
                    ok = codes_compatible(places[:, query], np.asarray(seg.places)[:, row])
                    query, row = query[ok], row[ok]
                codes_found.append(query.astype(np.int64) * (1 << 40) + np.asarray(seg.node_ids)[row])
        if not codes_found:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        codes = np.unique(np.concatenate(codes_found))
        return codes >> 40, codes & ((1 << 40) - 1)


def remove_unlisted(root: Path, names: list[str]) -> None:
    """Delete segment folders that no committed run names (left by a crash)."""
    if root.exists():
        for folder in root.iterdir():
            if folder.is_dir() and folder.name not in names:
                shutil.rmtree(folder, ignore_errors=True)
