"""The persisted LSH index beside the database: signatures and band keys of stored texts.

Each night appends one segment (a folder of .npy files for the texts it
added); a rebuild writes a single segment. Segments are written before the
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


def index_root(db_path: Path) -> Path:
    return Path(str(db_path) + ".index")


@dataclass
class Segment:
    path: Path
    first_node: int
    sig: np.ndarray            # (n, num_perm) uint32, row k is node first_node + k
    keys: np.ndarray           # (bands, n) uint64 band keys, each row sorted
    nodes: np.ndarray          # (bands, n) node ids in the order of keys

    @property
    def count(self) -> int:
        return len(self.sig)


def write_segment(root: Path, name: str, first_node: int, sig: np.ndarray, bands: int, rows: int) -> Path:
    """Write a segment for nodes first_node.. with these signatures; returns its folder."""
    folder = root / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    keys = np.empty((bands, len(sig)), dtype=np.uint64)
    nodes = np.empty((bands, len(sig)), dtype=np.int64)
    for band in range(bands):
        k = band_keys(sig, band, rows)
        order = np.argsort(k, kind="stable")
        keys[band] = k[order]
        nodes[band] = first_node + order
    np.save(folder / "sig.npy", sig)
    np.save(folder / "keys.npy", keys)
    np.save(folder / "nodes.npy", nodes)
    (folder / "segment.json").write_text(json.dumps({"first_node": first_node, "count": len(sig)}))
    return folder


def read_segment(folder: Path) -> Segment:
    meta = json.loads((folder / "segment.json").read_text())
    load = lambda name: np.load(folder / name, mmap_mode="r")  # noqa: E731
    return Segment(folder, meta["first_node"], load("sig.npy"), load("keys.npy"), load("nodes.npy"))


class Index:
    """The segments a database names, opened for lookups."""

    def __init__(self, root: Path, names: list[str]) -> None:
        self.root = root
        self.names = list(names)
        self.segments = [read_segment(root / name) for name in names]

    def signatures(self, node_ids: np.ndarray) -> np.ndarray:
        out = None
        for seg in self.segments:
            inside = (node_ids >= seg.first_node) & (node_ids < seg.first_node + seg.count)
            if out is None:
                out = np.empty((len(node_ids), seg.sig.shape[1]), dtype=np.uint32)
            if inside.any():
                out[inside] = seg.sig[node_ids[inside] - seg.first_node]
        return out if out is not None else np.empty((0, 0), np.uint32)

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pairs (query row, stored node) sharing a band key; ``keys`` is (bands, m)."""
        rows, found = [], []
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
                rows.append(query)
                found.append(np.asarray(seg.nodes[band][np.repeat(lo, counts) + offsets]))
        if not rows:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        n = max(1, int(max(f.max() for f in found)) + 1)
        codes = np.unique(np.concatenate(rows).astype(np.int64) * n + np.concatenate(found))
        return codes // n, codes % n


def remove_unlisted(root: Path, names: list[str]) -> None:
    """Delete segment folders that no committed run names (left by a crash)."""
    if root.exists():
        for folder in root.iterdir():
            if folder.is_dir() and folder.name not in names:
                shutil.rmtree(folder, ignore_errors=True)
