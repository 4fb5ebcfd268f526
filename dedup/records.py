"""The record types that flow through the stages."""

from __future__ import annotations

from dataclasses import dataclass

CHANNELS = ("phone", "email", "website", "wechat", "app")


@dataclass(slots=True)
class Item:
    """One citizen suggestion as ingested; ``text`` is filled by normalisation."""

    id: str
    received_at: str          # "YYYY-MM-DD HH:MM:SS"
    channel: str              # one of CHANNELS
    content: str
    title: str = ""
    source: str = ""          # file it came from
    line: int = 0             # line (or sheet row) where its record starts
    text: str = ""            # normalised, contact details masked


@dataclass(frozen=True, slots=True)
class Rejection:
    """A row that was not ingested, and why; written to rejected.csv."""

    file: str
    line: int
    id: str
    reason: str
