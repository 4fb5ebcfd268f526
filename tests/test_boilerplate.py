"""Boilerplate learned from the data: a template shared by unrelated complaints goes, a campaign stays."""

import itertools

import numpy as np

from dedup.core.boilerplate import discount, learn, sample_nodes
from dedup.core.signatures import char_shingle_hashes, char_shingles, shingle_hash

TEMPLATE = "来电人反映其住在{}，{}，来电人希望有关部门尽快处理"
# unrelated complaints from several cities, each sent once through the hotline's template
PLACES = ["成都市武侯区玉林小区", "武汉市洪山区光谷街道", "聊城市东昌府区古楼街道", "杭州市西湖区翠苑三区", "西安市雁塔区曲江池"]
PROBLEMS = ["楼下烧烤店油烟太大窗户都不敢开", "小区电梯一个月坏了三次", "路灯坏了半个月没人修", "工地夜里施工吵得睡不着",
            "自来水发黄已经好几天", "垃圾站旁边的垃圾堆成山没人清运", "孩子被划到五公里外的学校上学",
            "物业擅自把停车费涨了一倍"]
# one campaign: many copies of one letter about one estate, with small edits
CAMPAIGN = "金港家园业主联名反映开发商捆绑销售车位不买车位不给办理交房手续车位价格远高于周边请住建部门查处"


def _texts():
    unrelated = [TEMPLATE.format(p, q) for p, q in itertools.product(PLACES, PROBLEMS)]
    campaign = [CAMPAIGN[:k] + "，" + CAMPAIGN[k:] + ("谢谢" if k % 2 else "") for k in range(10, 40)]
    return unrelated, campaign


def test_template_is_boilerplate_and_campaign_is_not():
    unrelated, campaign = _texts()
    texts = unrelated + campaign
    hashes, lengths = char_shingle_hashes(texts, 3)
    learned = learn(hashes, lengths, min_share=0.2, min_count=5, coherence=0.3)
    found = set(learned.hashes.tolist())
    template_shingles = {shingle_hash(s) for s in char_shingles("来电人希望有关部门尽快处理", 3)}
    campaign_shingles = {shingle_hash(s) for s in char_shingles(CAMPAIGN, 3)}
    assert template_shingles <= found
    assert not campaign_shingles & found


def test_discount_drops_boilerplate_but_never_empties_a_text():
    hashes = np.array([1, 2, 3, 2, 3, 3], dtype=np.uint32)
    lengths = np.array([3, 2, 1])
    kept, new_lengths = discount(hashes, lengths, np.array([2, 3], dtype=np.uint32))
    assert kept.tolist() == [1, 2, 3, 3] and new_lengths.tolist() == [1, 2, 1]  # texts 2 and 3: all boilerplate


def test_discounting_separates_unrelated_template_texts():
    """Two unrelated hotline texts look alike through the template; without it they do not."""
    from dedup.core.verify import exact_jaccard

    unrelated, campaign = _texts()
    texts = unrelated + campaign
    hashes, lengths = char_shingle_hashes(texts, 3)
    learned = learn(hashes, lengths, min_share=0.2, min_count=5)
    i, j = np.array([0, len(unrelated)]), np.array([9, len(unrelated) + 5])  # two unrelated; two campaign copies
    before = exact_jaccard(hashes, np.cumsum(lengths), lengths, i, j)
    h2, l2 = discount(hashes, lengths, learned.hashes)
    after = exact_jaccard(h2, np.cumsum(l2), l2, i, j)
    assert before[0] > 0.2 and after[0] < 0.05
    assert after[1] > 0.8


def test_sample_is_order_free():
    keys = [f"id{k:05d}" for k in range(1000)]
    picked = {keys[k] for k in sample_nodes(keys, 100)}
    shuffled = list(reversed(keys))
    assert {shuffled[k] for k in sample_nodes(shuffled, 100)} == picked


def test_generic_paragraphs_that_are_most_of_every_letter_are_boilerplate():
    """Letters padded with the same paragraphs look alike whatever they are about: the padding goes."""
    import random

    padding = ["我在这里生活了二十多年对这座城市有很深的感情", "不知道这个事情该找哪个部门只好在这里留言",
               "我们都是普通老百姓只希望过上安稳的日子", "相信政府一定会为老百姓做主", "请领导在百忙之中抽空看一看",
               "这件事情已经困扰我们很长时间了身心俱疲"]
    rng = random.Random(4)
    letters = []
    for place, problem in itertools.product(PLACES, PROBLEMS):
        paragraphs = rng.sample(padding, 4) + [place + problem]
        rng.shuffle(paragraphs)
        letters.append("，".join(paragraphs))
    hashes, lengths = char_shingle_hashes(letters, 3)
    learned = learn(hashes, lengths, min_share=0.2, min_count=5)
    found = set(learned.hashes.tolist())
    assert {shingle_hash(s) for s in char_shingles("相信政府一定会为老百姓做主", 3)} <= found
    assert not {shingle_hash(s) for s in char_shingles(PROBLEMS[0], 3)} & found


def test_explain_names_the_clauses_that_are_mostly_boilerplate():
    from dedup.config import Config
    from dedup.core.signatures import char_shingles, shingle_hash
    from dedup.tools.explain import discounted_clauses

    config = Config()
    learned = frozenset(shingle_hash(s) for s in char_shingles("不知道该找哪个部门反映", 3) + char_shingles("感谢领导", 3))
    text = "你好，梧桐里小区的电梯坏了三天，不知道该找哪个部门反映。感谢领导！"
    assert discounted_clauses(text, config, learned) == ["不知道该找哪个部门反映", "感谢领导"]
    assert discounted_clauses("梧桐里小区的电梯坏了三天", config, learned) == []
