"""The persisted LSH index beside the database: signatures and band keys of stored texts.

Only topic centres are indexed: a new text can join a stored topic only
through its centre. Each night appends one segment (a folder of .npy files
for the centres it created); a rebuild writes a single segment. Centres that
a merge demoted stay in their segment and are skipped at lookup. Segments are written before the
night's transaction commits, and the database names the segments in use, so
a crash leaves either the old list or the new one; folders no list names are
removed by the next run. Lookups memory-map the arrays, so a night reads the
pages it needs, not the whole index. Each segment records its files' sizes and
CRC-32s; a night checks them before it uses the segment, and a damaged or
missing one stops the run (``IndexDamaged``: run ``dedup rebuild``).

Band keys are also kept keyed by the finest place (estate, village or road),
as in a full run's candidate join: the same complaint at 5,000 estates fills
one bucket, and a new text that names an estate needs only that estate's
centres and those naming none. The place veto would refuse the rest anyway.
"""

from __future__ import annotations

import json
import shutil
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dedup.core.candidates import band_keys
from dedup.core.verify import codes_compatible
from dedup.runtime.arrays import run_positions, stable_order, stable_sort, unique
from dedup.storage.store import StoreError

_MIX = np.uint64(0x9E3779B97F4A7C15)


class IndexDamaged(StoreError):
    """A segment the database names is missing, cut short or altered."""


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
    placed_keys: np.ndarray    # (bands, p) keys of the rows naming a finest place, keyed by it, sorted
    placed_rows: np.ndarray    # (bands, p) their rows
    open_keys: np.ndarray      # (bands, n - p) plain keys of the rows naming no finest place, sorted
    open_rows: np.ndarray      # (bands, n - p) their rows

    @property
    def count(self) -> int:
        return len(self.node_ids)


def keyed(keys: np.ndarray, finest: np.ndarray) -> np.ndarray:
    """Band keys mixed with a place code: equal only for an equal key and an equal place."""
    with np.errstate(over="ignore"):
        return (keys * _MIX) ^ finest.astype(np.uint64)


def _sorted_tables(keys: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each band's keys sorted, with the rows they belong to."""
    sorted_keys, sorted_rows = np.empty_like(keys), np.empty_like(rows)
    for band, row in enumerate(keys):
        sorted_keys[band], order = stable_sort(row)
        sorted_rows[band] = rows[band][order]
    return sorted_keys, sorted_rows


def place_tables(keys: np.ndarray, rows: np.ndarray, finest: np.ndarray) -> tuple[np.ndarray, ...]:
    """From sorted (keys, rows): the keyed table of rows that name a finest place and the plain one of the rest."""
    placed = finest[rows] >= 0
    n_placed = int(placed[0].sum()) if len(placed) else 0
    p_rows = rows[placed].reshape(len(rows), n_placed)
    o_rows = rows[~placed].reshape(len(rows), -1)
    p_keys, p_rows = _sorted_tables(keyed(keys[placed].reshape(p_rows.shape), finest[p_rows]), p_rows)
    return p_keys, p_rows, keys[~placed].reshape(o_rows.shape), o_rows


def write_segment(root: Path, name: str, node_ids: np.ndarray, sig: np.ndarray, places: np.ndarray,
                  bands: int, rows: int) -> Path:
    """Write a segment for these nodes (topic centres) and their signatures; returns its folder."""
    folder = root / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    order = stable_order(node_ids)
    node_ids, sig, places = node_ids[order], sig[order], places[:, order]
    keys = np.empty((bands, len(sig)), dtype=np.uint64)
    positions = np.empty((bands, len(sig)), dtype=np.int64)
    for band in range(bands):
        k = band_keys(sig, band, rows)
        keys[band], by_key = stable_sort(k)
        positions[band] = by_key
    p_keys, p_rows, o_keys, o_rows = place_tables(keys, positions, places[2])
    for file, array in (("nodes", node_ids), ("sig", sig), ("places", places), ("keys", keys), ("rows", positions),
                        ("placed_keys", p_keys), ("placed_rows", p_rows), ("open_keys", o_keys),
                        ("open_rows", o_rows)):
        np.save(folder / f"{file}.npy", array)
    files = {path.name: {"bytes": path.stat().st_size, "crc32": file_crc(path)}
             for path in sorted(folder.glob("*.npy"))}
    (folder / "segment.json").write_text(json.dumps({"count": int(len(sig)), "files": files}))
    return folder


def file_crc(path: Path, block: int = 1 << 24) -> int:
    """CRC-32 of a file, read in blocks (zlib's runs at about 1 GB/s)."""
    crc = 0
    with open(path, "rb") as fh:
        while data := fh.read(block):
            crc = zlib.crc32(data, crc)
    return crc


def check_segment(folder: Path) -> None:
    """Raise ``IndexDamaged`` unless every file the segment recorded is there, whole and unchanged."""
    def damaged(why: str) -> IndexDamaged:
        return IndexDamaged(f"index segment {folder} is damaged ({why}); run `dedup rebuild` to write the index "
                            "again from the database")

    try:
        recorded = json.loads((folder / "segment.json").read_text())
    except FileNotFoundError:
        raise damaged("missing") from None
    except (OSError, ValueError) as exc:
        raise damaged(f"segment.json unreadable: {exc}") from None
    for name, want in (recorded.get("files") or {}).items():  # (segments written before checksums: none)
        path = folder / name
        if not path.is_file():
            raise damaged(f"{name} is missing")
        if path.stat().st_size != want["bytes"]:
            raise damaged(f"{name} holds {path.stat().st_size} bytes, {want['bytes']} were written")
        if file_crc(path) != want["crc32"]:
            raise damaged(f"{name} differs from what was written (CRC-32)")


def read_segment(folder: Path) -> Segment:
    """A segment, checked (``check_segment``) and memory-mapped."""
    check_segment(folder)

    def load(name: str) -> np.ndarray:
        try:
            return np.load(folder / f"{name}.npy", mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise IndexDamaged(f"index segment {folder} is damaged ({name}.npy: {exc}); run `dedup rebuild`") from None

    keys, rows, places = load("keys"), load("rows"), load("places")
    if (folder / "placed_keys.npy").exists():
        tables = tuple(load(name) for name in ("placed_keys", "placed_rows", "open_keys", "open_rows"))
    else:  # written before keyed tables existed: build them in memory
        tables = place_tables(np.asarray(keys), np.asarray(rows), np.asarray(places[2]))
    return Segment(folder, load("nodes"), load("sig"), places, keys, rows, *tables)


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

    def lookup(self, keys: np.ndarray, places: np.ndarray | None = None, cap: int = 0, candidates: int = 0,
               stats: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Unique pairs (query row, indexed node) that share a band key.

        ``keys`` is (bands, m). With ``places`` ((3, m) codes), pairs the place
        veto would refuse are dropped before anything is read from the database.
        The same bounds as a full run's clustering (``joins.Bounds``): with
        ``cap``, a query meets at most that many stored centres per band key in
        each segment (the oldest); with ``candidates``, only that many of all
        it meets, those sharing the most band keys with it (ties to the older).
        ``stats`` counts where they cut.
        """
        codes_found = []
        everyone = np.arange(keys.shape[1])
        if places is None:
            placed, rest = everyone[:0], everyone
        else:
            placed, rest = everyone[places[2] >= 0], everyone[places[2] < 0]
        for seg in self.segments:
            for band in range(keys.shape[0]):
                parts = [_join(seg.keys[band], seg.rows[band], keys[band, rest], rest, cap, stats)]
                if len(placed):
                    mixed = keyed(keys[band, placed], places[2, placed])
                    parts += [_join(seg.placed_keys[band], seg.placed_rows[band], mixed, placed, cap, stats),
                              _join(seg.open_keys[band], seg.open_rows[band], keys[band, placed], placed, cap, stats)]
                for query, row in parts:
                    if places is not None and len(query):
                        ok = codes_compatible(places[:, query], np.asarray(seg.places)[:, row])
                        query, row = query[ok], row[ok]
                    if len(query):
                        codes_found.append(query.astype(np.int64) * (1 << 40) + np.asarray(seg.node_ids)[row])
        if not codes_found:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        codes = np.sort(np.concatenate(codes_found))
        if not candidates:
            codes = unique(codes)
            return codes >> 40, codes & ((1 << 40) - 1)
        return _most_shared(codes, candidates, stats)


def _most_shared(codes: np.ndarray, candidates: int, stats: dict | None) -> tuple[np.ndarray, np.ndarray]:
    """Of sorted (query << 40 | node) codes, one per band key shared, each query's ``candidates`` distinct
    nodes sharing the most keys, ties to the smaller (older) node id."""
    new = np.concatenate(([True], codes[1:] != codes[:-1]))
    at = np.flatnonzero(new)
    shared = np.diff(np.append(at, len(codes)))
    codes = codes[at]
    query, node = codes >> 40, codes & ((1 << 40) - 1)
    order = np.lexsort((node, -shared, query))
    query, node = query[order], node[order]
    turn = run_positions(query)
    keep = turn < candidates
    if stats is not None:
        stats["nodes_capped"] = stats.get("nodes_capped", 0) + int((turn == candidates).sum())
        stats["pairs_dropped"] = stats.get("pairs_dropped", 0) + int((~keep).sum())
    codes = np.sort(query[keep] << 40 | node[keep])
    return codes >> 40, codes & ((1 << 40) - 1)


def _join(stored: np.ndarray, rows: np.ndarray, wanted: np.ndarray, ids: np.ndarray, cap: int = 0,
          stats: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(query id, stored row) for every stored key equal to a wanted one, at most ``cap`` rows a key (the
    first stored) when given; ``stored`` is sorted."""
    lo = np.searchsorted(stored, wanted, side="left")
    counts = np.searchsorted(stored, wanted, side="right") - lo
    if cap:
        over = counts > cap
        if stats is not None and over.any():
            stats["buckets_capped"] = stats.get("buckets_capped", 0) + int(over.sum())
        counts = np.minimum(counts, cap)
    total = int(counts.sum())
    if not total:
        return ids[:0], ids[:0]
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(ids, counts), np.asarray(rows[np.repeat(lo, counts) + offsets])


def remove_unlisted(root: Path, names: list[str]) -> None:
    """Delete segment folders that no committed run names (left by a crash)."""
    if root.exists():
        for folder in root.iterdir():
            if folder.is_dir() and folder.name not in names:
                shutil.rmtree(folder, ignore_errors=True)
