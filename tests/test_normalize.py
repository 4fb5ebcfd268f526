from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.config import NormalizeConfig
from dedup.core.normalize import (
    EMAIL_MASK,
    ID_MASK,
    NAME_MASK,
    PHONE_MASK,
    item_text,
    item_texts,
    normalize,
    normalize_many,
)

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


def test_full_width_folds_to_half_width():
    assert normalize("ＡＢＣ１２３，路灯") == "ABC123,路灯"


def test_contacts_are_masked():
    text = normalize("我叫张伟，电话13812345678，邮箱zw@example.com，身份证371502199001011234。")
    assert "13812345678" not in text and "zw@example.com" not in text and "371502199001011234" not in text
    assert PHONE_MASK in text and EMAIL_MASK in text and ID_MASK in text and NAME_MASK in text


def test_landline_with_area_code_is_masked():
    assert PHONE_MASK in normalize("联系电话：0635-8888888")


def test_channel_boilerplate_stripped():
    assert normalize("市民来电反映：路灯坏了") == "路灯坏了"
    assert normalize("您好，尊敬的领导：路灯坏了") == "路灯坏了"


def test_whitespace_and_repeated_punctuation_folded():
    assert normalize("路灯  坏了！！！\n请 修") == "路灯 坏了! 请 修"


def test_title_prepended_once():
    assert item_text("路灯不亮", "古楼街道路灯坏了三盏") == "路灯不亮. 古楼街道路灯坏了三盏"
    assert item_text("路灯坏了", "路灯坏了三盏") == "路灯坏了三盏"


def test_normalize_is_idempotent():
    text = "市民来电反映：东昌府区路灯坏了，电话13812345678！！"
    assert normalize(normalize(text)) == normalize(text)


# The plain composition the fast paths in dedup.normalize must equal.
def _reference_normalize(text: str, config=NormalizeConfig()) -> str:
    import unicodedata

    from dedup.core import normalize as n
    from dedup.core import privacy

    text = unicodedata.normalize("NFKC", text).translate(n._PUNCT_FOLD)
    text = n._SPACE.sub(" ", text).strip()
    if config.mask_contacts:
        text = privacy.mask(text)
    text = n._REPEAT_PUNCT.sub(r"\1", text)
    ordered = sorted(config.boilerplate, key=len, reverse=True)
    changed = True
    while changed:
        changed = False
        stripped = text.lstrip(" ,.:;!?")
        for phrase in ordered:
            if stripped.startswith(phrase):
                text, changed = stripped[len(phrase):], True
                break
    return text.lstrip(" ,.:;!?")


EDGE_CASES = [
    "", "   ", "……路灯坏了……！！", "Ａ\u0301ＢＣ，“路灯”‘坏’了～～", "︑﹐︰路灯", "ｔｅｌ：１３８１２３４５６７８",
    "\u3000市民来电反映：\u3000您好，路灯坏了", "您好！市民来电反映：您好：路灯", "٣٧١٥٠٢١٩٩٠٠١٠١١٢٣٤ 身份证",
    "我是李娜，联系人王强。姓名：赵六", "邮箱ａｂｃ＠ｅｘａｍｐｌｅ．ｃｏｍ", "①②③ ㈠ ㍿ ﬁ", "路灯…。。。!!", "，，，",
    "東昌府區路燈壞了", "\ufeff市民来电反映:路灯", "😀😀 路灯", "联系电话：0635-8888888，13912345678",
]


@pytest.mark.parametrize("text", EDGE_CASES)
def test_fast_normalize_equals_reference_on_edge_cases(text):
    assert normalize(text) == _reference_normalize(text)


def test_fast_normalize_equals_reference_on_sample():
    import csv

    with open(SAMPLE / "export.csv", encoding="utf-8-sig", newline="") as fh:
        contents = [row["content"] for row in csv.DictReader(fh)]
    assert len(contents) > 1000
    for text in contents:
        assert normalize(text) == _reference_normalize(text), text


@given(st.text(alphabet=st.sampled_from(list("路灯坏了我是张伟叫本人 ，。！？：；、（）【】“”‘’～…,.!?:;@0123456789"
                                          "１２３４５６７８９０ＡＢａｂ＠\u3000\u0301︑﹐市民来电反映您好٣٧١ -＂😀")),
               max_size=40))
@settings(max_examples=400, deadline=None)
def test_fast_normalize_equals_reference_property(text):
    assert normalize(text) == _reference_normalize(text)


FRAGMENTS = ["13812345678", "138 1234 5678", "+86 139-1234-5678", "371502199001011234", "37150219900101123X",
             "0635-8888888", "06358888888", "١٣٨١٢٣٤٥٦٧٨", "１３８１２３４５６７８", "2019年", "12", "3盏", "，", "。。",
             "!!", "～～", "……", " ", "\u3000", "我叫张伟", "本人李娜，", "电话", "邮箱zw@example.com", "市民来电反映：",
             "路灯坏了", "＂", "😀", "86", "+", "-", "0", "1", "8", "X", "0635", "1234"]


@given(st.lists(st.sampled_from(FRAGMENTS), max_size=12).map("".join))
@settings(max_examples=400, deadline=None)
def test_fast_normalize_equals_reference_on_contact_fragments(text):
    assert normalize(text) == _reference_normalize(text)


# normalize_many must give, text for text, what normalize gives, whatever sits beside each text.
CONFIGS = [NormalizeConfig(), NormalizeConfig(mask_contacts=False), NormalizeConfig(boilerplate=())]
BATCH_ALPHABET = list("路灯坏了我是张伟叫本人联系姓名 ，。！？：；、（）【】“”‘’～…,.!?:;@0123456789１２３ＡＢａ＠\u3000\u0301"
                      "︑﹐市民来电反映您好٣٧ -＂\n\t\x00①ﬁ") + ["😀", "𝟗", "\U000104a3", "\ud800"]


@pytest.mark.parametrize("config", CONFIGS)
def test_normalize_many_equals_normalize_on_edge_cases_and_fragments(config):
    texts = EDGE_CASES + FRAGMENTS + ["", "a\x00b", "  x  "]
    assert normalize_many(texts, config) == [normalize(t, config) for t in texts]
    assert normalize_many([], config) == []


def test_normalize_many_equals_normalize_on_sample():
    import csv

    with open(SAMPLE / "export.csv", encoding="utf-8-sig", newline="") as fh:
        contents = [row["content"] for row in csv.DictReader(fh)]
    assert normalize_many(contents) == [normalize(t) for t in contents]


@given(st.lists(st.one_of(st.text(alphabet=st.sampled_from(BATCH_ALPHABET), max_size=30),
                          st.lists(st.sampled_from(FRAGMENTS), max_size=8).map("".join)), max_size=12),
       st.sampled_from(CONFIGS))
@settings(max_examples=500, deadline=None)
def test_normalize_many_equals_normalize_property(texts, config):
    assert normalize_many(texts, config) == [normalize(t, config) for t in texts]


@given(st.lists(st.tuples(st.sampled_from(["", "路灯坏了", "路灯", "标题：噪音", " ", "市民来电反映"]),
                          st.sampled_from(["", "古楼街道路灯坏了三盏", "路灯坏了", "电话13812345678", "您好"])),
                max_size=8))
@settings(max_examples=200, deadline=None)
def test_item_texts_equals_item_text(pairs):
    assert item_texts(pairs) == [item_text(title, content) for title, content in pairs]
