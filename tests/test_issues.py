"""Issues above topics: hand-written messages from several cities with known issues, and the grouping's
independence from input order."""

import random

import numpy as np

from dedup.core import entities
from dedup.core.issues import IssueParams, anchors_of, group_issues
from dedup.core.segment import Segmenter

# (issue, subject, body): three issues told in different words, and a sibling at the next estate
MESSAGES = [
    ("plant", "金桂新城旁边搅拌站噪音扰民", "每天凌晨搅拌站还在施工，机器声音很大，老人孩子都睡不着。"),
    ("plant", "投诉金桂新城附近的混凝土搅拌站", "搅拌站粉尘和噪音严重影响我们金桂新城居民的生活，请环保部门查处。"),
    ("plant", "金桂新城搅拌站夜间施工太吵", "晚上十二点以后搅拌站的罐车进进出出，噪音大得没法休息。"),
    ("plant", "金桂新城居民反映搅拌站污染", "搅拌站离小区不到一百米，灰尘噪音天天都有。"),
    ("parking", "兰亭园开发商捆绑销售车位", "买房时开发商要求必须同时购买车位，否则不给办理交房手续。"),
    ("parking", "兰亭园车位捆绑销售是否合法", "兰亭园售楼处强制业主买车位，一个车位十几万，我们不同意。"),
    ("parking", "兰亭园强制购买车位", "开发商说不买车位就不能收房，这种捆绑销售车位的做法合理吗？"),
    ("subsidy", "咨询人才购房补贴申请条件", "我是去年引进的硕士，想问人才购房补贴需要社保缴满几个月？"),
    ("subsidy", "人才购房补贴迟迟没有发放", "申请人才购房补贴已经半年了，审核通过但一直没有到账。"),
    ("subsidy", "二手房能否申请人才购房补贴", "在本市买的二手房，能不能享受人才购房补贴政策？"),
    ("other", "石子岭小学门口交通拥堵", "每天放学时石子岭小学门口车辆乱停，孩子过马路很危险。"),
    ("other", "星悦酒店夜间KTV噪音", "星悦酒店楼下的KTV每天唱到凌晨，住在旁边的居民没法睡觉。"),
]


def _group(messages, params=IssueParams()):
    seg = Segmenter()
    texts = [s + "。" + b for _, s, b in messages]
    return group_issues([seg(s) for _, s, b in messages], [seg(t) for t in texts], texts, [1] * len(messages),
                        [entities.keys(t) for t in texts], params)


def _partition(labels) -> set[frozenset[int]]:
    groups: dict[int, set[int]] = {}
    for k, label in enumerate(np.asarray(labels).tolist()):
        groups.setdefault(label, set()).add(k)
    return {frozenset(g) for g in groups.values()}


def test_issues_join_wordings_and_keep_other_issues_apart():
    labels = _group(MESSAGES)
    truth = {}
    for k, (issue, _, _) in enumerate(MESSAGES):
        truth.setdefault(issue if issue != "other" else f"other{k}", set()).add(k)
    got = _partition(labels)
    # precision: no predicted issue mixes two true ones
    assert all(len({MESSAGES[k][0] if MESSAGES[k][0] != "other" else k for k in g}) == 1 for g in got)
    # recall: each true issue of several messages lies mostly in one predicted issue
    for issue in ("plant", "parking", "subsidy"):
        members = truth[issue]
        largest = max(len(members & g) for g in got)
        assert largest >= len(members) - 1, (issue, got)


def test_the_grouping_does_not_depend_on_input_order():
    base = _partition(_group(MESSAGES))
    for seed in range(5):
        order = list(range(len(MESSAGES)))
        random.Random(seed).shuffle(order)
        shuffled = _group([MESSAGES[k] for k in order])
        back = {frozenset(order[k] for k in g) for g in _partition(shuffled)}
        assert back == base


def test_anchors_are_the_rare_words_of_subjects():
    subjects = [["人才", "购房", "补贴"], ["人才", "购房", "补贴", "发放"], ["路灯", "不亮"], ["路灯", "坏"]] * 1
    anchors = anchors_of(subjects, share=0.5)
    assert "人才购房" in anchors[0] and "人才购房" in anchors[1]
    assert "不亮" not in anchors[2]  # used once: names nothing shared


def test_no_topics_and_no_words():
    assert _group([]).tolist() == []
    assert len(_group([("x", "的", "了")])) == 1
