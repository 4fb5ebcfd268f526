"""Gazetteer files: places, aliases and units of any city, read from the file configuration names."""

import pickle

import pytest
from click.testing import CliRunner

from dedup.cli import main
from dedup.config import load_config
from dedup.core.gazetteer import EMPTY, GazetteerError, example_path, load_gazetteer, read_gazetteer
from dedup.core.segment import Segmenter, places_conflict

# An invented city: names and places made up for the test.
RIVERTON = """name,kind,parent,aliases
江口市,city,,
青湾区,county,,青湾
石桥县,county,,
北门街道,town,青湾区,
南塘镇,town,石桥县,
新桥镇,town,青湾区,
新桥镇,town,石桥县,
翠柳苑,place,,翠柳
梧桐里社区,place,北门街道,
市水务集团,unit,,
"""


def write(tmp_path, text, name="g.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_levels_aliases_and_towns_of_an_invented_city(tmp_path):
    g = read_gazetteer(write(tmp_path, RIVERTON))
    assert g.counties == ("青湾区", "石桥县") and g.units == ("市水务集团",) and g.cities == ("江口市",)
    assert g.levels["北门街道"] == 2 and g.levels["翠柳"] == 3 and g.canonical["青湾"] == "青湾区"
    # a town in two counties implies neither; a town in one implies it, and so does a place in that town
    assert g.county_of == {"北门街道": "青湾区", "南塘镇": "石桥县", "梧桐里社区": "青湾区"}
    assert g.all_units() == ("市水务集团", "青湾区", "石桥县")
    seg = Segmenter(gazetteer=g)
    tokens = seg("青湾北门街道翠柳的自来水发黄")
    assert {"青湾", "北门街道", "翠柳"} <= set(tokens)
    # the alias is read as the name: a copy that shortens the name names the same place
    assert g.places(tokens) == {1: frozenset({"青湾区"}), 2: frozenset({"北门街道"}), 3: frozenset({"翠柳苑"})}
    assert not places_conflict(g.places(seg("翠柳苑停水")), g.places(seg("翠柳停水")))
    assert places_conflict(g.places(seg("南塘镇停水")), g.places(seg("青湾区停水")))  # the town names its county


def test_no_gazetteer_knows_no_place():
    assert load_gazetteer("") is EMPTY and not EMPTY and EMPTY.places(["翠柳苑"]) == {}


@pytest.mark.parametrize("text, row, says", [
    ("name,parent\n翠柳苑,\n", 1, "header"),
    ("name,kind\n翠柳苑,estate\n", 2, "kind 'estate'"),
    ("name,kind,parent\n南塘镇,town,江口县\n", 2, "not a county"),
    ("name,kind,aliases\n甲苑,place,乙\n丙苑,place,乙\n", 3, "alias"),
    ("name,kind\n翠柳苑,place\n翠柳苑,county\n", 3, "two levels"),
    ("name,kind\n翠 柳,place\n", 2, "not a name"),
])
def test_a_bad_file_is_refused_naming_file_and_row(tmp_path, text, row, says):
    path = write(tmp_path, text)
    with pytest.raises(GazetteerError) as err:
        read_gazetteer(path)
    assert str(path) in str(err.value) and f"row {row}" in str(err.value) and says in str(err.value)


def test_a_config_files_gazetteer_is_read_from_beside_it(tmp_path, monkeypatch):
    write(tmp_path, RIVERTON, "places.csv")
    (tmp_path / "dedup.toml").write_text('[places]\ngazetteer = "places.csv"\n', encoding="utf-8")
    monkeypatch.chdir("/")
    config = load_config(tmp_path / "dedup.toml")
    assert load_gazetteer(config.places.gazetteer).counties == ("青湾区", "石桥县")


def test_cli_refuses_a_missing_or_bad_gazetteer_before_the_run(tmp_path, suggestions_csv):
    db = tmp_path / "d.sqlite"
    for value, says in ((tmp_path / "none.csv", "not found"), (write(tmp_path, "name\nx\n"), "header")):
        result = CliRunner().invoke(main, ["run", str(suggestions_csv), "--db", str(db), "--out", str(tmp_path / "o"),
                                           "--set", f"places.gazetteer={value}"])
        assert result.exit_code == 2 and says in result.output and "Traceback" not in result.output
    assert not db.exists()


def test_a_night_with_another_gazetteer_is_refused(tmp_path, suggestions_csv):
    db, out = tmp_path / "d.sqlite", tmp_path / "o"
    first = CliRunner().invoke(main, ["run", str(suggestions_csv), "--db", str(db), "--out", str(out),
                                      "--model", "none", "--set", f"places.gazetteer={example_path()}"])
    assert first.exit_code == 0, first.output
    night = write(tmp_path, "id,content\nN1,新的一条留言：翠柳苑停水三天了\n", "night.csv")
    result = CliRunner().invoke(main, ["run", str(night), "--db", str(db), "--out", str(out), "--model", "none"])
    assert result.exit_code == 4 and "gazetteer" in result.output


def test_a_model_keeps_the_gazetteer_it_was_trained_with(tmp_path):
    g = read_gazetteer(write(tmp_path, RIVERTON))
    again = pickle.loads(pickle.dumps(Segmenter(gazetteer=g)))
    assert again.gazetteer.sha256 == g.sha256 and again("翠柳苑停水")[0] == "翠柳苑"


def test_the_bundled_sample_is_placed_in_the_example_gazetteer(tmp_path):
    result = CliRunner().invoke(main, ["sample", "--n", "50", "--seed", "3", "--out", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "s" / "gazetteer.csv").read_bytes() == example_path().read_bytes()
    config = load_config(tmp_path / "s" / "dedup.toml")
    assert load_gazetteer(config.places.gazetteer).sha256 == load_gazetteer(example_path()).sha256


# Invented suggestions from two made-up cities: the names a draft gazetteer should hold, and ones it must not.
HISTORY = [
    "青湾区北门街道翠柳苑小区的暖气不热", "翠柳苑小区暖气不热已经一周了", "我住在翠柳苑小区，暖气片是凉的",
    "石桥县南塘镇的自来水发黄", "南塘镇停水三天", "南塘镇自来水水压太低",
    "梧桐路的路灯坏了", "梧桐路的路灯不亮，很危险", "晚上梧桐路一片漆黑",
    "我们小区门口垃圾没人清运", "我们小区的电梯坏了", "我们小区停车太乱",
    "附近医院收费太贵", "附近医院排队太久", "附近医院态度不好",
]


def test_learn_finds_places_of_each_kind_and_leaves_out_generic_phrases():
    from dedup.tools.placenames import learn

    learned = {name: (kind, seen) for name, kind, seen in learn(HISTORY, min_count=3)}
    assert learned["翠柳苑小区"] == ("place", 3) and learned["南塘镇"] == ("town", 3)
    assert learned["梧桐路"] == ("place", 3)
    assert not any(name.startswith(("我们", "附近")) for name in learned)
    assert all(seen >= 3 for _, seen in learned.values())


def test_gazetteer_learn_writes_a_draft_that_reads_as_a_gazetteer(tmp_path):
    history = tmp_path / "history.csv"
    history.write_text("id,content\n" + "".join(f"H{k},{t}\n" for k, t in enumerate(HISTORY)), encoding="utf-8")
    out = tmp_path / "draft.csv"
    result = CliRunner().invoke(main, ["gazetteer", "learn", str(history), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "read 15 texts" in result.output and out.read_text(encoding="utf-8").startswith(
        "name,kind,parent,aliases,seen\n")
    draft = read_gazetteer(out)
    assert draft.levels["南塘镇"] == 2 and draft.levels["翠柳苑小区"] == 3


def test_entity_spans_give_the_keys_and_where_they_are():
    from dedup.core.entities import keys, spans

    text = "我是金桂新城小区的业主，石子岭小学门口和星悦酒店，我们小区"
    found = spans(text)
    assert {key for _, _, key in found} == keys(text) == {"金桂", "子岭", "星悦"}
    assert [text[s:e] for s, e, _ in found] == ["金桂新城小区", "子岭小学", "星悦酒店"]
