"""Shared fixtures: a dozen hand-written suggestions whose topics are known."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

# (id, received_at, channel, content, topic)
SUGGESTIONS = [
    ("A1", "2019-03-01 08:00:00", "电话", "东昌府区古楼街道星光花园门口的路灯坏了三盏，晚上出行非常不方便，老人孩子容易摔倒，请尽快维修。", "light-gulou"),
    ("A2", "2019-03-01 09:30:00", "微信", "市民来电反映：东昌府区古楼街道星光花园门口的路灯坏了三盏，晚上出行非常不方便，老人孩子容易摔倒，请尽快维修。我叫张伟，电话13812345678。", "light-gulou"),
    ("A3", "2019-03-02 10:00:00", "网站", "您好，古楼街道星光花园门口的路灯坏了三盏，晚上出行特别不方便，老人孩子容易摔倒，请尽快维修！谢谢！", "light-gulou"),
    ("A4", "2019-03-03 11:00:00", "app", "东昌府区古楼街道星光花园门口的路灯坏了三盏，老人孩子容易摔倒，晚上出行非常不方便，请尽快维修。", "light-gulou"),
    ("B1", "2019-03-02 08:00:00", "邮箱", "临清市松林镇王庄村门口的路灯坏了三盏，晚上出行非常不方便，老人孩子容易摔倒，请尽快维修。", "light-songlin"),
    ("B2", "2019-03-04 08:00:00", "电话", "临清市松林镇王庄村门口的路灯坏了三盏，晚上出行非常不方便，老人孩子容易摔倒，请尽快维修。联系电话：0635-8888888", "light-songlin"),
    ("C1", "2019-03-01 12:00:00", "网站", "我在东昌府区买了房想提取住房公积金，材料交了二十天还没有审批，窗口说需要单位开证明，单位已经倒闭开不了证明。", "fund"),
    ("C2", "2019-03-05 12:00:00", "客户端", "我在东昌府区买了房想提取住房公积金，材料交了二十天还没有审批，单位已经倒闭开不了证明，窗口说需要单位开证明。", "fund"),
    ("C3", "2019-03-06 12:00:00", "wechat", "尊敬的领导：我在东昌府区买了房想提取住房公积金，材料交了二十天还没有审批，窗口说需要单位开证明，单位已经倒闭开不了证明。盼复。", "fund"),
    ("D1", "2019-03-01 20:00:00", "phone", "高唐县鱼邱湖街道龙湾小区今年冬天暖气不热，室内温度只有十二度左右，家里有老人和婴儿实在受不了。", "heat"),
    ("D2", "2019-03-02 20:00:00", "email", "高唐县鱼邱湖街道龙湾小区今年冬天暖气不热，室内温度只有十二度左右，家里有老人和婴儿实在受不了，暖气费已经按时缴纳了。", "heat"),
    ("E1", "2019-03-03 07:00:00", "网站", "莘县燕塔街道的孩子上学难，离家最近的学校不让报名，户口和房产都在片区内。", "school"),
]

HEADER = ["id", "received_at", "channel", "content"]


def write_csv(path: Path, rows, header=HEADER, encoding="utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def sample_parts(folder: Path, cuts: tuple[int, ...]) -> list[Path]:
    """The bundled sample export cut at ``cuts`` into consecutive parts (a first run, then nights), as CSV files."""
    with (Path(__file__).resolve().parents[1] / "sample_data" / "export.csv").open(encoding="utf-8-sig",
                                                                                   newline="") as fh:
        rows = list(csv.DictReader(fh))
    folder.mkdir(parents=True, exist_ok=True)
    bounds = [0, *cuts, len(rows)]
    return [write_csv(folder / f"part{k}.csv", [list(r.values()) for r in rows[lo:hi]], list(rows[0]))
            for k, (lo, hi) in enumerate(zip(bounds, bounds[1:]))]


@pytest.fixture
def suggestions_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "night.csv", [s[:4] for s in SUGGESTIONS])


@pytest.fixture
def gold_topics() -> dict[str, str]:
    return {s[0]: s[4] for s in SUGGESTIONS}


def same_partition(pred: dict[str, str], gold: dict[str, str]) -> bool:
    """True when pred and gold group the same ids together, whatever the labels."""
    def groups(labels):
        out: dict[str, set] = {}
        for k, v in labels.items():
            out.setdefault(v, set()).add(k)
        return sorted(sorted(g) for g in out.values())
    return groups(pred) == groups(gold)
