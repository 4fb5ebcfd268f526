"""The personal-data recogniser: contact details and names in a citizen's text, found and masked.

One recogniser serves every place a text leaves the database: normalisation masks
texts before they are compared or exported, and rejection reasons and notes are
masked before they are written or printed. Raw texts stay in the ``items`` table
only (see the README's "Personal data").

What it finds, in this order (a later kind never sees what an earlier one masked):

- e-mail addresses, also written with "at"/"dot", (at), [at] or # for @;
- ID-card numbers (18 characters, or 15 digits), with or without spaces or dashes inside;
- bank-card numbers (16 to 19 digits, in groups or not);
- mobile numbers (11 digits from 13x to 19x, with +86 and any one space, dash or dot between digits);
- landlines ((0635)1234567, 0635 123 4567, 0635-12345678) and any number of 7 or more digits after
  a phone cue (电话, 手机, 座机, 联系方式...);
- numbers written in Chinese numerals (seven or more in a row: 一三八…);
- WeChat and QQ ids after their cue (微信号, vx, QQ...);
- names: after a self-introduction (我叫, 我是, 本人...), a label (联系人, 姓名, 业主, 市民...), with
  我姓 X, or before an honorific (先生, 女士, 师傅...). A name must begin with a surname from
  ``data/surnames.txt`` and end where a name can end (punctuation, the text's end, or a word that
  follows names: 住, 电话, 反映...), so that 我是外地人 or 本人无力承担 stay as written.

Precision on real messages and recall on a planted set are measured in ``benchmarks/privacy.py``.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

import numpy as np

from dedup.core import lexicon

PHONE_MASK = "〔电话〕"
ID_MASK = "〔证件号〕"
CARD_MASK = "〔卡号〕"
EMAIL_MASK = "〔邮箱〕"
ACCOUNT_MASK = "〔账号〕"
NAME_MASK = "〔姓名〕"

_SEP = r"[ \-.·]?"  # one separator a writer may put between digits (after NFKC: ASCII space and marks)

_TLD = r"(?:com|cn|net|org|edu|gov|cc|top|vip|info|io|me)\b"
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"  # as written, any domain
                    r"|[A-Za-z0-9._%+\-]+ ?(?:@|\(at\)|\[at\]| at |#) ?[A-Za-z0-9\-]+"  # "at"/"dot" spelled out
                    r"(?: ?(?:\.|\(dot\)|\[dot\]| dot |点) ?[A-Za-z0-9\-]+)*"
                    rf" ?(?:\.|\(dot\)|\[dot\]| dot |点) ?{_TLD}", re.IGNORECASE)
_ID_CARD = re.compile(r"(?<![\dA-Za-z])\d{6}(?:[ \-]?\d){11}[ \-]?[\dXx](?![\dA-Za-z])|(?<!\d)\d{15}(?!\d)")
_CARD = re.compile(r"(?<!\d)\d{4}(?:[ \-]?\d{4}){3}(?:[ \-]?\d{1,3})?(?!\d)|(?<!\d)\d{16,19}(?!\d)")
_MOBILE = re.compile(rf"(?<![\d+])(?:\+?86{_SEP})?1[3-9](?:{_SEP}\d){{9}}(?!\d)")
_LANDLINE = re.compile(r"[(（]0\d{2,3}[)）] ?\d{3,4}[ \-]?\d{3,4}(?!\d)"
                       r"|(?<!\d)0\d{2,3}[ \-]\d{3,4}[ \-]?\d{4}(?!\d)|(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")
# the four kinds of number in one pattern (one scan, not four): at one place the first listed wins
_NUMBER = re.compile("|".join(f"(?P<{kind}>{pattern.pattern})" for kind, pattern in (
    ("id", _ID_CARD), ("card", _CARD), ("mobile", _MOBILE), ("landline", _LANDLINE))))
_NUMBER_MASK = {"id": ID_MASK, "card": CARD_MASK, "mobile": PHONE_MASK, "landline": PHONE_MASK}
_PHONE_CUE = r"电话|手机|座机|联系方式|联系号码|号码|热线|tel|TEL|Tel|call"
_PHONE_CUE_RE = re.compile(_PHONE_CUE)
_CUED_NUMBER = re.compile(rf"((?:{_PHONE_CUE})(?:号码|号)?[:：]? ?(?:是|为)? ?)"
                          r"(?!\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?!\d))(\d(?:[ \-]?\d){6,})")
_CN_DIGITS = "零〇一二三四五六七八九幺两"
_CN_NUMBER = re.compile(rf"[{_CN_DIGITS}](?:[ \-]?[{_CN_DIGITS}]){{6,}}")
_ACCOUNT = re.compile(r"((?:微信号|微信|vx|VX|Vx|wx|WX|QQ号|QQ|qq号|qq|扣扣)[:：]? ?(?:是|为|号)? ?)"
                      r"([A-Za-z][A-Za-z0-9_\-]{5,19}|\d{5,12})(?![A-Za-z0-9_\-])")

# where a name may end: punctuation, a space, the text's end, or a word that follows names in these texts
_NAME_END = (r"(?=[,.!?;:、()\"' 　，。！？；：（）“”]"
             r"|电|手|联|住|家|现|今|在|身|男|女|说|反|称|投|来|向|请|于|是|$)")
# cues after which a name is sure (我叫 X), and cues after which an ordinary word is as likely (业主 权益)
SURE_CUES = ("我叫", "我名叫", "我的名字叫", "我的名字是", "名字叫", "本人叫", "联系人", "姓名", "名字", "签名", "署名",
             "投诉人", "反映人", "来电人", "来信人")
WEAK_CUES = ("本人是", "本人", "我是", "业主", "住户", "户主", "家长", "市民", "居民", "村民", "网友")
SURNAME_CUES = ("我姓", "本人姓")
HONORIFICS = ("先生", "女士", "小姐", "师傅", "阿姨", "大爷", "大妈", "大姐", "大哥", "老师")
ACCOUNT_CUES = ("微信", "vx", "VX", "Vx", "wx", "WX", "QQ", "qq", "扣扣")
EMAIL_CUES = ("@", "#", "(at)", "[at]", " at ", "(AT)", "[AT]", " AT ")
_AFTER_MARK = ",，。. "  # 叫 right after one of these begins a name too (我姓甄，叫甄小美)


def _alternation(words) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_SURE = _alternation(SURE_CUES) + rf"|(?<=[{_AFTER_MARK}])叫"
_WEAK = _alternation(WEAK_CUES)
_HONORIFIC = _alternation(HONORIFICS)


@functools.lru_cache(maxsize=1)
def surnames() -> tuple[str, str]:
    """(single-character surnames as one string, compound surnames as a regex alternation)."""
    single: list[str] = []
    compound: list[str] = []
    section = single
    text = resources.files("dedup.data").joinpath("surnames.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        line = line.strip()
        if line == "[compound]":
            section = compound
        elif line and not line.startswith("#"):
            section.extend(line.split())
    return "".join(single), "|".join(sorted(compound, key=len, reverse=True))


@functools.lru_cache(maxsize=1)
def _name_patterns() -> tuple[re.Pattern, re.Pattern, re.Pattern, re.Pattern, re.Pattern]:
    single, compound = surnames()
    first = rf"(?:{compound}|[{single}])" if compound else rf"[{single}]"
    name = rf"{first}[\u4e00-\u9fff]{{1,2}}?"
    sure = re.compile(rf"((?:{_SURE})[:：]? ?)({name}){_NAME_END}")
    weak = re.compile(rf"((?:{_WEAK})[:：]? ?)({name}){_NAME_END}")
    # after an explicit label with a colon any two to four characters are a name, surname list or not
    labelled = re.compile(r"((?:联系人|姓名|签名|署名)[:：] ?)([\u4e00-\u9fff]{2,4}?)" + _NAME_END)
    surname_only = re.compile(rf"(我姓|本人姓)({first})(?=[,，。. ]|叫|名|是)")
    honoured = re.compile(rf"({first})(?=(?:{_HONORIFIC}))")
    return sure, weak, labelled, surname_only, honoured


@functools.lru_cache(maxsize=1)
def _words() -> frozenset[str]:
    """Words of two or three characters that begin or end with a surname and that jieba's dictionary
    knows as something other than a person's name (权益, 单位, 校车, 居民楼...), or as a name so often
    that it is an everyday word (its tags are noisy: 谢谢 and 孙子 are tagged as names)."""
    single, compound = surnames()
    ends = set(single) | {c[:1] for c in compound.split("|") if c} | {c[0] for c in WEAK_CUES}
    return frozenset(word for word, freq, tag in lexicon.entries(3)
                     if len(word) >= 2 and (word[0] in ends or word[-1] in ends)
                     and (tag != "nr" or freq >= _EVERYDAY))


_EVERYDAY = 500  # a word jieba tags as a name but counts this often is an ordinary word (谢谢 1,089; 李娜 438)


# prepositions and adverbs that are also surnames: after 业主, 本人 or 我是 they start a phrase (本人于前年)
_NOT_AFTER_CUE = frozenset("向于曾许在对")


def _weak_name(m: re.Match) -> str:
    """A name after 业主, 本人, 我是...: not when it is a word (权益), when the cue is the end of a
    longer word (企业主管单位: 企业), or when the cue and what follows make one (居民楼)."""
    candidate, cue = m.group(2), m.group(1).rstrip(":： ")
    words = _words()
    before = m.string[m.start() - 1:m.start()]
    if (candidate[0] in _NOT_AFTER_CUE or candidate in words or candidate[:2] in words
            or (before and before + cue[0] in words) or cue[-2:] + candidate[0] in words):
        return m.group(0)
    return m.group(1) + NAME_MASK


def _sure_name(m: re.Match) -> str:
    return m.group(0) if m.group(2)[0] in _NOT_AFTER_CUE else m.group(1) + NAME_MASK


def _honoured(m: re.Match) -> str:
    """A surname before 先生, 女士... unless it ends a word (接送师傅, 其余老师, 班主任老师)."""
    text, at = m.string, m.start()
    if at and text[at - 1:at + 1] in _words():
        return m.group(0)
    return NAME_MASK


# One scan of a text finds which kinds of detail it may hold; only their patterns then run (each
# pattern alone costs about 5 us a text).
_KIND_OF = {**{c: "sure" for c in SURE_CUES}, **{m + "叫": "sure" for m in _AFTER_MARK},
            **{c: "weak" for c in WEAK_CUES}, **{c: "surname" for c in SURNAME_CUES},
            **{c: "honour" for c in HONORIFICS}, **{c: "account" for c in ACCOUNT_CUES},
            **{c: "email" for c in EMAIL_CUES}}
_LITERAL_CUES = re.compile(_alternation(_KIND_OF))
_DIGIT_CUE = re.compile(r"\d(?:[ \-.·]?\d){6}")  # seven digits: every number masked here has as many
_CN_CUE = re.compile(rf"[{_CN_DIGITS}](?:[ \-]?[{_CN_DIGITS}]){{2}}")


def kinds_in(text: str) -> set[str]:
    """The kinds of personal data whose cues the text holds (digits, cn, email, account, names)."""
    kinds = {_KIND_OF[m.group()] for m in _LITERAL_CUES.finditer(text)}
    if _DIGIT_CUE.search(text):
        kinds.add("digits")
    if _CN_CUE.search(text):
        kinds.add("cn")
    return kinds


def _number_mask(m: re.Match) -> str:
    return _NUMBER_MASK[m.lastgroup]


_DIGIT_RUN = re.compile(r"\d(?:[ \-.·]?\d){6,}")


def mask_numbers(text: str) -> str:
    """``_NUMBER.sub(_number_mask, text)``, the same string (property-tested), several times faster:
    the pattern, whose lookbehinds make the regex engine try it at every character, runs only in a
    window around each run of seven or more digits (every number it masks has as many)."""
    out: list[str] = []
    last = 0
    for run in _DIGIT_RUN.finditer(text):
        if run.end() <= last:
            continue
        for m in _NUMBER.finditer(text, max(last, run.start() - 8), min(len(text), run.end() + 4)):
            out.append(text[last:m.start()])
            out.append(_NUMBER_MASK[m.lastgroup])
            last = m.end()
    if not out:
        return text
    out.append(text[last:])
    return "".join(out)


def mask(text: str) -> str:
    """The text with every contact detail and name replaced by its mask (〔电话〕, 〔姓名〕...)."""
    kinds = kinds_in(text)
    if not kinds:
        return text
    if "email" in kinds:
        text = _EMAIL.sub(EMAIL_MASK, text)
    if "digits" in kinds:
        text = mask_numbers(text)
        if _PHONE_CUE_RE.search(text):
            text = _CUED_NUMBER.sub(lambda m: m.group(1) + PHONE_MASK, text)
    if "cn" in kinds:
        text = _CN_NUMBER.sub(PHONE_MASK, text)
    if "account" in kinds:
        text = _ACCOUNT.sub(lambda m: m.group(1) + ACCOUNT_MASK, text)
    if kinds & {"sure", "weak", "surname", "honour"}:
        sure, weak, labelled, surname_only, honoured = _name_patterns()
        if "sure" in kinds:
            text = labelled.sub(lambda m: m.group(1) + NAME_MASK, text)
            text = sure.sub(_sure_name, text)
        if "weak" in kinds:
            text = weak.sub(_weak_name, text)
        if "surname" in kinds:
            text = surname_only.sub(lambda m: m.group(1) + NAME_MASK, text)
        if "honour" in kinds:
            text = honoured.sub(_honoured, text)
    return text


_DIGIT, _CN, _SURNAME, _LEAD, _SINGLE = 1, 2, 4, 8, 16


@functools.lru_cache(maxsize=1)
def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each BMP character's cue classes (bits above), and the sorted code pairs that begin a cue: those
    a surname follows (name cues, by their last two characters), those one precedes (honorifics), and
    those that need nothing more (accounts, spelled-out e-mails)."""
    single, compound = surnames()
    classes = np.zeros(0x10000, dtype=np.uint8)
    classes[[c for c in range(0x10000) if chr(c).isdecimal()]] |= _DIGIT  # what \\d matches
    classes[[ord(c) for c in _CN_DIGITS]] |= _CN
    classes[[ord(c) for c in single + compound.replace("|", "")]] |= _SURNAME
    classes[[ord("@"), ord("#")]] |= _SINGLE

    def pairs(words) -> np.ndarray:
        keys = {(ord(w[0]) << 16) | ord(w[1]) for w in words}
        for w in words:
            classes[ord(w[0])] |= _LEAD
        return np.array(sorted(keys), dtype=np.int64)

    after = pairs([c[-2:] for c in WEAK_CUES + SURNAME_CUES] + [m + "叫" for m in _AFTER_MARK])
    before = pairs(HONORIFICS)
    plain = pairs([c[:2] for c in ACCOUNT_CUES + EMAIL_CUES if len(c) >= 2])
    sure = pairs([c[-2:] for c in SURE_CUES])
    return classes, after, before, plain, sure


def might_hold(codes: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Which texts, given as the code points of their NUL-joined run (``codes``) and the positions of
    the NULs between them (``ends``), ``mask`` might change: a necessary condition for each kind, on
    arrays (three digits in a row, three Chinese numerals, an @ or #, a cue's pair of characters with
    a surname after or before it where the kind needs one). ``kinds_in`` then decides, text by text."""
    classes, after, before, plain, sure = _tables()
    n = len(codes)
    cls = np.zeros(n + 5, dtype=np.uint8)
    cls[2:n + 2] = np.where(codes < 0x10000, classes.take(codes & 0xFFFF), 0) if n and codes.max() >= 0x10000 \
        else classes.take(codes)
    c = cls[2:n + 2]  # c[i] is the class of codes[i]; cls[i + 2 + k] that of codes[i + k]
    # two digits (or numerals) with at most one character between: every number masked has such a pair,
    # however its writer spaced it (13 81 23 45 67 8, 一 三 八)
    near = lambda bit: c & (cls[3:n + 3] | cls[4:n + 4]) & bit  # noqa: E731
    hit = (near(_DIGIT) | near(_CN) | (c & _SINGLE)).astype(bool)
    lead = np.flatnonzero(c[:-1] & _LEAD) if n > 1 else np.zeros(0, dtype=np.int64)
    if len(lead):
        keys = (codes[lead].astype(np.int64) << 16) | codes[lead + 1]
        near_after = (cls[lead + 4] | cls[lead + 5] | cls[lead + 6]) & _SURNAME  # codes[i + 2] to [i + 4]
        near_before = cls[lead + 1] & _SURNAME                                    # codes[i - 1]
        ok = (np.isin(keys, after) & near_after.astype(bool)) | (np.isin(keys, before) & near_before.astype(bool)) \
            | np.isin(keys, plain) | np.isin(keys, sure)  # a sure cue (姓名, 联系人) needs no surname after it
        hit[lead[ok]] = True
    need = np.zeros(len(ends) + 1, dtype=bool)
    need[np.searchsorted(ends, np.flatnonzero(hit), side="right")] = True
    return need


def warm() -> None:
    """Build the recogniser's tables now (a process that forks workers builds them once for all)."""
    _name_patterns()
    _words()
    _tables()


def mask_cell(value: object) -> str:
    """A raw cell as it may appear in a message, a log or a rejection reason: masked, and cut to 40
    characters (a reason names the problem; it need not repeat the cell)."""
    text = mask(str(value if value is not None else ""))
    return text if len(text) <= 40 else text[:40] + "…"
