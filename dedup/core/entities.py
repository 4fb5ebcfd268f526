"""Named places a text speaks of, found by their kind's suffix, for telling apart letters that differ
only in the place they name.

A letter reused for another estate, school or KTV differs from its original in a few characters
and shares the rest: no similarity threshold separates the two. The gazetteer knows one city's
places; elsewhere, the kind of place says where a name ends (兰亭园, 金桂新城小区, 石子岭小学,
星悦酒店). A name's key is the two characters before its kind's suffixes (兰亭, 金桂, 石子岭 -> 子岭,
星悦): where a name begins is hard to tell without a gazetteer, where it ends is not, and two copies
of one letter name a place with the same end. Two texts whose keys are disjoint name different
places, and the place veto keeps them apart; a text naming none, or only a generic one (我们小区,
安置小区), is never kept apart by this.

Keys go to the finest level of ``segment.places`` (3: estates, villages, buildings, institutions).
Roads are left out: one copy of a complaint names the road, another the estate on it.
"""

from __future__ import annotations

import functools
import re

from dedup.core import lexicon

SUFFIXES = ("小区", "花园", "家园", "新城", "华府", "名都", "公馆", "花苑", "雅苑", "名苑", "山庄", "公寓", "大厦",
            "广场", "社区", "新村", "苑", "小学", "中学", "幼儿园", "医院", "酒店", "宾馆", "KTV", "ktv")
_SUFFIX = re.compile("|".join(sorted(map(re.escape, SUFFIXES), key=len, reverse=True)))
_NAME_CHARS = re.compile(r"[A-Za-z0-9\u4e00-\u9fff]{2,}$")
# the two characters before a suffix that name no particular place
GENERIC = frozenset((
    "我们", "咱们", "你们", "他们", "这个", "那个", "整个", "本", "该", "各个", "所在", "周边", "附近", "旁边", "安置",
    "配套", "周围", "个别", "多个", "几个", "两个", "其他", "一些", "很多", "所有", "全体", "现在", "导致", "影响",
    "居民", "业主", "住宅", "商品", "老旧", "新建", "在建", "同一", "一个", "某某", "的", "了", "是", "在", "到",
    "进入", "入住", "整体", "附属", "公立", "私立", "民办", "公办", "普惠", "惠性", "本地", "外地", "当地", "城中",
    "乡村", "农村", "社会", "综合", "专科", "中心", "人民", "大型", "小型", "高档", "普通", "这些", "那些", "哪个",
    "好的", "的小", "个小", "区小", "市小", "县小", "了小", "们小", "在小", "到小", "和小", "与小",
))


# a name does not end with a particle or a function word: 附近的医院 names no hospital
_PARTICLES = frozenset("的得地了着过和与及或在到个些等们这那是有就也都还又很把被给对从向为")


@functools.lru_cache(maxsize=1)
def _function_words() -> frozenset[str]:
    """Two-character words jieba's dictionary tags as anything but a noun or a name (最近, 附近, 入住,
    普通): no place name ends with one."""
    return frozenset(word for word, _, tag in lexicon.entries(2) if len(word) == 2 and tag[:1] in _NOT_NAMES)


_NOT_NAMES = frozenset("dcprumqtfvayezo")  # adverb, conjunction, preposition, pronoun, particle, numeral...


def warm() -> None:
    """Read the dictionary now (a process that forks workers reads it once for all)."""
    _function_words()


def keys(text: str) -> frozenset[str]:
    """The keys of the places the text names (see the module docstring)."""
    return frozenset(key for _, _, key in spans(text))


def spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, key) of each place the text names: ``text[start:end]`` is the key and its kind's
    suffixes (金桂新城小区 -> the span of 新城小区 with the two characters before it, key 金桂); one span
    for each key's position, to the end of its last suffix."""
    found: dict[int, tuple[int, int, str]] = {}
    for m in _SUFFIX.finditer(text):
        start = m.start()
        while True:  # a name may end with several suffixes (金桂新城小区): the key is before the first
            inner = None
            for n in _SUFFIX.finditer(text, max(0, start - 4), start):
                if n.end() == start and n.start() >= 2:
                    inner = n
            if inner is None:
                break
            start = inner.start()
        head = _NAME_CHARS.search(text, max(0, start - 2), start)
        if head is None:
            continue
        key = head.group()
        if key not in GENERIC and key[-1] not in _PARTICLES and not key.isdigit() and key not in _function_words():
            found[head.start()] = (head.start(), m.end(), key)
    return list(found.values())
