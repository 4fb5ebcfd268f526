"""Stress exports whose shape differs from the bundled sample's, with ground truth.

This generator shares nothing with `dedup/tools/sample.py` or the bundled gazetteer:
its places are made up from syllables and suffixes (so the place veto's
gazetteer never knows them), its complaints, synonyms, typos, greetings and
boilerplate are its own. What it stresses, by case:

- ``a`` campaign-heavy: topic sizes up to 4·√N, a quarter of all items in
  campaigns of 0.22–1 × 4·√N copies, most copies varied (sentences dropped or
  swapped, synonyms, typos, greetings and sign-offs, names and phone numbers,
  channel prefixes, the place in full or short); 30% of topics have a sibling
  that differs only in the place or the object; letters of 250–600 characters
  and WeChat one-liners of 10–25. Topics of one kind share vocabulary, not
  whole sentences: each topic words its complaint its own way.
- ``b`` one complaint in very many distinct variants (200,000 at 1.28M, scaled
  with N), the rest as in ``a``.
- ``c`` place-dense: every message is about one of a few dozen roads and
  estates; topics differ by the kind of complaint and by the object (a shop,
  a building) at the place.
- ``d`` long letters: every item is a 250–600-character letter in which
  generic paragraphs shared by all topics make up most of the text.

``--routing where`` makes a topic's unit depend on the kind of complaint *and*
on where it is (``WHERE_RULE``): some kinds always go to one city department,
some to the government of the county the place lies in, and some to the city
department inside the urban core (the first two counties) and to the county
elsewhere. The made-up city's places are written to ``gazetteer.csv`` beside
the export, in the format ``places.gazetteer`` reads.

    python benchmarks/stress_data.py --case a --n 100000 --seed 1 --out benchmarks/data/stress-a-100k
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SYL = ("东西南北中新华阳明光和平安康宁泰丰盛兴隆德福春秋青绿翠湖山河江海滨桥港湾林枫桂兰梅竹松柏金银玉锦绣龙凤"
       "鹏云星月辰嘉怡景恒昌顺祥瑞鑫源宏远博雅逸静沁清溪泉石岭峰坡塘堤洲湘楚豫皖赣闽粤黔滇川渝晋冀鲁辽吉")
COUNTY_SUFFIX = ("区", "县", "区", "县", "市")
TOWN_SUFFIX = ("街道", "镇", "乡", "街道")
ESTATE_SUFFIX = ("花园", "小区", "家园", "苑", "新城", "公馆", "名苑", "雅居", "嘉园", "华府", "佳苑", "公寓", "里",
                 "大厦", "壹号", "府", "天地", "广场")
ROAD_SUFFIX = ("路", "大街", "大道", "巷", "街", "中路", "北路", "南路")
VILLAGE_SUFFIX = ("村", "庄", "屯", "营", "寨")
SHOPS = ("烧烤店", "KTV", "洗浴中心", "建材市场", "搅拌站", "物流园", "化工厂", "幼儿园", "中学", "小学", "医院", "诊所",
         "超市", "驾校", "健身房", "培训机构", "物业公司", "置业公司", "酒吧", "棋牌室", "农贸市场", "加油站", "养殖场",
         "钢材厂", "家具厂", "汽修厂", "网吧", "夜市", "菜市场", "停车场")

# kind: (unit, objects, core sentences with {obj} {n} {d} {t}, one-liners with {p} {obj})
KINDS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "night_noise": ("生态环境分局", ("搅拌站", "KTV", "酒吧", "钢材厂", "家具厂"), (
        "{obj}每天夜里开工到{t}点", "机器轰鸣声隔着窗户都听得清清楚楚", "家里老人心脏不好被吵得睡不着",
        "孩子正在备战中考根本没法复习", "我们找过{obj}的负责人对方态度蛮横", "夜间噪声明显超过国家标准",
        "大型车辆进进出出地面都在震动", "我们已经连续{d}天没有睡过一个安稳觉"), (
        "{p}{obj}夜里太吵了", "{p}{obj}半夜噪音扰民谁管", "{p}{obj}晚上施工吵得没法睡")),
    "bbq_smoke": ("城市管理局", ("烧烤店", "夜市", "饭店"), (
        "楼下{obj}油烟直接排进居民楼", "每天傍晚到凌晨烟味呛得人喘不过气", "窗户一年四季都不敢打开",
        "{obj}还把桌椅摆到人行道上", "食客喝酒划拳声音很大", "地面油污很厚老人走路容易滑倒",
        "{obj}没有安装油烟净化设备", "向街道反映过{n}次一直没有处理"), (
        "{p}{obj}油烟扰民", "{p}{obj}占道经营油烟大", "{p}{obj}油烟熏得没法开窗")),
    "parking_bundle": ("住房和城乡建设局", ("置业公司", "物业公司"), (
        "开发商强制业主购买车位才给办理交房手续", "车位价格高达{n}十万元远超周边", "不买车位就不让装修",
        "合同里根本没有写捆绑销售的条款", "{obj}说这是公司统一规定", "很多业主是贷款买房实在拿不出钱",
        "业主们联名写了投诉信没有回音", "这种捆绑销售明显违反了规定"), (
        "{p}捆绑销售车位", "{p}不买车位不给交房", "{p}{obj}强卖车位")),
    "wall_cracks": ("住房和城乡建设局", ("置业公司", "物业公司"), (
        "交房不到{n}年房屋墙体就出现多处裂缝", "最长的一条裂缝有{n}米多长", "卫生间和阳台渗水严重",
        "找{obj}维修只是简单刷了一层漆", "同一栋楼很多户都有同样的问题", "担心房屋存在结构安全隐患",
        "要求有资质的机构进行质量鉴定", "开发商坚持说验收合格没有问题"), (
        "{p}房子墙体开裂", "{p}新房裂缝漏水", "{p}交房就开裂{obj}不管")),
    "wage_unpaid": ("人力资源和社会保障局", ("家具厂", "物流园", "置业公司", "汽修厂"), (
        "{obj}拖欠我们{n}十多个工人的工资", "最长的已经欠了{d}个月", "老板电话不接人也找不到",
        "我们都是外地来打工的家里等着钱用", "有考勤表和工资条可以作证", "劳动监察说要走仲裁程序",
        "眼看就要过年了回不了家", "请求政府帮我们讨回血汗钱"), (
        "{p}{obj}欠薪不给", "{p}{obj}拖欠工资{d}个月", "{p}{obj}老板跑了工资没发")),
    "school_zone": ("教育局", ("小学", "中学", "幼儿园"), (
        "我们小区被划到了{n}公里外的{obj}", "家门口的{obj}却不让报名", "孩子每天上学要倒两趟公交",
        "同一个小区前后两栋楼划到不同学校", "划片方案没有提前公示", "家长们多次去教育部门咨询没有答复",
        "户口和房产都在本片区", "希望重新调整学区划分"), (
        "{p}学区划分不合理", "{p}孩子上不了家门口的{obj}", "{p}划片太远")),
    "water_cut": ("供水公司", ("加压泵站", "供水管网"), (
        "已经连续停水{d}天", "停水前没有任何通知", "高层住户一滴水都没有", "{obj}坏了没人来修",
        "家里老人只能下楼提水", "打供水热线一直占线", "水龙头流出来的是黄色的浑水", "夏天天气热没水根本没法生活"), (
        "{p}停水{d}天了", "{p}又停水了什么时候来水", "{p}自来水发黄")),
    "heating_cold": ("供热公司", ("换热站", "供热管网"), (
        "暖气片摸着冰凉", "室内温度只有{n}度", "暖气费一分没少交", "{obj}说管道老化需要改造",
        "家里孩子冻得感冒发烧", "整栋楼都不热", "维修人员来看了一次就再没来过", "希望供热公司尽快排查"), (
        "{p}暖气不热", "{p}供暖温度只有{n}度", "{p}暖气冰凉没人管")),
    "property_fee": ("住房和城乡建设局", ("物业公司",), (
        "{obj}擅自上调物业费", "每平米从{n}毛涨到了{n}块多", "涨价没有召开业主大会", "小区卫生和安保却越来越差",
        "电梯经常坏一停就是好几天", "不交物业费就停水停电", "业委会成立{d}天就被物业阻挠", "请主管部门规范物业收费"), (
        "{p}物业乱涨价", "{p}{obj}乱收费", "{p}物业费涨了没人管")),
    "illegal_build": ("自然资源和规划局", ("一楼住户", "顶楼住户", "商户"), (
        "{obj}私自扩建占用公共绿地", "违建面积有{n}十平方米", "挡住了消防通道", "影响楼上住户采光",
        "城管来看过但一直没有拆除", "其他住户也开始跟着搭建", "存在严重安全隐患", "请依法拆除违章建筑"), (
        "{p}{obj}违建没人管", "{p}私搭乱建", "{p}{obj}占绿地搭建")),
    "road_damage": ("交通运输局", ("路面", "人行道", "排水沟"), (
        "{obj}坑坑洼洼已经{d}天没人修", "下雨天积水有半米深", "晚上骑电动车经过很容易摔倒", "已经发生过{n}起事故",
        "周边有学校每天很多学生经过", "施工队挖开后就没有回填", "过往车辆溅得行人一身泥", "请交通部门尽快修复"), (
        "{p}{obj}坏了一直没修", "{p}{obj}被撞坏后一直没修怎么办", "{p}路面坑洼")),
    "streetlight_dark": ("城市管理局", ("路灯", "景观灯"), (
        "{obj}坏了{n}盏", "整条路晚上黑漆漆的", "下夜班回家很害怕", "前几天有人在这里摔伤了",
        "打过几次电话说会来修", "{obj}杆子也歪了随时可能倒", "附近还有几个工地大车很多", "请尽快恢复照明"), (
        "{p}{obj}不亮", "{p}{obj}坏了{n}盏", "{p}晚上没有路灯")),
    "garbage_pile": ("城市管理局", ("垃圾站", "垃圾桶", "建筑垃圾"), (
        "{obj}旁边的垃圾堆成了小山", "已经{d}天没有清运", "夏天臭味熏得人头疼", "苍蝇蚊子到处都是",
        "有人还在旁边焚烧垃圾", "环卫工人说车辆不够", "影响周围几千户居民生活", "请环卫部门加强清运"), (
        "{p}{obj}没人清运", "{p}垃圾堆了{d}天", "{p}{obj}太臭了")),
    "bus_route": ("交通运输局", ("公交站", "公交线路"), (
        "{obj}撤掉以后居民出行非常不便", "最近的站点要走{n}十分钟", "老人去医院要打车", "高峰期等车要等{n}十分钟",
        "附近有好几个新建小区", "建议恢复原来的线路", "公交公司说客流量太小", "希望增加班次"), (
        "{p}{obj}撤了怎么办", "{p}没有公交", "{p}公交{n}十分钟一班")),
    "talent_subsidy": ("人才服务中心", ("人才购房补贴", "人才租房补贴"), (
        "我是{n}年引进的硕士研究生", "按政策符合{obj}申请条件", "材料提交{d}天了还在审核", "系统一直显示待审核",
        "打咨询电话说等通知", "同批次的同事已经拿到了", "政策文件说三十个工作日内办结", "请问到底什么时候能发放"), (
        "{p}{obj}什么时候发", "{p}{obj}审核太慢", "{p}{obj}申请没消息")),
    "p2p_loss": ("地方金融监督管理局", ("借贷平台", "理财公司"), (
        "{obj}突然停止兑付", "我在里面投了{n}万元", "平台负责人已经失联", "投资人有{n}千多人",
        "公安已经立案但没有进展", "这是我们全家的积蓄", "请求政府追回资金", "希望公开案件进展"), (
        "{p}{obj}爆雷", "{p}{obj}不兑付", "{p}{obj}跑路了钱怎么办")),
    "market_fraud": ("市场监督管理局", ("超市", "农贸市场", "建材市场"), (
        "{obj}卖的商品缺斤少两", "买了{n}斤实际只有{n}斤多", "价格标签和结账价不一致", "商家拒绝退换还骂人",
        "保存了购物小票和照片", "打过投诉电话没有下文", "周围很多人都遇到过", "请市场监管部门查处"), (
        "{p}{obj}缺斤少两", "{p}{obj}价格欺诈", "{p}{obj}卖过期食品")),
    "clinic_fee": ("卫生健康委员会", ("医院", "诊所"), (
        "{obj}乱收费检查项目重复", "一次门诊花了{n}千多元", "医生态度冷漠", "住院押金要求一次交清",
        "医保报销后自付比例仍然很高", "收费清单看不明白", "去窗口咨询互相推诿", "请卫生部门规范收费"), (
        "{p}{obj}乱收费", "{p}{obj}看病太贵", "{p}{obj}重复检查")),
    "village_funds": ("乡村振兴局", ("村委会", "合作社"), (
        "{obj}账目从不公开", "征地补偿款{n}十万元去向不明", "低保名额都给了干部亲属", "村民要求查账被拒绝",
        "集体土地被私下承包", "我们向镇里反映过{n}次", "村民代表会议从来没开过", "请上级派人调查"), (
        "{p}{obj}账目不公开", "{p}{obj}私分补偿款", "{p}村务不透明")),
    "pollution_river": ("生态环境分局", ("化工厂", "养殖场", "钢材厂"), (
        "{obj}把污水直接排进河里", "河水又黑又臭", "鱼都死了漂在水面上", "晚上偷偷排放白天停产",
        "附近居民很多人咳嗽", "已经持续{n}个多月", "环保部门来查时提前收到风声", "请依法关停"), (
        "{p}{obj}偷排污水", "{p}{obj}污染河流", "{p}河水发黑发臭")),
    "pension_auth": ("社会保险事业中心", ("养老金", "退休金"), (
        "{obj}已经{n}个月没有按时发放", "认证系统操作太复杂老人不会用", "社保缴费年限算少了{n}年",
        "单位改制后档案找不到", "去窗口排队要大半天", "打电话说系统升级", "家里就靠这点钱生活", "希望提供上门认证"), (
        "{p}{obj}停发了", "{p}{obj}认证不了", "{p}{obj}少算年限")),
    "elevator_broken": ("市场监督管理局", ("电梯",), (
        "{obj}一个月坏了{n}次", "有一次把人困在里面半个小时", "物业说没有维修资金", "{obj}年检合格证早就过期了",
        "住在高层的老人只能爬楼", "维修基金申请手续太复杂", "业主们很担心安全", "请特种设备部门检查"), (
        "{p}{obj}老是坏", "{p}{obj}困人", "{p}{obj}过期没年检")),
    "dog_nuisance": ("公安局", ("流浪狗", "大型犬"), (
        "小区里{obj}越来越多", "经常追咬路人", "已经有{n}个孩子被咬伤", "狗主人遛狗不牵绳",
        "满地狗粪没人清理", "晚上狗叫声吵得睡不着", "物业说管不了", "请有关部门依法管理"), (
        "{p}{obj}咬人", "{p}{obj}太多", "{p}遛狗不牵绳")),
    "demolition": ("征收补偿办公室", ("拆迁", "棚改"), (
        "{obj}补偿标准比周边低很多", "评估价格明显偏低", "安置房{n}年了还没建好", "过渡费已经停发{d}个月",
        "没有公示补偿方案", "有人半夜被强行断水断电", "我们不是不支持只是要求合理补偿", "请求公开补偿明细"), (
        "{p}{obj}补偿太低", "{p}{obj}安置房没建好", "{p}{obj}过渡费停发")),
}
SYNONYMS = (("已经", "早已"), ("非常", "十分"), ("很多", "好多"), ("尽快", "赶紧"), ("居民", "住户"), ("孩子", "小孩"),
            ("老人", "老年人"), ("没有", "没"), ("严重", "厉害"), ("希望", "盼望"), ("问题", "事情"), ("部门", "单位"),
            ("每天", "天天"), ("晚上", "夜里"), ("根本", "完全"), ("请求", "恳请"), ("处理", "解决"), ("附近", "周边"),
            ("一直", "始终"), ("反映", "投诉"))
TYPO = {"噪": "躁", "扰": "绕", "垃": "拉", "圾": "级", "修": "休", "暖": "缓", "费": "废", "物": "务", "拖": "托",
        "欠": "歉", "补": "捕", "贴": "帖", "污": "汗", "染": "然", "烟": "咽", "梯": "剃", "拆": "折", "迁": "千",
        "管": "官", "处": "外", "理": "里", "部": "步", "决": "绝", "再": "在", "的": "地", "得": "的"}
GREETINGS = ("尊敬的市领导：", "书记您好！", "领导好，", "市长：您好！", "各位领导辛苦了，", "你好，", "麻烦问一下，")
SIGNOFFS = ("此致敬礼！", "谢谢领导！", "盼望早日回复。", "拜托了。", "感激不尽！", "期待答复。")
INTROS = ("我是{p}的业主", "我家住在{p}", "本人是{p}的居民", "我们是{p}的住户", "我在{p}住了十几年")
PHONE_PREFIX = "来电人反映，其住在{p}，"
CHANNEL_PREFIX = {"phone": ("热线记录：", "市民来电：", ""), "wechat": ("微信留言：", ""), "website": ("网友留言：", "网民：", ""),
                  "app": ("", "客户端反映："), "email": ("", "来信：")}
CHANNEL_LABELS = {"phone": "电话", "email": "邮箱", "website": "网站", "wechat": "微信", "app": "客户端"}
GENERIC = ("我在这里生活了二十多年，对这座城市有很深的感情", "本来不想给领导添麻烦，实在是没有办法了",
           "不知道这个事情该找哪个部门，只好在这里留言", "之前也打过热线电话，接线员说会转给相关单位，但一直没有下文",
           "我们都是普通老百姓，只希望过上安稳的日子", "相信政府一定会为老百姓做主", "我知道领导工作很忙，百忙之中打扰了",
           "这件事情已经困扰我们很长时间了，身心俱疲", "希望能够引起有关部门的高度重视，切实解决群众的烦心事",
           "网上也有很多人在讨论这件事情，影响很不好", "我们已经通过各种渠道反映过，但是石沉大海",
           "作为一名普通市民，我有责任把看到的问题反映上来", "希望这次留言能有一个明确的答复，而不是一句正在处理",
           "如果需要了解情况，可以随时和我联系", "现在的政策是好的，就是到了下面执行不到位",
           "我们不是无理取闹，只是想讨一个公道", "领导常说民生无小事，这件事就是我们身边的大事",
           "家里的老人每天都在念叨这件事", "身边的亲戚朋友都劝我写信反映一下", "请领导在百忙之中抽空看一看")
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"
GIVEN = "子涵浩然梓轩雨欣诗琪俊杰志强建国桂芳秀英丽娟海燕文博宇航思远晓东"


# a topic's own wording: each of its sentences may get a time or manner phrase before it and a remark after
# it, so that two topics of one kind share vocabulary, not whole sentences (people write their own)
LEADS = ("最近", "这段时间", "从去年开始", "每到周末", "近几个月来", "今年以来", "入冬以后", "自从上个月起", "一直以来",
         "前段时间", "这两年", "开春以来", "每逢节假日", "一到晚上", "大概从{n}月份开始", "我发现", "大家都知道",
         "说实话", "据我了解", "邻居们都说")
TAILS = ("实在让人受不了", "大家意见很大", "严重影响日常生活", "群众怨声载道", "真是让人头疼", "这种情况很普遍",
         "一点改善都没有", "谁也说不清楚", "问了好几个人都不知道", "已经忍无可忍", "我们非常着急", "拖了很久了",
         "给生活带来很大不便", "周边住户苦不堪言", "这样下去不是办法", "简直没人管", "情况越来越糟",
         "希望能重视起来", "心里很不踏实", "看着就让人着急")


def _stem(rng: random.Random, k: int) -> str:
    return "".join(rng.choice(SYL) for _ in range(k))


@dataclass
class City:
    counties: list[str]
    towns: dict[str, list[str]]
    places: list[tuple[str, str, str]]   # (county, town, estate/road/village)


def make_city(rng: random.Random, n_places: int) -> City:
    """A made-up city: counties, towns and n_places estates, roads and villages with distinct names."""
    counties = list(dict.fromkeys(_stem(rng, 2) + rng.choice(COUNTY_SUFFIX) for _ in range(14)))[:12]
    towns = {c: list(dict.fromkeys(_stem(rng, 2) + rng.choice(TOWN_SUFFIX) for _ in range(10))) for c in counties}
    seen: set[str] = set()
    places = []
    while len(places) < n_places:
        kind = rng.random()
        suffix = ESTATE_SUFFIX if kind < 0.55 else ROAD_SUFFIX if kind < 0.8 else VILLAGE_SUFFIX
        name = _stem(rng, rng.choice((2, 2, 3))) + rng.choice(suffix)
        if name in seen:
            continue
        seen.add(name)
        county = rng.choice(counties)
        places.append((county, rng.choice(towns[county]), name))
    return City(counties, towns, places)


@dataclass
class Topic:
    key: str
    kind: str
    unit: str
    county: str
    town: str
    spot: str           # estate, road or village
    obj: str            # the object complained about (a shop with its name, a building, a facility)
    core: list[str]     # the complaint's own sentences, numbers filled in


def _object(rng: random.Random, kind: str) -> str:
    base = rng.choice(KINDS[kind][1])
    if base in SHOPS and rng.random() < 0.7:
        return _stem(rng, 2) + base           # a named shop or company
    if rng.random() < 0.3:
        return f"{rng.randint(1, 30)}号楼{base}"
    return base


def make_topic(rng: random.Random, key: str, city: City, place_pool: list[int] | None = None) -> Topic:
    kind = rng.choice(list(KINDS))
    unit, _objs, core, _short = KINDS[kind]
    county, town, spot = city.places[rng.choice(place_pool) if place_pool else rng.randrange(len(city.places))]
    obj = _object(rng, kind)
    picked = rng.sample(range(len(core)), rng.randint(4, 6))
    fill = {"obj": obj, "n": rng.randint(2, 9), "d": rng.randint(3, 60), "t": rng.randint(1, 4)}
    flips = [pair for pair in SYNONYMS if rng.random() < 0.5]   # the writer's own words
    sentences = []
    for k in picked:
        sentence = core[k].format(**fill)
        if rng.random() < 0.6:
            sentence = rng.choice(LEADS).format(n=rng.randint(1, 12)) + sentence
        if rng.random() < 0.5:
            sentence += "，" + rng.choice(TAILS)
        for a, b in flips:
            sentence = sentence.replace(a, b)
        sentences.append(sentence)
    return Topic(key, kind, unit, county, town, spot, obj, sentences)


def sibling(rng: random.Random, topic: Topic, key: str, city: City, place_pool: list[int] | None = None) -> Topic:
    """The same complaint at another place of the same town or county, or about another object there."""
    if rng.random() < 0.6:
        pool = place_pool or range(len(city.places))
        while True:
            county, town, spot = city.places[rng.choice(pool)]
            if spot != topic.spot:
                break
        return Topic(key, topic.kind, topic.unit, county, town, spot, topic.obj, list(topic.core))
    while True:
        obj = _object(rng, topic.kind)
        if obj != topic.obj:
            break
    core = [s.replace(topic.obj, obj) for s in topic.core]
    if core == topic.core:  # the object is not named in the sentences: name it in the first
        core[0] = obj + core[0]
    return Topic(key, topic.kind, topic.unit, topic.county, topic.town, topic.spot, obj, core)


# kind -> "city" (always the kind's department), "county" (the county's government) or "core" (the
# department inside the urban core, the county's government elsewhere)
WHERE_RULE = {
    "talent_subsidy": "city", "p2p_loss": "city", "pension_auth": "city", "water_cut": "city",
    "heating_cold": "city", "elevator_broken": "city", "market_fraud": "city", "clinic_fee": "city",
    "wage_unpaid": "city", "village_funds": "county", "demolition": "county", "illegal_build": "county",
    "road_damage": "county", "garbage_pile": "county", "night_noise": "core", "bbq_smoke": "core",
    "parking_bundle": "core", "wall_cracks": "core", "school_zone": "core", "property_fee": "core",
    "streetlight_dark": "core", "bus_route": "core", "pollution_river": "core", "dog_nuisance": "core"}
CORE_COUNTIES = 2


def unit_where(t: Topic, city: City) -> str:
    """The unit that answers topic ``t`` under the kind × where rule."""
    rule = WHERE_RULE[t.kind]
    if rule == "city" or (rule == "core" and t.county in city.counties[:CORE_COUNTIES]):
        return t.unit
    return f"{t.county}人民政府"


def gazetteer_rows(city: City) -> list[dict]:
    """The made-up city's counties, towns and places as ``name,kind,parent,aliases`` rows."""
    rows = [{"name": c, "kind": "county", "parent": "", "aliases": ""} for c in city.counties]
    for county in city.counties:
        rows += [{"name": t, "kind": "town", "parent": county, "aliases": ""} for t in city.towns[county]]
    seen = set()
    for county, town, spot in city.places:
        if spot not in seen:
            seen.add(spot)
            rows.append({"name": spot, "kind": "place", "parent": town, "aliases": ""})
    return rows


def _place(rng: random.Random, t: Topic) -> str:
    r = rng.random()
    return f"{t.county}{t.town}{t.spot}" if r < 0.3 else f"{t.town}{t.spot}" if r < 0.55 else t.spot


def _perturb(rng: random.Random, text: str, typo_rate: float) -> str:
    if rng.random() < 0.5:
        for a, b in rng.sample(SYNONYMS, 6):
            if a in text and rng.random() < 0.6:
                text = text.replace(a, b, 1)
    if rng.random() < typo_rate:
        chars = list(text)
        spots = [k for k, c in enumerate(chars) if c in TYPO]
        for k in rng.sample(spots, min(len(spots), rng.randint(1, 3))):
            chars[k] = TYPO[chars[k]]
        text = "".join(chars)
    return text


def _person(rng: random.Random) -> str:
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
    phone = "1" + rng.choice("3578") + "".join(rng.choice("0123456789") for _ in range(9))
    r = rng.random()
    if r < 0.4:
        return f"我叫{name}，电话{phone}。"
    if r < 0.7:
        return f"联系人：{name}，{phone}"
    return f"联系方式{phone}"


def render(rng: random.Random, t: Topic, channel: str, form: str, generic_share: float = 0.0) -> str:
    """One citizen's copy of the topic's complaint, in the given form."""
    place = _place(rng, t)
    if form == "oneliner":
        short = rng.choice(KINDS[t.kind][3])
        spot = t.spot if rng.random() < 0.7 else place
        return short.format(p=spot, obj=t.obj, n=rng.randint(2, 9), d=rng.randint(3, 60))
    core = list(t.core)
    if rng.random() < 0.5 and len(core) > 3:
        del core[rng.randrange(len(core))]
    if rng.random() < 0.3 and len(core) > 3:
        del core[rng.randrange(len(core))]
    if rng.random() < 0.35:
        k = rng.randrange(len(core) - 1)
        core[k], core[k + 1] = core[k + 1], core[k]
    parts: list[str] = []
    if form == "phone":
        parts.append(PHONE_PREFIX.format(p=place) + core[0])
        parts += [s.replace("我们", "他们").replace("我", "其") for s in core[1:]]
        parts.append("来电人希望有关部门尽快处理")
        text = "，".join(parts) + "。"
    else:
        if form == "letter" or rng.random() < 0.4:
            parts.append(rng.choice(INTROS).format(p=place))
        else:
            core[0] = place + core[0]
        parts += core
        body = "，".join(parts) + "。"
        if form == "letter":
            # a letter of 250-600 characters: the complaint among generic paragraphs (most of the text
            # with generic_share)
            target = max(rng.randint(250, 600), len(body) / (1 - generic_share)) if generic_share else \
                len(body) + rng.randint(100, 300)
            generic = rng.sample(GENERIC, len(GENERIC))
            used = len(body)
            for k, g in enumerate(generic):
                used += len(g) + 1
                if used >= target:
                    generic = generic[:k + 1]
                    break
            cut = rng.randint(0, len(generic))
            body = "。".join(generic[:cut] + [body.rstrip("。")] + generic[cut:]) + "。"
        text = body
        if rng.random() < (0.8 if form == "letter" else 0.3):
            text = rng.choice(GREETINGS) + text
        if rng.random() < (0.7 if form == "letter" else 0.2):
            text += rng.choice(SIGNOFFS)
    text = _perturb(rng, text, 0.3)
    if rng.random() < 0.3:
        text += _person(rng)
    return rng.choice(CHANNEL_PREFIX[channel]) + text


FORMS = {"phone": ("phone",), "email": ("letter",), "website": ("letter", "web", "web"),
         "wechat": ("oneliner", "oneliner", "web"), "app": ("web", "web", "oneliner")}
CHANNELS = ("phone", "email", "website", "wechat", "app")
CHANNEL_WEIGHTS = (0.4, 0.05, 0.25, 0.2, 0.1)


def topic_sizes(n: int, rng: np.random.Generator, campaign_share: float = 0.25,
                giant: int = 0) -> np.ndarray:
    """Heavy-tailed sizes summing to n: campaigns of 0.22–1 × 4·√n copies hold ``campaign_share`` of
    the items, the rest fall in topics of ~8 on average; ``giant`` adds one topic of that size first."""
    largest = max(4, int(4 * math.sqrt(n)))
    sizes = [giant] if giant else []
    campaign_items = int(campaign_share * n)
    while sum(sizes) - giant < campaign_items:
        sizes.append(int(rng.integers(int(0.22 * largest), largest + 1)))
    rest = n - sum(sizes)
    if rest < 0:
        sizes[-1] += rest
        rest = 0
    t = max(1, round(rest / 8.0)) if rest else 0
    if t:
        w = rng.pareto(1.3, t) + 0.05
        w = np.minimum(w, 0.2 * largest / max(rest - t, 1) * w.sum())
        sizes += (1 + rng.multinomial(rest - t, w / w.sum())).tolist()
    return np.array([s for s in sizes if s > 0], dtype=np.int64)


CASES = ("a", "b", "c", "d")


def generate(case: str, n: int, seed: int, routing: str = "kind") -> tuple[list[dict], list[dict], City]:
    """(export rows, gold rows, the made-up city) for one stress case."""
    if case not in CASES:
        raise ValueError(f"unknown case {case!r}; one of {', '.join(CASES)}")
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    giant = int(200_000 * n / 1_280_000) if case == "b" else 0
    sizes = topic_sizes(n, nrng, giant=giant)
    city = make_city(rng, 40 if case == "c" else max(500, len(sizes) // 6))
    pool = list(range(len(city.places))) if case == "c" else None
    sizes = sizes[nrng.permutation(len(sizes))]   # campaigns anywhere among the topics
    topics: list[Topic] = []
    for k in range(len(sizes)):
        key = f"S{case.upper()}-T{k:07d}"
        # siblings come in pairs (or a few more): 0.18 of topics are made as a sibling of the one before,
        # so about 30% of topics have one
        if topics and rng.random() < 0.18:
            topics.append(sibling(rng, topics[-1], key, city, pool))
        else:
            topics.append(make_topic(rng, key, city, pool))
    start = dt.datetime(2019, 3, 1)
    rows, gold = [], []
    channels = rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS, k=n)
    c = 0
    for t, size in zip(topics, sizes.tolist()):
        first = start + dt.timedelta(seconds=rng.randrange(50 * 86400))
        for _ in range(size):
            channel = channels[c]
            c += 1
            form = "letter" if case == "d" else rng.choice(FORMS[channel])
            when = first + dt.timedelta(seconds=int(rng.expovariate(1 / (4 * 86400))))
            rows.append({"received_at": when.strftime("%Y-%m-%d %H:%M:%S"), "channel": CHANNEL_LABELS[channel],
                         "content": render(rng, t, channel, form, 0.6 if case == "d" else 0.0)})
            gold.append({"topic": t.key, "department": unit_where(t, city) if routing == "where" else t.unit,
                         "issue": f"{t.kind}|{t.spot}|{t.obj}"})  # one complaint about one object at one place
    order = nrng.permutation(len(rows))
    rows = [rows[k] for k in order]
    gold = [gold[k] for k in order]
    for number, (row, g) in enumerate(zip(rows, gold), start=1):
        row["id"] = g["id"] = f"S{case.upper()}{number:08d}"
    return rows, gold, city


def write(case: str, n: int, seed: int, out: Path, routing: str = "kind") -> Path:
    rows, gold, city = generate(case, n, seed, routing)
    out.mkdir(parents=True, exist_ok=True)
    for name, data, columns in (("export.csv", rows, ["id", "received_at", "channel", "content"]),
                                ("gold.csv", gold, ["id", "topic", "department"]),
                                ("gazetteer.csv", gazetteer_rows(city), ["name", "kind", "parent", "aliases"])):
        with (out / name).open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(data)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=CASES, required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--routing", choices=("kind", "where"), default="kind",
                        help="a topic's unit by its kind alone, or by its kind and where it is")
    args = parser.parse_args()
    print(write(args.case, args.n, args.seed, args.out, args.routing))


if __name__ == "__main__":
    main()
