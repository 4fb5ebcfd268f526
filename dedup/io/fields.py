"""An export's metadata cells read as values: times in any of the forms exports write (and Unix times and
zoned times converted to the configured zone), and channel names mapped to kinds."""

from __future__ import annotations

import datetime as dt
import re

from dedup.config import IngestConfig

_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                 "%Y/%m/%d", "%Y-%m-%dT%H:%M:%S", "%Y%m%d%H%M%S", "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M",
                 "%Y年%m月%d日")


_CANONICAL_TIME = re.compile(r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]) ([01]\d|2[0-3]):[0-5]\d:[0-5]\d")


def parse_time(value: object, zone: dt.timezone | None = None) -> str | None:
    """Normalise a time cell to 'YYYY-MM-DD HH:MM:SS' in ``zone`` (default +08:00), or None when it
    cannot be read. Times with a zone (``Z``, ``+08:00``) and Unix times (10 or 13 digits) are converted."""
    try:
        return _parse_time(value, zone)
    except (OverflowError, ValueError):  # a time at the calendar's edge, or a number of 400 digits
        return None


def _parse_time(value: object, zone: dt.timezone | None = None) -> str | None:
    if isinstance(value, str) and _CANONICAL_TIME.fullmatch(value):
        if value[8:10] <= "28" or _real_date(value):
            return value  # the common case, already canonical and a real date: skip strptime
        return None
    zone = zone or DEFAULT_ZONE
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(zone).replace(tzinfo=None)
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(int(value)) if float(value).is_integer() else str(value)
    text = str(value or "").strip()
    if not text:
        return None
    if _UNIX_TIME.fullmatch(text):
        seconds = int(text) / (1000 if len(text) == 13 else 1)
        return dt.datetime.fromtimestamp(seconds, zone).strftime("%Y-%m-%d %H:%M:%S")
    if _ZONED.search(text):
        try:
            stamp = dt.datetime.fromisoformat(text.replace(" ", "T", 1))
        except ValueError:
            return None
        return stamp.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
    text = re.sub(r"\.\d+$", "", text.replace("T", " ") if re.match(r"\d{4}-\d\d-\d\dT", text) else text)
    for fmt in _TIME_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt.replace("T", " ")).strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            continue
    return None


DEFAULT_ZONE = dt.timezone(dt.timedelta(hours=8))
_UNIX_TIME = re.compile(r"1\d{9}|1\d{12}")          # 2001-09 to 2033-05, in seconds or milliseconds
_ZONED = re.compile(r"\d(Z|[+-]\d\d:?\d\d)$")


def zone_of(config: IngestConfig) -> dt.timezone:
    sign = -1 if config.timezone.startswith("-") else 1
    hours, minutes = config.timezone[1:].split(":")
    return dt.timezone(sign * dt.timedelta(hours=int(hours), minutes=int(minutes)))


def _real_date(value: str) -> bool:
    """Whether a canonical time's day 29-31 exists in its month."""
    try:
        dt.date(int(value[:4]), int(value[5:7]), int(value[8:10]))
    except ValueError:
        return False
    return True


def channel_kind(value: object, channels: dict[str, str]) -> tuple[str, str]:
    """(kind, the name as written when the map does not know it): unknown and missing names are "other"."""
    found = channels.get(value) if type(value) is str else None  # most exports spell it as the map does
    if found:
        return found, ""
    name = str(value or "").strip()
    found = channels.get(name) or channels.get(_fold(name))
    return (found, "") if found else ("other", name)


def _fold(name: object) -> str:
    return re.sub(r"[\s_\-]+", "", str(name or "")).lower()


