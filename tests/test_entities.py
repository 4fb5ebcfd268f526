"""Places named by their kind (dedup/core/entities.py), on hand-written texts from several cities, and the
place veto they feed: a letter reused for another estate, school or KTV is kept apart from its original."""

from __future__ import annotations

import pytest

from dedup.config import Config
from dedup.core.entities import keys
from dedup.core.gazetteer import example_path, load_gazetteer
from dedup.core.segment import node_places, places_conflict


@pytest.mark.parametrize("text,expected", [
    ("我是金桂新城小区的业主，小区旁边的搅拌站噪音很大", {"金桂"}),          # 长沙: suffixes stacked
    ("金桂新城门口的路灯坏了", {"金桂"}),                                   # the same estate, written short
    ("海淀区万柳书院小区停车难", {"书院"}),                                 # 北京: the name's last two characters
    ("朝阳区望京花园西区的垃圾站臭气熏天", {"望京"}),
    ("成都市武侯区棕北小区电梯坏了", {"棕北"}),                              # 成都
    ("石子岭小学门口交通拥堵", {"子岭"}),                                   # the key is the name's end
    ("星悦酒店KTV噪音扰民", {"星悦"}),
    ("我们小区的路灯坏了", set()),                                          # generic
    ("冠县李楼村附近的医院看病难", set()),                                  # 附近的医院 names no hospital
    ("最近KTV每天夜里开工到3点", set()),                                    # 最近 is no name
    ("广州天河区珠江新城广场的喷泉坏了", {"珠江"}),                          # 广州
])
def test_place_keys_from_texts_of_several_cities(text, expected):
    assert keys(text) == expected


def test_a_letter_reused_for_another_estate_is_kept_apart_and_its_copies_are_not():
    letter = "我是{}的业主，小区门口夜宵摊油烟扰民，每天夜里吵到凌晨两点，请城管部门尽快整治。"
    a, b, c = letter.format("兰亭园滨江苑"), letter.format("锦绣之城小区"), letter.format("兰亭园滨江苑小区")
    pa, pb, pc = (node_places([], t, entities=True) for t in (a, b, c))
    assert places_conflict(pa, pb) and not places_conflict(pa, pc)


def test_the_gazetteer_decides_where_it_knows_the_place():
    tokens = ["东昌府区", "古楼街道", "星光花园", "路灯", "坏"]
    text = "东昌府区古楼街道星光花园门口的路灯坏了"
    liaocheng = load_gazetteer(example_path())
    assert node_places(tokens, text, True, liaocheng)[3] == frozenset({"星光花园"})  # not mixed with 星光
    assert node_places(tokens, text, True)[3] == frozenset({"星光"})  # without it, the place's key


def test_entities_are_on_by_default_and_recorded_with_the_index():
    from dedup.batch.plan import index_params

    assert Config().sign.entities and index_params(Config())["entities"] is True


def test_a_run_keeps_a_reused_letter_apart_from_its_original(tmp_path):
    import csv

    from dedup.batch.pipeline import run

    letter = ("尊敬的领导：我是{}的业主，小区门口的夜宵摊每天营业到凌晨两点，油烟和噪音严重影响居民休息，"
              "多次向城管部门反映没有结果，恳请相关部门尽快整治，还居民一个安静的环境。")
    rows = [("R1", "2019-03-01 08:00:00", "网站", letter.format("兰亭园滨江苑")),
            ("R2", "2019-03-01 09:00:00", "微信", letter.format("兰亭园滨江苑小区")),
            ("R3", "2019-03-01 10:00:00", "网站", letter.format("锦绣之城小区"))]
    export = tmp_path / "export.csv"
    with export.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([("id", "received_at", "channel", "content"), *rows])
    topics = {}
    for entities in (False, True):
        out = tmp_path / f"out-{entities}"
        run([export], tmp_path / f"d-{entities}.sqlite", out,
            Config().with_overrides({"sign.entities": entities}), model_path=tmp_path / "none")
        with (out / "assignments.csv").open(encoding="utf-8-sig", newline="") as fh:
            topics[entities] = {r["id"]: r["topic_id"] for r in csv.DictReader(fh)}
    assert len(set(topics[False].values())) == 1  # without: the reused letter joins its original
    assert topics[True]["R1"] == topics[True]["R2"] != topics[True]["R3"]
