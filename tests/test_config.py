import pytest

from dedup.config import Config, ConfigError, dump_toml, load_config


def test_defaults_are_valid_and_frozen():
    config = Config()
    with pytest.raises(Exception):
        config.cluster.threshold = 0.1  # type: ignore[misc]


def test_overrides_coerce_types():
    config = Config().with_overrides({"cluster.threshold": "0.55", "sign.num_perm": "64", "cluster.place_veto": "false"})
    assert config.cluster.threshold == 0.55 and config.sign.num_perm == 64 and config.cluster.place_veto is False


def test_unknown_and_invalid_settings_rejected():
    with pytest.raises(ConfigError):
        Config().with_overrides({"cluster.treshold": 0.5})
    with pytest.raises(ConfigError):
        Config().with_overrides({"cluster.threshold": 1.5})
    with pytest.raises(ConfigError):
        Config().with_overrides({"sign.shingle": "sentence"})


def test_toml_round_trip(tmp_path):
    flat = {"cluster.threshold": 0.45, "sign.num_perm": 64, "sign.shingle": "word", "sign.ngram": 1}
    path = tmp_path / "best.toml"
    path.write_text(dump_toml(flat), encoding="utf-8")
    config = load_config(path)
    assert (config.cluster.threshold, config.sign.num_perm, config.sign.shingle, config.sign.ngram) == (0.45, 64, "word", 1)


def test_file_then_overrides(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[cluster]\nthreshold = 0.6\n", encoding="utf-8")
    assert load_config(path, {"cluster.threshold": 0.7}).cluster.threshold == 0.7


def test_bad_file_is_a_config_error(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[cluster\nthreshold=", encoding="utf-8")
    with pytest.raises(ConfigError, match="not a valid config"):
        load_config(path)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")


def test_classify_members_must_be_between_one_and_the_sample():
    import pytest

    from dedup.config import Config, ConfigError

    assert Config().with_overrides({"classify.members": 8}).classify.members == 8
    for bad in (0, 9):
        with pytest.raises(ConfigError, match="classify.members"):
            Config().with_overrides({"classify.members": bad})
