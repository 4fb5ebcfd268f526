"""jieba's own dictionary, read as entries: what the personal-data and place recognisers ask of it
(is this a word, and what part of speech) without loading the segmenter."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources


def entries(max_length: int = 4) -> Iterator[tuple[str, int, str]]:
    """(word, count, part-of-speech tag) of every word of jieba's dictionary up to ``max_length``."""
    with resources.files("jieba").joinpath("dict.txt").open(encoding="utf-8") as fh:
        for line in fh:
            word, freq, tag = (line.split() + ["", ""])[:3]
            if len(word) <= max_length:
                yield word, int(freq or 0), tag
