"""Chinese word segmentation with jieba, through our own Tokenizer instance.

The module-level jieba dictionary is global state; a ``Segmenter`` owns a
``jieba.Tokenizer`` loaded with the words of its gazetteer (and an optional user
dictionary), and re-creates it after unpickling so models that hold one reload
in a fresh process. A model keeps the gazetteer it was trained with.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from collections.abc import Sequence
from functools import cached_property
from importlib import resources
from itertools import chain
from pathlib import Path

import jieba

from dedup.core.entities import keys as entity_keys
from dedup.core.gazetteer import EMPTY, Gazetteer, load_gazetteer

jieba.setLogLevel(logging.WARNING)

_DATA = resources.files("dedup") / "data"
_KEEP = re.compile(r"[\w\u4e00-\u9fff]")


def default_stopwords() -> frozenset[str]:
    text = (_DATA / "stopwords.txt").read_text(encoding="utf-8")
    return frozenset(w.strip() for w in text.splitlines() if w.strip())


def _is_word(token: str) -> bool:
    """A token worth keeping: has a letter, digit or Han character."""
    return bool(_KEEP.search(token)) and not all(unicodedata.category(c).startswith("P") for c in token)


def rjieba_available() -> bool:
    try:
        import rjieba  # noqa: F401
    except ImportError:
        return False
    return True


class _Kept(dict):
    """token -> the token if it is a word worth keeping, else None; each decided when first met."""

    def __init__(self, stopwords: frozenset[str]) -> None:
        super().__init__()
        self.stopwords = stopwords

    def __missing__(self, token: str) -> str | None:
        kept = self[token] = token if token.strip() and token not in self.stopwords and _is_word(token) else None
        return kept


class _Clauses(dict):
    """clause -> its kept tokens, each clause segmented when first met."""

    def __init__(self, tokens) -> None:
        super().__init__()
        self.tokens = tokens

    def __missing__(self, clause: str) -> tuple[str, ...]:
        found = self[clause] = tuple(self.tokens(clause))
        return found


# distinct clauses a Segmenter remembers before starting afresh (~100 bytes each with their tokens)
_MAX_CLAUSES = 2_000_000


class Segmenter:
    """Callable text -> tokens, with the user dictionary and stopwords applied.

    ``engine="rjieba"`` uses the Rust port of jieba (same dictionary and
    algorithm, about 20x faster); ``tests/test_segment.py`` holds it to giving
    jieba's tokens. ``"auto"`` takes rjieba when it is installed.
    """

    def __init__(self, userdict: str | Path | None = None, stopwords: frozenset[str] | None = None,
                 hmm: bool = True, engine: str = "auto", gazetteer: Gazetteer = EMPTY) -> None:
        if engine not in ("auto", "jieba", "rjieba"):
            raise ValueError(f"engine must be auto, jieba or rjieba, got {engine!r}")
        self.userdict = str(userdict) if userdict else ""
        self.gazetteer = gazetteer
        self.stopwords = default_stopwords() if stopwords is None else frozenset(stopwords)
        self.hmm = hmm
        self.engine = ("rjieba" if rjieba_available() else "jieba") if engine == "auto" else engine
        self._tokenizer = None

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            lines = self.gazetteer.userdict_lines()
            if self.userdict:
                lines += Path(self.userdict).read_text(encoding="utf-8").splitlines()
            if self.engine == "rjieba":
                import rjieba

                tokenizer = rjieba.Jieba()
                for line in lines:
                    parts = line.split()
                    if parts:
                        tokenizer.add_word(parts[0], int(parts[1]) if len(parts) > 1 else None,
                                           parts[2] if len(parts) > 2 else None)
            elif lines:
                tokenizer = jieba.Tokenizer()
                tokenizer.load_userdict(io.StringIO("\n".join(lines) + "\n"))
            else:
                tokenizer = jieba.Tokenizer()
            self._tokenizer = tokenizer
        return self._tokenizer

    def cut(self, text: str) -> list[str]:
        """The engine's raw tokens, before stopwords and punctuation are dropped."""
        if self.engine == "rjieba":
            return self.tokenizer.cut(text, self.hmm)
        return self.tokenizer.lcut(text, HMM=self.hmm)

    def __call__(self, text: str) -> list[str]:
        # Both engines cut a text into blocks at every character outside their word class (a comma
        # among them) and segment each block on its own, and a comma is never a kept token; so a
        # text's tokens are its comma-separated clauses' tokens end to end. Copies with small edits
        # and form letters share most clauses, so each distinct clause is segmented once
        # (``_Clauses.__missing__``) and a text is a C loop of dict lookups.
        clauses = self._clauses
        if len(clauses) > _MAX_CLAUSES:
            clauses.clear()
        return list(chain.from_iterable(map(clauses.__getitem__, text.split(","))))

    def tokens(self, text: str) -> list[str]:
        """The kept tokens of the text cut whole: the reference ``__call__`` is held to."""
        # each distinct token is decided once (``_Kept.__missing__``); the rest is a C loop over the
        # tokens: a dict lookup each, the dropped ones (None) filtered out. The kept string is one
        # shared object per distinct word, so a million token lists cost pointers, not a fresh
        # string per occurrence (gigabytes at 1.28M items)
        return list(filter(None, map(self._keep.__getitem__, self.cut(text))))

    @cached_property
    def _keep(self) -> _Kept:
        return _Kept(self.stopwords)

    @cached_property
    def _clauses(self) -> _Clauses:
        return _Clauses(self.tokens)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_tokenizer"] = None
        state.pop("_keep", None)  # the caches are rebuilt where the segmenter is unpickled
        state.pop("_clauses", None)
        return state

    def __setstate__(self, state: dict) -> None:
        state.setdefault("engine", "jieba")
        state.setdefault("gazetteer", EMPTY)
        if state["engine"] == "rjieba" and not rjieba_available():
            state["engine"] = "jieba"  # a model saved with rjieba still loads where only jieba is installed
        self.__dict__.update(state)

    def __repr__(self) -> str:
        return (f"Segmenter(gazetteer={self.gazetteer.path!r}, userdict={self.userdict!r}, hmm={self.hmm}, "
                f"engine={self.engine!r})")


def segmenter_for(config) -> Segmenter:
    """The segmenter a run with ``config`` (a ``Config``) cuts its texts with: jieba with its gazetteer's words."""
    return Segmenter(gazetteer=load_gazetteer(config.places.gazetteer))


def places(tokens: list[str], gazetteer: Gazetteer = EMPTY) -> dict[int, frozenset[str]]:
    """The gazetteer's places the tokens name, by level (``Gazetteer.places``)."""
    return gazetteer.places(tokens)


def node_places(tokens: list[str], text: str = "", entities: bool = False,
                gazetteer: Gazetteer = EMPTY) -> dict[int, frozenset[str]]:
    """``places`` of the tokens (the gazetteer's), and with ``entities``, where the gazetteer knows no
    place at the finest level, the keys of the places the text names by their kind (``entities.keys``:
    金桂新城小区, 星悦酒店). A gazetteer's place is the surer name: the two are not mixed in one text."""
    found = gazetteer.places(tokens)
    if not entities or not text or 3 in found:
        return found
    named = entity_keys(text)
    return {**found, 3: named} if named else found


class NodePlaces(Sequence):
    """``node_places`` of each node, found when asked for.

    Clustering reads the place codes of every text but the places themselves
    only for the few pairs and topics the codes cannot decide; holding a dict
    per text of a million, made in worker processes, cost the run 240 MB.
    """

    def __init__(self, tokens: Sequence[list[str]], texts: Sequence[str] = (), entities: bool = False,
                 gazetteer: Gazetteer = EMPTY) -> None:
        self.tokens, self.texts, self.entities = tokens, texts, entities and len(texts) == len(tokens)
        self.gazetteer = gazetteer

    def __len__(self) -> int:
        return len(self.tokens)

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        return node_places(self.tokens[k], self.texts[k] if self.entities else "", self.entities, self.gazetteer)


def places_conflict(a: dict[int, frozenset[str]], b: dict[int, frozenset[str]]) -> bool:
    """True when both texts name places at one level and share none: two different issues."""
    return any(level in b and not (words & b[level]) for level, words in a.items())
