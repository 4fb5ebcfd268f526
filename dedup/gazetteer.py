"""The city's places and responsible units, the single source of local names.

The segmenter's user dictionary (``data/userdict.txt``) is written from these
tables by ``python -m dedup.gazetteer``; the sample generator draws from them.
Keeping one source means a place the generator can emit is always a word the
segmenter knows, and ``places()`` can tell a county from a street.
"""

from __future__ import annotations

import sys

CITY = "聊城市"

# county/district -> its streets and towns (real divisions of Liaocheng).
COUNTIES: dict[str, tuple[str, ...]] = {
    "东昌府区": ("古楼街道", "柳园街道", "新区街道", "湖西街道", "道口铺街道", "阎寺街道", "凤凰街道",
             "北城街道", "东城街道", "堂邑镇", "沙镇镇", "侯营镇", "张炉集镇", "于集镇", "梁水镇",
             "斗虎屯镇", "郑家镇", "朱老庄镇", "许营镇"),
    "茌平区": ("振兴街道", "信发街道", "温陈街道", "乐平铺镇", "冯官屯镇", "菜屯镇", "博平镇", "杜郎口镇",
            "韩屯镇", "胡屯镇", "肖家庄镇", "贾寨镇", "洪官屯镇"),
    "临清市": ("青年路街道", "新华路街道", "先锋路街道", "大辛庄街道", "松林镇", "老赵庄镇", "康庄镇",
            "魏湾镇", "刘垓子镇", "八岔路镇", "潘庄镇", "烟店镇", "唐园镇", "金郝庄镇", "戴湾镇", "尚店镇"),
    "阳谷县": ("侨润街道", "博济桥街道", "狮子楼街道", "阿城镇", "七级镇", "安乐镇", "定水镇", "石佛镇",
            "李台镇", "寿张镇", "十五里园镇", "张秋镇", "郭屯镇", "西湖镇", "高庙王镇", "金斗营镇"),
    "莘县": ("燕塔街道", "莘州街道", "东鲁街道", "张鲁回族镇", "朝城镇", "观城镇", "古城镇", "大张家镇",
           "古云镇", "十八里铺镇", "燕店镇", "董杜庄镇", "王奉镇", "樱桃园镇", "河店镇", "妹冢镇"),
    "东阿县": ("铜城街道", "新城街道", "刘集镇", "牛角店镇", "大桥镇", "高集镇", "姜楼镇", "姚寨镇",
            "鱼山镇", "陈集镇"),
    "冠县": ("清泉街道", "崇文街道", "烟庄街道", "贾镇", "桑阿镇", "柳林镇", "清水镇", "东古城镇",
           "北馆陶镇", "店子镇", "定远寨镇", "辛集镇", "梁堂镇", "范寨镇", "兰沃乡", "斜店乡"),
    "高唐县": ("鱼邱湖街道", "汇鑫街道", "人和街道", "梁村镇", "尹集镇", "清平镇", "固河镇", "三十里铺镇",
            "琉璃寺镇", "赵寨子镇", "姜店镇", "杨屯镇"),
    "经济技术开发区": ("蒋官屯街道", "东城街道办", "广平乡", "北城街道办"),
    "高新技术产业开发区": ("许营街道", "韩集乡", "顾官屯镇", "九州街道"),
    "江北水城旅游度假区": ("李海务街道", "朱老庄街道", "湖滨街道"),
}

# Residential compounds, villages and roads: the finest level of "where".
ESTATES: tuple[str, ...] = (
    "星光花园", "嘉明花园", "东昌花园", "水城明珠", "金柱大学城", "鑫昌小区", "龙湾小区", "阳光嘉园",
    "百花小区", "振华小区", "光明小区", "建设小区", "育新小区", "兴华小区", "湖畔人家", "铁塔小区",
    "柳园小区", "北苑小区", "南苑小区", "碧桂园", "恒大名都", "万达华府", "绿地城", "凤凰苑",
    "运河人家", "新东方花园", "水韵康城", "金鼎小区", "御润华府", "祥和小区", "幸福里", "阳光花园",
    "翰林苑", "铁路小区", "供电小区", "交通小区", "东关小区", "西关小区", "米市街", "双街社区",
    "王庄村", "李庄村", "张庄村", "刘楼村", "赵屯村", "孙集村", "前进村", "后寨村", "东街村", "西街村",
    "姜堤村", "马坊村", "高庄村", "陈庄村", "杨庄村", "周店村", "徐庄村", "何屯村", "郭庄村", "宋楼村",
    "东昌路", "柳园路", "花园路", "建设路", "振兴路", "昌润路", "兴华路", "光岳路", "湖南路", "东关街",
    "利民路", "向阳路", "卫育路", "松桂大街", "鲁化路", "站前街", "陈口路", "辽河路", "黄河路", "嵩山路",
)

# Villages, compounds and roads made from common name parts, so that a city-sized sample has as
# many distinct "where"s as a real city (thousands); they are ordinary place words to jieba.
_NAME_PARTS = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
_VILLAGE_ENDINGS = ("庄村", "楼村", "屯村", "集村", "营村", "寨村", "店村", "堂村", "口村", "湾村")
_COMPOUND_WORDS = ("阳光", "幸福", "和谐", "锦绣", "翡翠", "金色", "书香", "盛世", "御景", "东方", "南湖", "北辰",
                   "春晖", "龙腾", "凤鸣", "名门", "世纪", "滨河", "怡景", "康乐", "安居", "瑞祥", "嘉和", "天润",
                   "金港", "银座", "文昌", "丽景", "水岸", "绿洲")
_COMPOUND_ENDINGS = ("花园", "家园", "名苑", "华庭", "公馆", "雅居")
ESTATES = tuple(dict.fromkeys(ESTATES + tuple(p + e for e in _VILLAGE_ENDINGS for p in _NAME_PARTS) + tuple(
    w + e for e in _COMPOUND_ENDINGS for w in _COMPOUND_WORDS)))

# City departments and utilities that answer suggestions.
CITY_UNITS: tuple[str, ...] = (
    "市住房公积金管理中心", "市城管局", "市交通运输局", "市教育局", "市卫生健康委", "市医疗保障局",
    "市人力资源和社会保障局", "市住房和城乡建设局", "市生态环境局", "市自然资源和规划局", "市水利局",
    "市农业农村局", "市市场监管局", "市公安局", "市民政局", "市文化和旅游局", "市商务局", "市供电公司",
    "市热力公司", "市自来水公司", "市燃气公司", "市退役军人事务局", "市行政审批服务局", "市财政局",
    "市税务局", "市应急管理局", "市残联", "市妇联", "市通信管理办", "市邮政管理局",
)


def county_units() -> tuple[str, ...]:
    """County/district governments, named as the office names them."""
    return tuple(COUNTIES)


def all_units() -> tuple[str, ...]:
    return CITY_UNITS + county_units()


def place_levels() -> dict[str, int]:
    """Place word -> level (1 county/district, 2 street/town, 3 estate/village/road)."""
    levels: dict[str, int] = {}
    for county, towns in COUNTIES.items():
        levels[county] = 1
        for town in towns:
            levels.setdefault(town, 2)
    for estate in ESTATES:
        levels.setdefault(estate, 3)
    return levels


def town_county() -> dict[str, str]:
    """Street/town -> its county, for names that belong to exactly one county."""
    owners: dict[str, set[str]] = {}
    for county, towns in COUNTIES.items():
        for town in towns:
            owners.setdefault(town, set()).add(county)
    return {town: next(iter(c)) for town, c in owners.items() if len(c) == 1}


def userdict_lines() -> list[str]:
    """Lines of a jieba user dictionary: word, frequency, part-of-speech tag."""
    lines = [f"{CITY} 50000 ns"]
    for word, level in sorted(place_levels().items(), key=lambda kv: (kv[1], kv[0])):
        lines.append(f"{word} {30000 - 5000 * level} ns")
    for unit in all_units():
        if unit not in COUNTIES:
            lines.append(f"{unit} 20000 nt")
    return lines


if __name__ == "__main__":  # python -m dedup.gazetteer > dedup/data/userdict.txt
    sys.stdout.write("\n".join(userdict_lines()) + "\n")
