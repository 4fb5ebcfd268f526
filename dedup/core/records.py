"""The record types that flow through the stages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

# Kinds of channel; an export's channel names map onto them through ``ingest.channels``.
CHANNELS = ("phone", "email", "website", "wechat", "app", "paper", "other")


@dataclass(slots=True)
class Item:
    """One citizen suggestion as ingested; ``text`` is filled by normalisation."""

    id: str
    received_at: str          # "YYYY-MM-DD HH:MM:SS"
    channel: str              # one of CHANNELS (a kind; names the map does not know are "other")
    content: str
    title: str = ""
    source: str = ""          # file it came from
    line: int = 0             # line (or sheet row) where its record starts
    text: str = ""            # normalised, contact details masked
    note: str = ""            # what ingest filled in for missing or unreadable metadata (not stored)


@dataclass(frozen=True, slots=True)
class Rejection:
    """A row that was not ingested, and why; written to rejected.csv."""

    file: str
    line: int
    id: str
    reason: str


class NodeRow(NamedTuple):
    """A stored distinct text: its topic and whether it is the topic's centre (a tuple, as SQLite gives it)."""

    node_id: int
    text: str
    tokens: str               # jieba tokens joined by spaces
    key: str                  # the smallest id of its items: an order-free tie-breaker
    weight: int               # items carrying the text
    topic: str
    is_centre: int
