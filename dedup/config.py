"""Run configuration: frozen dataclasses with defaults, loadable from TOML or JSON.

Every run stores ``Config.to_dict()`` so a result can be traced to the settings
that made it. Overrides use dotted keys (``cluster.threshold=0.6``), the same
form in config files, ``--set`` flags and tuning grids.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dedup.core.records import CHANNELS

SHINGLE_KINDS = ("word", "char")


class ConfigError(ValueError):
    """A configuration value or file a user can fix."""


@dataclass(frozen=True)
class IngestConfig:
    # Our column -> accepted header names, matched after case/space folding.
    columns: dict[str, tuple[str, ...]] = field(default_factory=lambda: {
        "id": ("id", "编号", "留言编号", "工单编号"),
        "received_at": ("received_at", "时间", "留言时间", "受理时间", "time"),
        "channel": ("channel", "渠道", "来源"),
        "content": ("content", "内容", "留言详情", "诉求内容", "text", "detail"),
        "title": ("title", "标题", "留言主题", "subject"),
        "department": ("department", "部门", "承办单位", "责任单位", "label"),
    })
    max_content_chars: int = 20000
    # An input file larger than this (an XLSX: expanded) is refused whole; so is a workbook of more cells.
    max_file_bytes: int = 2 << 30
    max_cells: int = 20_000_000
    # Times later than now + this many days are clock errors: like a missing or unreadable time (or one
    # before ``earliest``), the item is kept with its export's date and flagged in flagged.csv.
    future_tolerance_days: int = 1
    earliest: str = "2000-01-01"
    # The zone that times without one are in; times with a zone (Z, +08:00) and Unix times are converted to it.
    timezone: str = "+08:00"
    # Channel name in the export (folded: case and spaces) -> kind (records.CHANNELS). A name not listed is
    # kept as "other" and counted in the run summary; a missing channel column or cell is "other" too.
    channels: dict[str, str] = field(default_factory=lambda: {
        "phone": "phone", "电话": "phone", "热线": "phone", "12345": "phone", "12345热线": "phone",
        "市长热线": "phone", "tel": "phone",
        "email": "email", "e-mail": "email", "mail": "email", "邮箱": "email", "邮件": "email", "电子邮件": "email",
        "website": "website", "web": "website", "网站": "website", "网页": "website", "门户网站": "website",
        "wechat": "wechat", "微信": "wechat", "微信公众号": "wechat", "公众号": "wechat",
        "app": "app", "客户端": "app", "手机客户端": "app", "应用": "app",
        "paper": "paper", "意见簿": "paper", "意见箱": "paper", "信件": "paper", "来信": "paper", "纸质": "paper",
        "電話": "phone", "郵箱": "email", "網站": "website", "客戶端": "app", "意見簿": "paper",
        "other": "other",
    })

    def __post_init__(self) -> None:
        bad = sorted({kind for kind in self.channels.values() if kind not in CHANNELS})
        if bad:
            raise ConfigError(f"ingest.channels maps to unknown kind(s) {', '.join(bad)}; "
                              f"kinds are {', '.join(CHANNELS)}")
        if not re.fullmatch(r"[+-](0\d|1[0-4]):[0-5]\d", self.timezone):
            raise ConfigError(f"ingest.timezone must look like +08:00, got {self.timezone!r}")
        try:
            dt.date.fromisoformat(self.earliest)
        except ValueError as exc:
            raise ConfigError(f"ingest.earliest must be a date like 2000-01-01, got {self.earliest!r}") from exc


@dataclass(frozen=True)
class PlacesConfig:
    # A gazetteer file (dedup/core/gazetteer.py: name,kind,parent,aliases) of the city's counties, towns, estates,
    # roads and units; a relative path in a config file is read from the config file's folder. Empty: no
    # gazetteer, and places are those the texts name by their kind (dedup/core/entities.py), in any city.
    gazetteer: str = ""


@dataclass(frozen=True)
class NormalizeConfig:
    # Prefixes that channels add and that carry no meaning of the complaint.
    boilerplate: tuple[str, ...] = (
        "市民来电反映", "市民来电", "来电人反映", "来电反映", "网友留言", "网友反映", "微信留言", "微信用户反映",
        "邮件内容", "客户端留言", "群众反映", "您好", "你好", "尊敬的领导", "尊敬的市长", "领导您好", "市长您好",
    )
    mask_contacts: bool = True


@dataclass(frozen=True)
class SignConfig:
    num_perm: int = 128
    seed: int = 1
    # Character 3-grams scored best on the generated data (B-cubed F1 0.996 at
    # threshold 0.4, against 0.974 for word bigrams); see README "Quality".
    shingle: str = "char"   # "char" or "word" (jieba tokens)
    ngram: int = 3
    # Boilerplate learned from the data (dedup/core/boilerplate.py): shingles in at least boilerplate_share of
    # a sample of boilerplate_sample distinct texts (and boilerplate_min_count of them) whose texts are
    # otherwise unalike (median Jaccard below boilerplate_coherence) are left out of every text's set.
    # Places named by their kind in the text (金桂新城小区, 星悦酒店: dedup/core/entities.py) join the gazetteer's
    # at the finest level, so the place veto keeps apart letters reused for another estate, school or KTV
    # in a city the gazetteer does not know.
    entities: bool = True
    boilerplate: bool = True
    boilerplate_share: float = 0.05
    boilerplate_min_count: int = 20
    boilerplate_coherence: float = 0.3
    boilerplate_sample: int = 20000

    def __post_init__(self) -> None:
        if self.shingle not in SHINGLE_KINDS:
            raise ConfigError(f"sign.shingle must be one of {SHINGLE_KINDS}, got {self.shingle!r}")
        if not 1 <= self.ngram <= 8:
            raise ConfigError(f"sign.ngram must be in 1..8, got {self.ngram}")
        if not 16 <= self.num_perm <= 1024:
            raise ConfigError(f"sign.num_perm must be in 16..1024, got {self.num_perm}")
        if not 0.0 < self.boilerplate_share < 1.0 or not 0.0 <= self.boilerplate_coherence <= 1.0:
            raise ConfigError("sign.boilerplate_share must be in (0, 1) and sign.boilerplate_coherence in [0, 1]")
        if self.boilerplate_min_count < 2 or self.boilerplate_sample < 100:
            raise ConfigError("sign.boilerplate_min_count must be at least 2 and sign.boilerplate_sample at least 100")


@dataclass(frozen=True)
class ClusterConfig:
    # The Jaccard a pair must reach, and the one the LSH bands aim at (datasketch's optimum for it). With a
    # pair scorer only the latter: 0.3 there (pipelines/scored.toml), candidate recall on the real labelled
    # pairs 0.70 at 0.4 and 0.84 at 0.3 (benchmarks/RESULTS.md).
    threshold: float = 0.4
    # LSH bands x rows; 0 means datasketch's optimum for threshold and num_perm, with a missed
    # pair weighted fn_weight against a needless candidate 1 - fn_weight. Verification is cheap
    # and a missed pair splits a topic, so misses weigh more (0.9 gives 42 x 3 at 0.4 and 128).
    bands: int = 0
    rows: int = 0
    fn_weight: float = 0.9
    # Different places at the same level (two streets, two estates) veto a merge.
    place_veto: bool = True
    # Work per node, bounded whatever the data's shape (joins.Bounds; 0 turns a bound off): in one
    # band's bucket a node meets at most bucket_centres centres, the first by priority; of all it meets,
    # the candidates sharing most bands are verified; at most pair_chunk raw pairs are held at once.
    bucket_centres: int = 4
    candidates: int = 24
    pair_chunk: int = 8_000_000
    # verify a text's candidates in turns, most bands shared first, stopping at the first that accepts it
    first_accepted: bool = True
    # A pair scorer (dedup/core/scorer.py; "default" is the shipped one, fitted on real, stress and generated
    # pairs; `dedup tune --fit-scorer` fits another): a pair the place veto lets through is accepted when its
    # match probability reaches match_probability. "none" (the default until nights with it agree with a
    # rebuild: docs/design.md): a pair is accepted when its Jaccard reaches threshold.
    scorer: str = "none"
    match_probability: float = 0.5
    # A night cannot see the centres later nights bring: a letter about one object joins the centre of its
    # sibling (the same letter, another object) that arrived first. A night accepts a pair at this stricter
    # probability (0: at match_probability). Stress (a), 10 nights: nightly pairwise precision 0.917 at
    # 0.5, 0.968 at 0.8 (benchmarks/RESULTS.md).
    night_probability: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ConfigError(f"cluster.threshold must be in (0, 1], got {self.threshold}")
        if not 0.0 < self.match_probability < 1.0:
            raise ConfigError(f"cluster.match_probability must be in (0, 1), got {self.match_probability}")
        if not 0.0 <= self.night_probability < 1.0:
            raise ConfigError(f"cluster.night_probability must be 0 or in (0, 1), got {self.night_probability}")
        if not 0.0 < self.fn_weight < 1.0:
            raise ConfigError(f"cluster.fn_weight must be in (0, 1), got {self.fn_weight}")
        if (self.bands == 0) != (self.rows == 0):
            raise ConfigError("cluster.bands and cluster.rows must be set together")
        for name in ("bucket_centres", "candidates", "pair_chunk"):
            if getattr(self, name) < 0:
                raise ConfigError(f"cluster.{name} must be 0 (no bound) or more, got {getattr(self, name)}")


@dataclass(frozen=True)
class ClassifyConfig:
    model: str = "models/department.joblib"
    review_below: float = 0.6
    # A topic is routed by its centre and then its most copied texts, up to this many (of the 8 its
    # keywords read). 3 routes a third fewer texts (1.28M: classify 9.0 s against 13.7 s) and gave up
    # ~12 of 123k topics' top-1 and flagged 21 more for review on generated data; see README "Routing".
    members: int = 8

    def __post_init__(self) -> None:
        if not 1 <= self.members <= 8:
            raise ConfigError(f"classify.members must be in 1..8, got {self.members}")


_UNITS = {"": 1, "b": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "kb": 1000, "mb": 1000**2, "gb": 1000**3}


def parse_size(value: str | int, key: str = "size") -> int:
    """Bytes from ``4GiB``, ``512 MiB``, ``2e9`` or a plain number of bytes."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    text = str(value).strip().lower().replace(" ", "")
    digits = text.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = text[len(digits):]
    try:
        number = float(digits)
    except ValueError:
        number = -1
    if unit not in _UNITS or number <= 0:
        raise ConfigError(f"{key} must be a size such as 4GiB or 512MiB, got {value!r}")
    return int(number * _UNITS[unit])


@dataclass(frozen=True)
class RunConfig:
    # The most memory a run may use, all its processes together. A run estimates its peak from the size
    # of its inputs before it reads them (see pipeline.memory_estimate) and refuses, storing nothing, when
    # the estimate is above the budget; the clustering's pair chunks are planned from it.
    memory_budget: str = "4GiB"
    # Every stage in the run's own process, one after another: no worker, no forked writer or model
    # process, no helper thread. The plain path to read first and to compare the fast one against
    # (the same topics, tested); slower. DEDUP_SERIAL=1 does the same for any command.
    serial: bool = False

    def __post_init__(self) -> None:
        if self.budget_bytes < 256 << 20:
            raise ConfigError(f"run.memory_budget must be at least 256MiB, got {self.memory_budget!r}")

    @property
    def budget_bytes(self) -> int:
        return parse_size(self.memory_budget, "run.memory_budget")


@dataclass(frozen=True)
class DispatchConfig:
    # Shandong's hotline rules: a unit answers within 5 working days, may return a misrouted order within
    # 2, and an approved extension normally adds at most 10.
    days: int = 5
    return_within: int = 2
    extension_days: int = 10
    # a CSV of day,workday[,note] rows read before the official calendar (a year not yet published, a
    # local closure); a relative path in a config file is read from the config's folder
    calendar: str = ""
    contact: str = "请在办结后按工单编号回复办理结果、答复内容、办结时间和审核领导。"
    # the follow-up answers a bulletin counts as satisfied (of 非常满意, 满意, 基本满意, 不满意, 非常不满意)
    satisfied: tuple[str, ...] = ("非常满意", "满意", "基本满意")

    def __post_init__(self) -> None:
        levels = ("非常满意", "满意", "基本满意", "不满意", "非常不满意")
        if not self.satisfied or set(self.satisfied) - set(levels):
            raise ConfigError(f"dispatch.satisfied must name some of {', '.join(levels)}, got {self.satisfied!r}")
        for name in ("days", "return_within", "extension_days"):
            if getattr(self, name) < 0:
                raise ConfigError(f"dispatch.{name} cannot be negative, got {getattr(self, name)}")


@dataclass(frozen=True)
class Config:
    ingest: IngestConfig = field(default_factory=IngestConfig)
    places: PlacesConfig = field(default_factory=PlacesConfig)
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)
    sign: SignConfig = field(default_factory=SignConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    classify: ClassifyConfig = field(default_factory=ClassifyConfig)
    run: RunConfig = field(default_factory=RunConfig)
    dispatch: DispatchConfig = field(default_factory=DispatchConfig)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self), ensure_ascii=False))

    def with_overrides(self, overrides: dict[str, Any]) -> "Config":
        """Return a copy with dotted-key overrides applied (``{"cluster.threshold": 0.6}``)."""
        sections: dict[str, dict[str, Any]] = {}
        for key, value in overrides.items():
            section, _, name = key.partition(".")
            if not name or section not in {f.name for f in dataclasses.fields(self)}:
                raise ConfigError(f"unknown setting {key!r}")
            sub = getattr(self, section)
            known = {f.name: f for f in dataclasses.fields(sub)}
            if name not in known:
                raise ConfigError(f"unknown setting {key!r}; {section} has {', '.join(known)}")
            sections.setdefault(section, {})[name] = _coerce(getattr(sub, name), value, key)
        changed = {s: dataclasses.replace(getattr(self, s), **kv) for s, kv in sections.items()}
        return dataclasses.replace(self, **changed)


def _coerce(current: Any, value: Any, key: str) -> Any:
    """Convert a string or JSON value to the type of the default it replaces."""
    try:
        if isinstance(current, bool):
            if isinstance(value, str):
                return value.strip().lower() in {"1", "true", "yes", "on"}
            return bool(value)
        if isinstance(current, int):
            return int(value)
        if isinstance(current, float):
            return float(value)
        if isinstance(current, tuple):
            return tuple(value.split(",")) if isinstance(value, str) else tuple(value)
        if isinstance(current, dict):
            return {k: v if isinstance(v, str) else tuple(v) for k, v in dict(value).items()}
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"bad value for {key}: {value!r}") from exc


def flatten(data: dict[str, Any]) -> dict[str, Any]:
    """``{"cluster": {"threshold": 0.6}}`` -> ``{"cluster.threshold": 0.6}``."""
    flat: dict[str, Any] = {}
    for section, values in data.items():
        if not isinstance(values, dict):
            raise ConfigError(f"config section {section!r} must be a table")
        for name, value in values.items():
            flat[f"{section}.{name}"] = value
    return flat


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Defaults, then the file (TOML or JSON), then the overrides."""
    config = Config()
    if path is not None:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
            data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
        except FileNotFoundError as exc:
            raise ConfigError(f"{path}: config file not found") from exc
        except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not a valid config file: {exc}") from exc
        flat = flatten(data)
        for key in ("places.gazetteer", "cluster.scorer", "dispatch.calendar"):
            where = flat.get(key)
            named = isinstance(where, str) and where.lower() not in ("", "none", "default")
            if named and not Path(where).is_absolute():
                flat[key] = str(path.parent / where)  # beside the config file, from anywhere
        config = config.with_overrides(flat)
    if overrides:
        config = config.with_overrides(overrides)
    return config


def dump_toml(flat: dict[str, Any]) -> str:
    """Write dotted settings as a TOML file that ``load_config`` reads back."""
    sections: dict[str, dict[str, Any]] = {}
    for key, value in flat.items():
        section, _, name = key.partition(".")
        sections.setdefault(section, {})[name] = value
    out = []
    for section, values in sections.items():
        out.append(f"[{section}]")
        for name, value in values.items():
            out.append(f"{name} = {json.dumps(value, ensure_ascii=False)}")
        out.append("")
    return "\n".join(out)
