"""What the topic page shows of a member beside the representative: the characters that differ, and the
similarity of its words to the centre's."""

from __future__ import annotations

from difflib import SequenceMatcher
from html import escape

# a member's text is compared with the representative up to this many characters (the rest is shown
# plain): SequenceMatcher's work grows with the product of the two lengths
DIFF_CHARS = 2000


def highlighted(text: str, representative: str, limit: int = DIFF_CHARS) -> str:
    """HTML of ``text`` (escaped) with the characters the representative does not have in ``<mark>``."""
    head, tail = text[:limit], text[limit:]
    matcher = SequenceMatcher(None, representative[:limit], head, autojunk=False)
    out = []
    for op, _a0, _a1, b0, b1 in matcher.get_opcodes():
        part = escape(head[b0:b1])
        out.append(part if op == "equal" else f"<mark>{part}</mark>" if part else "")
    return "".join(out) + escape(tail)


def similarity(tokens: str, centre_tokens: str) -> float:
    """Jaccard similarity of the member's and the centre's word sets."""
    a, b = set(tokens.split()), set(centre_tokens.split())
    return len(a & b) / len(a | b) if a or b else 1.0
