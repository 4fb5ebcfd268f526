"""A city's places and responsible units, read from a gazetteer file named in configuration.

No city lives in the code: ``places.gazetteer`` names a CSV file (one bundled,
``dedup/data/gazetteers/liaocheng.csv``, is the example and the generated sample's).
Its columns are ``name,kind,parent,aliases``:

- ``kind`` is ``county`` (a county or district: level 1), ``town`` (a street or
  town: level 2, ``parent`` its county), ``place`` (an estate, village, road or
  building: level 3; ``parent``, if given, its town or county), ``unit`` (a unit that answers suggestions) or ``city``;
- ``aliases`` are other spellings, ``|``-separated (东昌府 for 东昌府区): a text
  naming the alias names the place, so a copy that shortens a name is not another place.

Every name and alias becomes a word of the segmenter's dictionary, so a place is
one token and ``places`` can tell a county from a street. Without a gazetteer
(the default) places are found by ``entities.py`` alone, in any city.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from dedup.config import ConfigError

KINDS = {"county": 1, "town": 2, "place": 3, "unit": 0, "city": 0}
COLUMNS = ("name", "kind", "parent", "aliases")
# jieba word frequencies: a city name, then places (coarser ones first), then unit names
_FREQUENCY = {"city": 50000, 1: 25000, 2: 20000, 3: 15000, "unit": 20000}
_MAX_NAME = 40


class GazetteerError(ConfigError):
    """A gazetteer file that cannot be used, with the file and row that say why."""


def example_path() -> Path:
    """The bundled example: Liaocheng's divisions, estates, roads and units (the sample's gazetteer)."""
    return Path(str(resources.files("dedup") / "data" / "gazetteers" / "liaocheng.csv"))


@dataclass(frozen=True, eq=False)
class Gazetteer:
    """Places by level, towns' counties, aliases and units, as one file defines them."""

    path: str = ""
    sha256: str = ""
    levels: dict[str, int] = field(default_factory=dict)      # name or alias -> level (1, 2, 3)
    canonical: dict[str, str] = field(default_factory=dict)   # alias -> the name it stands for
    county_of: dict[str, str] = field(default_factory=dict)   # town -> its county, when it has exactly one
    counties: tuple[str, ...] = ()
    towns: dict[str, tuple[str, ...]] = field(default_factory=dict)  # county -> its towns, in file order
    estates: tuple[str, ...] = ()                             # level-3 names, in file order
    units: tuple[str, ...] = ()
    cities: tuple[str, ...] = ()
    _seen: dict = field(default_factory=dict, repr=False)     # token tuple -> places, shared between texts

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_seen": {}}  # a model or a worker pickles the names, not the cache

    def __bool__(self) -> bool:
        return bool(self.levels or self.units or self.cities)

    def all_units(self) -> tuple[str, ...]:
        """Units that answer suggestions: the listed units, then the county governments."""
        return self.units + tuple(c for c in self.counties if c not in self.units)

    def places(self, tokens: Iterable[str]) -> dict[int, frozenset[str]]:
        """Place names by level (1 county, 2 street/town, 3 estate/village/road), aliases read as their names.

        A street or town also names its county, so "清水镇" and "临清市" conflict.
        The result is shared between texts naming the same places: treat it as read-only.
        """
        named = tuple(filter(self.levels.__contains__, tokens))  # in C: a third faster than a generator
        if not named:
            return _NO_PLACES
        found = self._seen.get(named)
        if found is None:
            groups: dict[int, set[str]] = {}
            for token in named:
                name = self.canonical.get(token, token)
                groups.setdefault(self.levels[token], set()).add(name)
                if name in self.county_of:
                    groups.setdefault(1, set()).add(self.county_of[name])
            found = {level: frozenset(words) for level, words in groups.items()}
            if len(self._seen) < 1_000_000:  # complaints name the same few places again and again
                self._seen[named] = found
        return found

    def userdict_lines(self) -> list[str]:
        """Lines of a jieba user dictionary: word, frequency, part-of-speech tag."""
        lines = [f"{city} {_FREQUENCY['city']} ns" for city in self.cities]
        for word, level in sorted(self.levels.items(), key=lambda kv: (kv[1], kv[0])):
            lines.append(f"{word} {_FREQUENCY[level]} ns")
        lines += [f"{unit} {_FREQUENCY['unit']} nt" for unit in self.units if unit not in self.levels]
        return lines


_NO_PLACES: dict[int, frozenset[str]] = {}
EMPTY = Gazetteer()


def read_gazetteer(path: str | Path) -> Gazetteer:
    """Parse a gazetteer file; GazetteerError names the file, the row and the problem."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise GazetteerError(f"{path}: gazetteer file not found (places.gazetteer)") from None
    except OSError as exc:
        raise GazetteerError(f"{path}: cannot read the gazetteer ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise GazetteerError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    rows = csv.reader(text.splitlines())
    header = [h.strip().lower() for h in next(rows, [])]
    missing = [c for c in ("name", "kind") if c not in header]
    if missing:
        raise GazetteerError(f"{path}, row 1: the header must name the columns {', '.join(COLUMNS)} "
                             f"(missing {', '.join(missing)})")
    at = {c: header.index(c) for c in COLUMNS if c in header}
    levels: dict[str, int] = {}
    canonical: dict[str, str] = {}
    owners: dict[str, list[str]] = {}
    towns: dict[str, list[str]] = {}
    counties: list[str] = []
    estates: list[str] = []
    units: list[str] = []
    cities: list[str] = []
    town_rows: list[tuple[int, str, str]] = []
    place_rows: list[tuple[int, str, str]] = []

    def cell(row: list[str], column: str) -> str:
        k = at.get(column)
        return row[k].strip() if k is not None and k < len(row) else ""

    def add(word: str, level: int, name: str, line: int) -> None:
        if not word or len(word) > _MAX_NAME or any(c.isspace() for c in word):
            raise GazetteerError(f"{path}, row {line}: {word!r} is not a name (1 to {_MAX_NAME} characters, "
                                 "no spaces)")
        if word in levels and levels[word] != level:
            raise GazetteerError(f"{path}, row {line}: {word!r} is listed at two levels ({levels[word]} and {level})")
        if word in canonical and canonical[word] != name:
            raise GazetteerError(f"{path}, row {line}: alias {word!r} stands for both {canonical[word]!r} and {name!r}")
        levels[word] = level
        if word != name:
            canonical[word] = name

    for line, row in enumerate(rows, start=2):
        if not any(c.strip() for c in row):
            continue
        name, kind = cell(row, "name"), cell(row, "kind").lower()
        if kind not in KINDS:
            raise GazetteerError(f"{path}, row {line}: kind {kind!r} is not one of {', '.join(KINDS)}")
        aliases = [a.strip() for a in cell(row, "aliases").split("|") if a.strip()]
        if kind == "unit":
            if not name:
                raise GazetteerError(f"{path}, row {line}: a unit without a name")
            units.append(name)
            continue
        if kind == "city":
            cities.append(name)
            continue
        level = KINDS[kind]
        add(name, level, name, line)
        for alias in aliases:
            add(alias, level, name, line)
        if kind == "county":
            counties.append(name)
        elif kind == "town":
            town_rows.append((line, name, cell(row, "parent")))
        else:
            estates.append(name)
            if cell(row, "parent"):
                place_rows.append((line, name, cell(row, "parent")))
    for line, town, parent in town_rows:
        if parent and parent not in counties:
            raise GazetteerError(f"{path}, row {line}: town {town!r} names parent {parent!r}, which is not a county "
                                 "of this file")
        if parent:
            owners.setdefault(town, []).append(parent)
            towns.setdefault(parent, []).append(town)
    county_of = {town: parents[0] for town, parents in owners.items() if len(set(parents)) == 1}
    # a place names its county through its parent (a town of one county, or the county itself)
    place_owners: dict[str, set[str]] = {}
    for line, place, parent in place_rows:
        if parent not in counties and parent not in owners:
            raise GazetteerError(f"{path}, row {line}: place {place!r} names parent {parent!r}, which is not a county "
                                 "or town of this file")
        county = parent if parent in counties else county_of.get(parent)
        place_owners.setdefault(place, set()).add(county)
    county_of.update({place: next(iter(c)) for place, c in place_owners.items()
                      if len(c) == 1 and None not in c and place not in county_of})
    return Gazetteer(str(path), hashlib.sha256(data).hexdigest(), levels, canonical, county_of, tuple(counties),
                     {c: tuple(dict.fromkeys(towns.get(c, ()))) for c in counties}, tuple(dict.fromkeys(estates)),
                     tuple(dict.fromkeys(units)), tuple(dict.fromkeys(cities)))


@lru_cache(maxsize=8)
def _cached(path: str, resolved: str, size: int, mtime_ns: int) -> Gazetteer:
    return read_gazetteer(path)


def load_gazetteer(path: str | Path | None) -> Gazetteer:
    """The gazetteer at ``path`` (read once per file version), or ``EMPTY`` when none is configured."""
    if not path:
        return EMPTY
    path = Path(path)
    try:
        st = path.stat()
    except OSError:
        return read_gazetteer(path)  # raises the error that names the file
    return _cached(str(path), str(path.resolve()), st.st_size, st.st_mtime_ns)


def write_gazetteer(path: str | Path, rows: Iterable[tuple[str, str, str, str]]) -> None:
    """A gazetteer file of ``(name, kind, parent, aliases)`` rows, for a person to check and edit."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)
