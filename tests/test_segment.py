import pickle

from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.core.gazetteer import example_path, load_gazetteer
from dedup.core.segment import NodePlaces, Segmenter, places_conflict
from dedup.core.segment import places as places_of
from dedup.core.verify import place_codes

LIAOCHENG = load_gazetteer(example_path())
SEG = Segmenter(gazetteer=LIAOCHENG)


def places(tokens):
    return places_of(tokens, LIAOCHENG)


def test_user_dictionary_keeps_local_names_whole():
    tokens = SEG("东昌府区古楼街道星光花园的路灯坏了，市住房公积金管理中心不办事")
    assert "古楼街道" in tokens and "星光花园" in tokens and "市住房公积金管理中心" in tokens


def test_stopwords_and_punctuation_dropped():
    tokens = SEG("我们的路灯坏了，谢谢！")
    assert "的" not in tokens and "，" not in tokens and "谢谢" not in tokens


def test_places_by_level_with_implied_county():
    found = places(SEG("松林镇王庄村自来水停水"))
    assert found == {1: frozenset({"临清市"}), 2: frozenset({"松林镇"}), 3: frozenset({"王庄村"})}


def test_node_places_are_the_places_of_each_token_list():
    tokens = [SEG(t) for t in ("松林镇王庄村自来水停水", "路灯坏了", "古楼街道星光花园路灯坏了", "松林镇王庄村自来水停水")]
    lazy = NodePlaces(tokens, gazetteer=LIAOCHENG)
    assert len(lazy) == 4 and list(lazy) == [places(t) for t in tokens]
    assert lazy[1] == {} and lazy[2:] == [places(t) for t in tokens[2:]]
    assert (place_codes(lazy) == place_codes([places(t) for t in tokens])).all()


def test_places_conflict_only_when_both_name_a_level():
    a = places(SEG("古楼街道星光花园路灯坏了"))
    b = places(SEG("古楼街道龙湾小区路灯坏了"))
    c = places(SEG("路灯坏了"))
    assert places_conflict(a, b)
    assert not places_conflict(a, c) and not places_conflict(c, a)
    assert not places_conflict(a, a)


def test_town_implies_its_county():
    assert places_conflict(places(SEG("清水镇利民路停电")), places(SEG("临清市利民路停电")))


def test_segmenter_pickles_and_reloads():
    again = pickle.loads(pickle.dumps(SEG))
    assert again("古楼街道路灯坏了") == SEG("古楼街道路灯坏了")


def test_without_a_gazetteer_no_place_is_known_and_names_are_cut():
    plain = Segmenter()
    assert places_of(plain("松林镇王庄村自来水停水")) == {}
    assert "星光花园" in SEG("星光花园的路灯坏了")


def test_rjieba_gives_jieba_tokens_on_a_varied_corpus():
    import csv
    from pathlib import Path

    pytest = __import__("pytest")
    pytest.importorskip("rjieba")
    with open(Path(__file__).parents[1] / "sample_data" / "export.csv", encoding="utf-8-sig", newline="") as fh:
        texts = [r["content"] for r in csv.DictReader(fh)][:1500]
    texts += ["东昌府区古楼街道星光花园", "市住房公积金管理中心和市城管局", "ＡＢＣ全角 English words 123",
              "🙂🙂", "，。！", "", "繁體字的路燈壞了", "朱老庄镇和朱老庄街道", "高新技术产业开发区九州街道",
              "我叫〔姓名〕,电话〔电话〕", "一二三四五六七八九十" * 20]
    fast, slow = Segmenter(engine="rjieba", gazetteer=LIAOCHENG), Segmenter(engine="jieba", gazetteer=LIAOCHENG)
    for text in texts:
        assert fast.cut(text) == slow.cut(text), text


def _varied_texts() -> list[str]:
    import csv
    from pathlib import Path

    from dedup.config import NormalizeConfig
    from dedup.core.normalize import item_texts

    with open(Path(__file__).parents[1] / "sample_data" / "export.csv", encoding="utf-8-sig", newline="") as fh:
        rows = [(r.get("title", ""), r["content"]) for r in csv.DictReader(fh)][:1500]
    edge = ["", ",", ",,", ",路灯坏了,", "1,000元,3.5万元", "路灯坏了, ,停水", "a,b.c,d", "古楼街道,星光花园",
            "市住房公积金管理中心,不办事.望尽快处理,谢谢", "🙂,🙂", "ABC,English words,123", "，,。"]
    return [c for _, c in rows] + item_texts(rows, NormalizeConfig()) + edge


def test_clauses_give_the_whole_texts_tokens():
    """Segmenting comma-separated clauses once each equals cutting every text whole, for both engines."""
    engines = ["jieba"] + (["rjieba"] if __import__("dedup.core.segment").core.segment.rjieba_available() else [])
    texts = _varied_texts()
    for engine in engines:
        seg = Segmenter(engine=engine)
        for text in texts + texts:  # the second pass is served from the clause cache
            assert seg(text) == seg.tokens(text), (engine, text)


_PIECES = ["古楼街道", "星光花园", "路灯", "坏了", "的", "停水", "市城管局", "1", "3.5", "万元", ",", ",", ",", " ", ".",
           "，", "！", "a", "Bc", "-", "_", "%", "我", "们", "不", "办事", "🙂", "\n"]


@given(st.lists(st.sampled_from(_PIECES), max_size=30))
@settings(max_examples=300, deadline=None)
def test_clauses_equal_whole_cut_property(pieces):
    text = "".join(pieces)
    assert SEG(text) == SEG.tokens(text)


def test_clause_cache_starts_afresh_when_full(monkeypatch):
    import dedup.core.segment as segment

    monkeypatch.setattr(segment, "_MAX_CLAUSES", 3)
    seg = Segmenter()
    for text in ["路灯坏了,停水,停电", "路灯坏了,停气,市城管局,不办事", "古楼街道,星光花园"]:
        assert seg(text) == seg.tokens(text)
        assert len(seg._clauses) <= 3 + text.count(",") + 1
