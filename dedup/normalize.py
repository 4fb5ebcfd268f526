"""Pure text normalisation: make copies of one complaint look alike and hide contact details.

Masking runs before anything is stored in exports, so that phone numbers,
ID-card numbers and e-mail addresses neither make copies look different nor
leak into the files the office passes around.
"""

from __future__ import annotations

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


def mask_contacts(text: str) -> str:
    text = _EMAIL.sub(EMAIL_MASK, text)
    text = _ID_CARD.sub(ID_MASK, text)
    text = _PHONE.sub(PHONE_MASK, text)
    return _SELF_NAME.sub(lambda m: m.group(1) + NAME_MASK, text)


def strip_boilerplate(text: str, phrases: tuple[str, ...]) -> str:
    """Remove leading channel phrases such as '市民来电反映：', repeatedly, longest first."""
    ordered = sorted(phrases, key=len, reverse=True)
    changed = True
    while changed:
        changed = False
        stripped = text.lstrip(" ,.:;!?")
        for phrase in ordered:
            if stripped.startswith(phrase):
                text, changed = stripped[len(phrase):], True
                break
    return text.lstrip(" ,.:;!?")


def normalize(text: str, config: NormalizeConfig = NormalizeConfig()) -> str:
    """NFKC, folded punctuation and whitespace, boilerplate stripped, contacts masked."""
    text = unicodedata.normalize("NFKC", text).translate(_PUNCT_FOLD)
    text = _SPACE.sub(" ", text).strip()
    if config.mask_contacts:
        text = mask_contacts(text)
    text = _REPEAT_PUNCT.sub(r"\1", text)
    return strip_boilerplate(text, config.boilerplate)


def item_text(title: str, content: str, config: NormalizeConfig = NormalizeConfig()) -> str:
    """The text an item is compared on: its title (when not already in the content) and content."""
    body = normalize(content, config)
    head = normalize(title, config) if title else ""
    if head and head not in body:
        return f"{head}. {body}"
    return body
