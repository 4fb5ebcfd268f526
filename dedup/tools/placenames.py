"""Place names seen often in history, written as a gazetteer file for a person to check.

``dedup gazetteer learn HISTORY...`` reads past suggestions, finds the names that end with a kind of
place (街道 镇 乡 区 县 for divisions; 村 路 街 小区 花园 苑 学校 医院 ... for the finest places,
``entities.SUFFIXES`` and ``DIVISIONS``) and extends each leftwards over the words jieba's dictionary
calls nouns or does not know (金桂 新城 小区 -> 金桂新城小区), stopping at verbs, particles, pronouns
and higher divisions. Names met in at least ``min_count`` different texts are written with their kind
and how often they were seen, most frequent first: a draft gazetteer, not a finished one. Nothing
here is specific to a city.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from dedup.core import lexicon
from dedup.core.entities import GENERIC, SUFFIXES
from dedup.core.gazetteer import COLUMNS
from dedup.core.segment import Segmenter

# suffix -> kind of the name it ends; longer suffixes are tried first
DIVISIONS = {"街道": "town", "镇": "town", "乡": "town", "区": "county", "县": "county"}
FINEST = ("村", "路", "街", "大道", "巷")
_KINDS = {**{s: "place" for s in (*SUFFIXES, *FINEST)}, **DIVISIONS}
_ORDERED = sorted(_KINDS, key=len, reverse=True)
_NOT_NAMES = frozenset("dcprumqtfvayezoxw")  # verbs, pronouns, particles, numerals, punctuation...
# common words that end like a place but name none (本村, 城区, 辖区, 小区 alone)
_PLAIN = frozenset(("城区", "辖区", "片区", "园区", "景区", "校区", "市区", "郊区", "社区", "小区", "农村", "乡村",
                    "城镇", "乡镇", "马路", "道路", "公路", "街道", "大街", "新区", "老区", "山区", "全县", "本村",
                    "全村", "该村", "我村", "本镇", "全镇", "该镇", "本区", "全区", "该区"))
_MAX_NAME = 12


@functools.lru_cache(maxsize=1)
def _tags() -> dict[str, str]:
    return {word: tag for word, _, tag in lexicon.entries(max_length=_MAX_NAME)}


def _kind(token: str) -> tuple[str, str] | None:
    """(suffix, kind) when the token ends with a kind of place, else None. A one-character suffix ends a
    place only as a word of its own or in a word jieba knows as a place or not at all: 道路, 线路, 郊区
    are common nouns."""
    for suffix in _ORDERED:
        if token.endswith(suffix):
            if len(suffix) == 1 and token != suffix and _tags().get(token, "ns")[:2] != "ns":
                return None
            return suffix, _KINDS[suffix]
    return None


_DIVISION_ENDS = ("市", "区", "县", "街道", "街道办", "办事处", "镇", "乡")


def _finest_part(name: str, suffix: str) -> str:
    """The name without the divisions written before it (A市A3区 -> A3区, 某区丽发新城 -> 丽发新城)."""
    cut = 0
    for end in _DIVISION_ENDS:
        at = name.rfind(end, 0, len(name) - len(suffix))
        while at >= 0 and len(name) - (at + len(end)) - len(suffix) < 2:
            at = name.rfind(end, 0, at)
        if at >= 0:
            cut = max(cut, at + len(end))
    return name[cut:]


def _name_like(token: str) -> bool:
    tag = _tags().get(token)
    return (token.strip() != "" and token not in GENERIC and not token.isdigit()
            and all("\u4e00" <= c <= "\u9fff" or c.isalnum() for c in token)
            and (tag is None or tag[:1] not in _NOT_NAMES))


def names(tokens: list[str]) -> list[tuple[str, str]]:
    """(name, kind) of the places named in a text's raw tokens (``Segmenter.cut``)."""
    found = []
    for k, token in enumerate(tokens):
        ends = _kind(token)
        if ends is None:
            continue
        name, used = token, 0
        # the token may be the suffix alone (小区) or a word ending with it (金桂新城小区)
        while k - used - 1 >= 0 and used < 3 and len(name) < _MAX_NAME:
            before = tokens[k - used - 1]
            if not _name_like(before) or (_kind(before) or ("", ""))[1] in ("town", "county"):
                break
            name, used = before + name, used + 1
        name = _finest_part(name, ends[0])
        short_division = len(name) == len(ends[0]) + 1 and _tags().get(name, "")[:2] == "ns"  # 冠县, 沛县
        if (len(name) - len(ends[0]) >= 2 or short_division) and name not in _PLAIN and name[:2] not in GENERIC:
            found.append((name, ends[1]))
    return found


def learn(texts: Iterable[str], segmenter: Segmenter | None = None, min_count: int = 3) -> list[tuple[str, str, int]]:
    """(name, kind, texts naming it) for the names met in at least ``min_count`` texts, most frequent first."""
    segmenter = segmenter or Segmenter()
    seen: Counter = Counter()
    for text in texts:
        seen.update(set(names(segmenter.cut(text))))
    kept = [(name, kind, count) for (name, kind), count in seen.items() if count >= min_count]
    return sorted(kept, key=lambda r: (-r[2], r[0]))


def write_draft(path: Path, learned: list[tuple[str, str, int]]) -> Path:
    """A gazetteer file with a ``seen`` column (texts naming each), for a person to check before use."""
    import csv

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow((*COLUMNS, "seen"))
        for name, kind, count in learned:
            writer.writerow((name, kind, "", "", count))
    return path
