"""Generate realistic exports of citizen suggestions with ground truth.

A topic is one problem of one kind at one place. Its items are copies made
the ways people make them: repeats, cross-channel copies, form letters,
greetings, names and phone numbers, typos, dropped or reordered sentences,
synonyms. Hard negatives reuse another topic's words at a different place and
are different topics. Topic sizes are heavy-tailed with the real ratio
(1.28M items into about 120k topics, 10.7 per topic on average).
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dedup.core.gazetteer import Gazetteer, example_path, load_gazetteer

ITEMS_PER_TOPIC = 1_280_000 / 120_000
COUNTY = "county"  # a kind answered by the government of the county where it happens

# kind: (unit, openers with {place}, details); requests are shared
KINDS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "streetlight": ("市城管局", ("{place}的路灯坏了{n}盏", "{place}路段的路灯晚上不亮"), (
        "已经有{d}天了", "晚上出行非常不方便", "老人和孩子走夜路容易摔倒", "附近还有一所学校",
        "电动车经过时看不清路面", "之前打电话问过物业说不归他们管", "路灯杆也有些倾斜")),
    "road": ("市交通运输局", ("{place}的道路坑坑洼洼", "{place}附近的路面破损严重"), (
        "下雨天到处是积水", "车辆经过时尘土飞扬", "已经发生过{n}起电动车摔倒事故", "这条路是居民出行的必经之路",
        "坑洞最深的地方有{n}十厘米", "修了一半就停工了{d}天")),
    "heating": ("市热力公司", ("{place}今年冬天暖气不热", "{place}的供暖温度一直不达标"), (
        "室内温度只有{n}度左右", "家里有老人和婴儿实在受不了", "暖气费已经按时缴纳了", "打热力公司电话一直没人接",
        "楼上楼下都是这种情况", "晚上只能开电暖器取暖")),
    "housing_fund": ("市住房公积金管理中心", ("我在{place}买了房想提取住房公积金", "{place}的职工办理公积金贷款遇到困难"), (
        "材料交了{d}天还没有审批", "窗口工作人员说需要单位开证明", "单位已经倒闭开不了证明", "网上办理系统一直提示错误",
        "咨询电话始终占线", "按规定应该可以提取")),
    "medical_insurance": ("市医疗保障局", ("{place}的居民医保报销比例太低", "在{place}看病时医保卡无法结算"), (
        "住院花了{n}万元只报了一小部分", "异地就医备案手续太复杂", "药店刷卡总是显示系统故障", "慢性病门诊不能报销",
        "来回跑了{n}趟都没办成", "家里经济条件困难")),
    "school": ("市教育局", ("{place}的孩子上学难", "{place}适龄儿童入学划片不合理"), (
        "离家最近的学校不让报名", "要到{n}公里外的学校上学", "班级人数超过{n}十人", "学校周边交通拥堵存在安全隐患",
        "户口和房产都在片区内", "多次找学校都没有结果")),
    "construction_noise": ("市生态环境局", ("{place}附近的工地夜间施工噪音扰民", "{place}旁边工地晚上一直施工"), (
        "每天晚上施工到凌晨{n}点", "搅拌机和渣土车的声音特别大", "孩子马上要考试无法休息", "已经持续了{d}天",
        "工地也没有办理夜间施工许可", "粉尘飘到居民家里")),
    "market": ("市市场监管局", ("{place}的农贸市场卖的肉有问题", "{place}一家超市销售过期食品"), (
        "买回家发现已经变质", "商家拒绝退换", "价格标签和结账价格不一致", "市场里卫生条件很差",
        "已经有{n}个人吃了拉肚子", "保存了购物小票")),
    "rural_water": (COUNTY, ("{place}自来水经常停水", "{place}的自来水水质发黄"), (
        "一停就是{d}天", "村里老人只能去几里外挑水", "水里有很多泥沙不能喝", "水管老化经常漏水",
        "村委会说没有资金维修", "夏天用水高峰更严重")),
    "village_road": (COUNTY, ("{place}的村路一直没有硬化", "{place}村村通道路年久失修"), (
        "一下雨全是泥没法走", "孩子上学要绕{n}里路", "农产品运不出去", "村里多次申请都没有批下来",
        "路两边的排水沟也堵了", "拖拉机经常陷在泥里")),
    "garbage": ("市城管局", ("{place}的垃圾好几天没人清运", "{place}垃圾桶旁边堆满了垃圾"), (
        "天气热了臭气熏天", "招来很多蚊子苍蝇", "已经堆了{d}天", "垃圾桶数量太少不够用",
        "环卫工人说清运车坏了", "影响周边居民生活")),
    "property_certificate": ("市住房和城乡建设局", ("{place}的房子交房{n}年了还办不了房产证", "{place}小区业主迟迟拿不到不动产证"), (
        "开发商一直推脱", "孩子上学需要房产证", "房款早已全部付清", "听说开发商欠了税费",
        "业主们多次找开发商没有结果", "希望政府督促开发商")),
    "wage_arrears": ("市人力资源和社会保障局", ("{place}一家建筑公司拖欠农民工工资", "我们在{place}的工地干活被拖欠工资"), (
        "共有{n}十多名工人", "拖欠金额大约{n}十万元", "老板一直躲着不见", "马上要过年了家里急用钱",
        "去劳动监察大队反映过", "有考勤记录和工资条为证")),
    "pension": ("市人力资源和社会保障局", ("{place}的退休职工养老金待遇问题", "{place}企业退休人员养老保险认证困难"), (
        "养老金已经{n}个月没有按时发放", "认证系统操作太复杂老人不会用", "社保缴费年限计算有误", "单位改制后档案丢失",
        "去社保窗口排队要半天", "希望能提供上门认证服务")),
    "bus": ("市交通运输局", ("{place}没有公交车经过", "{place}的公交线路班次太少"), (
        "居民出行只能打车", "早上等车要等{n}十分钟", "老人去医院很不方便", "附近有几千户居民",
        "建议增加一条公交线路", "公交站台也没有遮雨棚")),
    "power": ("市供电公司", ("{place}最近经常停电", "{place}电压不稳"), (
        "一天停电{n}次", "家里的电器烧坏了好几样", "停电前也没有通知", "夏天开空调就跳闸",
        "变压器容量太小", "冰箱里的东西都坏了")),
    "gas": ("市燃气公司", ("{place}的天然气一直通不了", "{place}燃气管道存在安全隐患"), (
        "交了开户费{n}年还没通气", "管道锈蚀闻到有燃气味", "冬天只能用电做饭", "燃气公司说要等统一安排",
        "担心发生爆炸事故", "请尽快派人检修")),
    "city_water": ("市自来水公司", ("{place}自来水水压太低", "{place}停水没有提前通知"), (
        "楼上几层根本上不去水", "停水{d}天没有说明原因", "水表读数和实际用水量不符", "自来水有一股漂白粉味",
        "家里没法洗衣做饭", "打电话说在抢修")),
    "hospital": ("市卫生健康委", ("{place}附近的医院看病难", "{place}卫生院服务态度差"), (
        "挂号要排队{n}个小时", "医生看病不到五分钟", "乱开检查和药品", "病房环境脏乱差",
        "急诊没有医生值班", "收费项目不透明")),
    "factory_pollution": ("市生态环境局", ("{place}附近的工厂偷排废气", "{place}一家化工厂污染严重"), (
        "晚上味道特别刺鼻", "河里的鱼都死了", "附近很多居民咳嗽", "工厂烟囱冒黑烟",
        "排污口的水是黑色的", "已经持续{n}个多月")),
    "illegal_building": ("市自然资源和规划局", ("{place}有人私搭乱建", "{place}小区一楼住户违规扩建"), (
        "占用了公共绿地", "挡住了消防通道", "影响楼上住户采光", "物业劝阻也不听",
        "违建面积有{n}十平方米", "存在很大的安全隐患")),
    "parking": ("市公安局", ("{place}路口车辆乱停乱放", "{place}的交通秩序混乱"), (
        "早晚高峰严重拥堵", "人行道被车辆占满", "经常发生剐蹭事故", "红绿灯时间设置不合理",
        "学生上下学很危险", "希望交警加强管理")),
    "land_compensation": (COUNTY, ("{place}征地补偿款没有到位", "{place}的土地被征用补偿不合理"), (
        "补偿标准比周边低很多", "征地{n}年了钱还没发", "村干部说钱已经拨下来了", "一共涉及{n}十多户村民",
        "地上的庄稼也没有赔偿", "要求公开补偿明细")),
    "village_affairs": (COUNTY, ("{place}村务不公开", "{place}的村干部办事不公"), (
        "村里的账目从来不公布", "低保名额都给了亲戚", "集体土地承包不透明", "村民多次要求查账被拒绝",
        "涉及金额有{n}十万元", "希望上级派人调查")),
    "veterans": ("市退役军人事务局", ("{place}的退役军人优待政策没有落实", "我是{place}的退伍老兵"), (
        "每年的优待金没有发放", "安置工作一直没有着落", "参战补助没有认定", "去了{n}次都说在研究",
        "当年服役{n}年", "希望得到应有的待遇")),
    "disability": ("市残联", ("{place}的残疾人补贴没有领到", "{place}残疾证办理困难"), (
        "两项补贴已经停发{n}个月", "评残要跑好几个地方", "家里只有一个劳动力", "无障碍设施很不完善",
        "申请了康复救助没有回复", "孩子是先天残疾")),
    "irrigation": ("市水利局", ("{place}的农田灌溉渠道堵塞", "{place}的机井坏了没法浇地"), (
        "小麦马上要浇返青水", "渠道{n}年没有清淤", "影响几百亩庄稼", "村里自己出钱修不起",
        "上游截水下游用不上", "抗旱形势很严峻")),
    "farm_subsidy": ("市农业农村局", ("{place}的种粮补贴没有发到位", "{place}的农机购置补贴迟迟不发"), (
        "补贴面积和实际种植面积不符", "别的村都发了就我们村没有", "补贴款被村里扣留", "涉及{n}十多户农民",
        "农机买了{n}年了补贴还没到", "希望查清原因")),
    "subsistence": ("市民政局", ("{place}的低保申请一直没有批", "{place}困难家庭被取消低保"), (
        "家里有病人常年吃药", "没有任何收入来源", "申请材料交上去{n}个月了", "审核标准不清楚",
        "街道说名额有限", "生活非常困难")),
    "mobile_signal": ("市通信管理办", ("{place}手机信号很差", "{place}的宽带经常断网"), (
        "在家里打电话都听不清", "孩子上网课受影响", "运营商说没有基站", "投诉了{n}次没有解决",
        "网速只有几十K", "费用照收服务不到位")),
    "business_license": ("市行政审批服务局", ("在{place}办理营业执照太难", "{place}的审批手续繁琐"), (
        "跑了{n}趟还没办下来", "每次都说材料不全", "网上办理系统经常卡顿", "窗口工作人员态度冷漠",
        "不同窗口要求不一样", "希望实行一次办好")),
    "scenic_area": ("市文化和旅游局", ("{place}附近景区收费不合理", "{place}的旅游景点管理混乱"), (
        "门票价格涨了{n}十元", "景区内商贩强买强卖", "厕所太少而且很脏", "停车场乱收费",
        "节假日游客太多没人疏导", "导游擅自增加购物点")),
}
REQUESTS = ("请有关部门尽快解决", "希望相关部门重视", "恳请领导过问此事", "望尽快处理", "请尽快派人查看",
            "请给个说法", "希望早日解决")
GREETINGS = ("您好，", "领导您好！", "尊敬的领导：", "市长您好，", "你好，")
CLOSINGS = ("谢谢！", "万分感谢。", "期待回复。", "麻烦了，谢谢。", "盼复。")
CHANNEL_PREFIX = {"phone": "市民来电反映：", "wechat": "微信留言：", "website": "网友留言：", "app": "", "email": ""}
CHANNELS = ("phone", "email", "website", "wechat", "app")
CHANNEL_WEIGHTS = (0.45, 0.05, 0.2, 0.2, 0.1)
CHANNEL_LABELS = {"phone": "电话", "email": "邮箱", "website": "网站", "wechat": "微信", "app": "客户端"}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
SYNONYMS = (("坏了", "损坏了"), ("非常", "特别"), ("不方便", "很麻烦"), ("尽快", "赶快"), ("居民", "住户"),
            ("严重", "厉害"), ("已经", "都"), ("问题", "情况"), ("孩子", "小孩"), ("老人", "老年人"))
TYPO = {"路": "璐", "灯": "登", "水": "氺", "电": "店", "村": "寸", "费": "废", "区": "曲", "问": "闻", "工": "公",
        "题": "提", "理": "里", "已": "以", "在": "再", "的": "得", "做": "作", "决": "绝"}


@dataclass(frozen=True)
class Topic:
    topic: str
    kind: str
    department: str
    county: str
    town: str
    estate: str
    place: str
    sentences: tuple[str, ...]
    start: dt.datetime


def _place_text(county: str, town: str, estate: str, rng: np.random.Generator) -> str:
    style = rng.integers(3)
    if style == 0:
        return f"{county}{town}{estate}"
    if style == 1:
        return f"{town}{estate}"
    return f"{county}{estate}"


def _make_topic(index: int, rng: np.random.Generator, start: dt.datetime, days: int,
                like: Topic | None, gazetteer: Gazetteer) -> Topic:
    """A new topic; with ``like``, the same complaint at a different place (a hard negative)."""
    COUNTIES, ESTATES = gazetteer.towns, gazetteer.estates  # noqa: N806 (the tables the generator draws from)
    counties = list(COUNTIES)
    county = counties[rng.integers(len(counties))]
    towns = COUNTIES[county]
    town = towns[rng.integers(len(towns))]
    estate = ESTATES[rng.integers(len(ESTATES))]
    if like is not None:
        kind = like.kind
        if rng.random() < 0.5:   # same county, another estate, village or road
            county = like.county
            town = COUNTIES[county][rng.integers(len(COUNTIES[county]))]
        while estate == like.estate:
            estate = ESTATES[rng.integers(len(ESTATES))]
    else:
        kind = list(KINDS)[rng.integers(len(KINDS))]
    unit, openers, details = KINDS[kind]
    place = _place_text(county, town, estate, rng)
    if like is not None:
        sentences = tuple(s.replace(like.place, place) for s in like.sentences)
    else:
        fill = {"place": place, "n": int(rng.integers(2, 10)), "d": int(rng.integers(3, 40))}
        opener = openers[rng.integers(len(openers))].format(**fill)
        picked = rng.choice(len(details), size=min(len(details), int(rng.integers(3, 5))), replace=False)
        body = [details[k].format(n=int(rng.integers(2, 10)), d=int(rng.integers(3, 40))) for k in sorted(picked)]
        sentences = (opener, *body, REQUESTS[rng.integers(len(REQUESTS))])
    department = county if unit == COUNTY else unit
    when = start + dt.timedelta(seconds=int(rng.integers(days * 86400)))
    return Topic(f"G{index:07d}", kind, department, county, town, estate, place, sentences, when)


def _canonical(topic: Topic) -> str:
    return "，".join(topic.sentences[:-1]) + "。" + topic.sentences[-1] + "。"


def _person(rng: np.random.Generator) -> str:
    name = SURNAMES[rng.integers(len(SURNAMES))] + "".join(
        GIVEN[k] for k in rng.integers(len(GIVEN), size=int(rng.integers(1, 3))))
    phone = "1" + str(rng.choice([3, 5, 8])) + "".join(str(d) for d in rng.integers(10, size=9))
    return name, phone


def _variant(topic: Topic, rng: np.random.Generator, channel: str) -> str:
    """One citizen's copy of the topic's complaint."""
    sentences = list(topic.sentences)
    roll = rng.random()
    if roll < 0.3:
        text = _canonical(topic)           # a plain repeat / form letter
    else:
        body = sentences[1:-1]
        if rng.random() < 0.25 and len(body) > 2:
            body.pop(int(rng.integers(len(body))))
        if rng.random() < 0.25:
            body = list(rng.permutation(body))
        sentences = [sentences[0], *body, sentences[-1]]
        text = "，".join(sentences[:-1]) + "。" + sentences[-1] + "。"
        if rng.random() < 0.4:
            for a, b in SYNONYMS:
                if a in text and rng.random() < 0.5:
                    text = text.replace(a, b, 1)
        if rng.random() < 0.3:   # people misspell the complaint, rarely their own address
            chars = list(text)
            at = text.find(topic.place)
            address = range(at, at + len(topic.place)) if at >= 0 else range(0)
            for _ in range(int(rng.integers(1, 3))):
                spots = [k for k, c in enumerate(chars) if c in TYPO and k not in address]
                if spots:
                    k = spots[rng.integers(len(spots))]
                    chars[k] = TYPO[chars[k]]
            text = "".join(chars)
        if rng.random() < 0.4:
            text = GREETINGS[rng.integers(len(GREETINGS))] + text
        if rng.random() < 0.3:
            text = text + CLOSINGS[rng.integers(len(CLOSINGS))]
        if rng.random() < 0.3:
            name, phone = _person(rng)
            text = text + (f"我叫{name}，电话{phone}。" if rng.random() < 0.5 else f"联系电话：{phone}")
        if rng.random() < 0.1:
            text = text + "这个问题已经反映过多次了。"
    if rng.random() < 0.5:
        text = CHANNEL_PREFIX[channel] + text
    return text


def topic_sizes(n_items: int, rng: np.random.Generator) -> np.ndarray:
    """Heavy-tailed sizes summing to n_items, about 10.7 items per topic."""
    n_topics = max(1, round(n_items / ITEMS_PER_TOPIC))
    weights = rng.pareto(1.2, n_topics) + 0.02
    largest = 30 + 0.004 * n_items   # the biggest campaigns: a few thousand copies in 1.28M
    for _ in range(3):
        weights = np.minimum(weights, largest / max(n_items - n_topics, 1) * weights.sum())
    return 1 + rng.multinomial(n_items - n_topics, weights / weights.sum())


@dataclass
class Sample:
    export: list[dict]
    gold: list[dict]
    history: list[dict]
    gazetteer: Gazetteer


def generate(n: int, seed: int = 0, history: int | None = None, hard_negative_rate: float = 0.2,
             start: dt.datetime = dt.datetime(2019, 3, 1), days: int = 60, gazetteer: Gazetteer | None = None) -> Sample:
    """An export of n items with gold topics, and a separately drawn labelled history, placed in the
    gazetteer's counties, towns and estates (the bundled example's by default)."""
    gazetteer = gazetteer if gazetteer is not None else load_gazetteer(example_path())
    if not gazetteer.counties or not gazetteer.estates or not all(gazetteer.towns.values()):
        raise ValueError(f"{gazetteer.path}: the generator needs counties, each with towns, and places")
    rng = np.random.default_rng(seed)
    export, gold = _items(n, rng, "LC", start, days, hard_negative_rate, gazetteer=gazetteer)
    # the office's labelled past: many topics with a few copies each, which is what a router learns from
    hist_rows, hist_gold = _items(n if history is None else history, rng, "H", start - dt.timedelta(days=365),
                                  365, hard_negative_rate, max_size=3, gazetteer=gazetteer)
    by_id = {g["id"]: g for g in hist_gold}
    history_rows = [{"id": r["id"], "content": r["content"], "department": by_id[r["id"]]["department"],
                     "topic": by_id[r["id"]]["topic"]} for r in hist_rows]
    return Sample(export, gold, history_rows, gazetteer)


def _items(n: int, rng: np.random.Generator, prefix: str, start: dt.datetime, days: int,
           hard_negative_rate: float, max_size: int = 0, *, gazetteer: Gazetteer) -> tuple[list[dict], list[dict]]:
    if max_size:
        sizes = rng.integers(1, max_size + 1, size=int(n / ((1 + max_size) / 2)) + 1)
        sizes = sizes[:int(np.searchsorted(np.cumsum(sizes), n)) + 1]
        sizes[-1] -= sizes.sum() - n
        sizes = sizes[sizes > 0]
    else:
        sizes = topic_sizes(n, rng) if n else np.zeros(0, dtype=int)
    topics: list[Topic] = []
    used: set[tuple[str, str, str]] = set()
    for k in range(len(sizes)):
        like = topics[rng.integers(len(topics))] if topics and rng.random() < hard_negative_rate else None
        topic = _make_topic(k, rng, start, days, like, gazetteer)
        # one topic per kind and estate within a county or a street, so that texts can tell topics apart
        tries = 0
        while {(topic.kind, topic.county, topic.estate), (topic.kind, topic.town, topic.estate)} & used:
            tries += 1
            if tries > 1000:
                raise ValueError(f"cannot place {len(sizes)} distinct topics in the gazetteer; ask for fewer items")
            topic = _make_topic(k, rng, start, days, None, gazetteer)
        used |= {(topic.kind, topic.county, topic.estate), (topic.kind, topic.town, topic.estate)}
        topics.append(topic)
    rows, gold = [], []
    for topic, size in zip(topics, sizes):
        for _ in range(int(size)):
            channel = CHANNELS[rng.choice(len(CHANNELS), p=CHANNEL_WEIGHTS)]
            when = topic.start + dt.timedelta(seconds=int(rng.exponential(3 * 86400)))
            rows.append({"received_at": when.strftime("%Y-%m-%d %H:%M:%S"), "channel": CHANNEL_LABELS[channel],
                         "content": _variant(topic, rng, channel)})
            gold.append({"topic": f"{prefix}-{topic.topic}", "department": topic.department})
    order = rng.permutation(len(rows))
    rows = [rows[k] for k in order]
    gold = [gold[k] for k in order]
    for number, (row, g) in enumerate(zip(rows, gold), start=1):
        row["id"] = g["id"] = f"{prefix}{number:08d}"
    return rows, gold


def write(sample: Sample, out: Path) -> dict[str, Path]:
    """Write export.csv, gold.csv and history.csv (UTF-8 with BOM, as Excel likes), the gazetteer the
    places came from and a dedup.toml that names it (``dedup run export.csv --config dedup.toml``)."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"export": out / "export.csv", "gold": out / "gold.csv", "history": out / "history.csv",
             "gazetteer": out / "gazetteer.csv", "config": out / "dedup.toml"}
    if Path(sample.gazetteer.path).resolve() != paths["gazetteer"].resolve():
        shutil.copyfile(sample.gazetteer.path, paths["gazetteer"])
    paths["config"].write_text("# The generated sample's places: `dedup run export.csv --config dedup.toml`\n"
                               "[places]\ngazetteer = \"gazetteer.csv\"\n", encoding="utf-8")
    _write_csv(paths["export"], sample.export, ["id", "received_at", "channel", "content"])
    _write_csv(paths["gold"], sample.gold, ["id", "topic", "department"])
    _write_csv(paths["history"], sample.history, ["id", "content", "department", "topic"])
    return paths


def _write_csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
