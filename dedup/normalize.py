"""Pure text normalisation: make copies of one complaint look alike and hide contact details.

Masking runs before anything is stored in exports, so that phone numbers,
ID-card numbers and e-mail addresses neither make copies look different nor
leak into the files the office passes around.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from .config import NormalizeConfig

PHONE_MASK = "〔电话〕"
ID_MASK = "〔证件号〕"
EMAIL_MASK = "〔邮箱〕"
NAME_MASK = "〔姓名〕"

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_ID_CARD = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)|(?<!\d)\d{15}(?!\d)")
_PHONE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(?!\d)|(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")
# "我叫张伟" / "我是李娜" / "本人王强": self-introductions that differ across copies.
_SELF_NAME = re.compile(r"(我叫|我是|本人|联系人|姓名[:：]?)([\u4e00-\u9fff]{2,3})(?=[，,。.\s电联手]|$)")
_SPACE = re.compile(r"\s+")
_REPEAT_PUNCT = re.compile(r"([!?。，,.!！？~～…])\1+")
_PUNCT_FOLD = str.maketrans({"，": ",", "。": ".", "！": "!", "？": "?", "：": ":", "；": ";", "、": ",",
                             "（": "(", "）": ")", "【": "[", "】": "]", "“": '"', "”": '"', "‘": "'", "’": "'",
                             "～": "~", "…": "."})


# Full-width ASCII and the ideographic space fold to what NFKC gives them, applied
# before the NFKC check so that most Chinese texts are already normalised and skip it.
_WIDE_FOLD = {**{c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}, 0x3000: 0x20,
              **{k: v for k, v in _PUNCT_FOLD.items() if k != ord("…")}}
_NAME_CUES = ("我叫", "我是", "本人", "联系人", "姓名")
# translate() looks every character up in the table (8 us a text); almost all the
# folding a Chinese text needs is a few punctuation marks, which replace() finds
# at C speed. Keys left after them all lie at or above U+FF01, beyond every CJK ideograph.
_COMMON_FOLD = [(chr(k), v if isinstance(v, str) else chr(v)) for k, v in _WIDE_FOLD.items()
                if k < 0xFF01 or chr(k) in "，！？：；（）～"]
_RARE_FROM = chr(min(k for k in _WIDE_FOLD if chr(k) not in dict(_COMMON_FOLD)))
# ID cards and phone numbers both hold four digits in a row: one scan rules both out
_FOUR_DIGITS = re.compile(r"\d{4}")
_DOUBLED = [c + c for c in "!?。，,.!！？~～…"]  # what _REPEAT_PUNCT needs to find anything


def _fold(text: str) -> str:
    """``text.translate(_WIDE_FOLD)``, by replace() for the common marks."""
    for wide, narrow in _COMMON_FOLD:
        if wide in text:
            text = text.replace(wide, narrow)
    if text and max(text) >= _RARE_FROM:
        text = text.translate(_WIDE_FOLD)
    return text


def mask_contacts(text: str) -> str:
    # each pattern needs a cue character; looking for the cue is far cheaper than the pattern
    if "@" in text:
        text = _EMAIL.sub(EMAIL_MASK, text)
    if _FOUR_DIGITS.search(text):
        text = _ID_CARD.sub(ID_MASK, text)
        text = _PHONE.sub(PHONE_MASK, text)
    if any(cue in text for cue in _NAME_CUES):
        text = _SELF_NAME.sub(lambda m: m.group(1) + NAME_MASK, text)
    return text


@functools.lru_cache(maxsize=64)
def _boilerplate_pattern(phrases: tuple[str, ...]) -> re.Pattern:
    # alternatives longest first: the regex engine takes the first that matches, as a loop would
    ordered = sorted(phrases, key=len, reverse=True)
    alternatives = "|".join(re.escape(p) for p in ordered)
    return re.compile(rf"(?:[ ,.:;!?]*(?:{alternatives}))*[ ,.:;!?]*" if ordered else r"[ ,.:;!?]*")


def strip_boilerplate(text: str, phrases: tuple[str, ...]) -> str:
    """Remove leading channel phrases such as '市民来电反映：', repeatedly, longest first."""
    return text[_boilerplate_pattern(tuple(phrases)).match(text).end():]


def normalize(text: str, config: NormalizeConfig = NormalizeConfig()) -> str:
    """NFKC, folded punctuation and whitespace, boilerplate stripped, contacts masked."""
    text = _fold(text)
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text).translate(_PUNCT_FOLD)
    text = _SPACE.sub(" ", text).strip()
    if config.mask_contacts:
        text = mask_contacts(text)
    if any(pair in text for pair in _DOUBLED):
        text = _REPEAT_PUNCT.sub(r"\1", text)
    return strip_boilerplate(text, config.boilerplate)


def item_text(title: str, content: str, config: NormalizeConfig = NormalizeConfig()) -> str:
    """The text an item is compared on: its title (when not already in the content) and content."""
    body = normalize(content, config)
    head = normalize(title, config) if title else ""
    if head and head not in body:
        return f"{head}. {body}"
    return body
