from pathlib import Path

import pytest

from dedup.config import Config, load_config

PIPELINES = sorted((Path(__file__).parents[1] / "pipelines").glob("*.toml"))


@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: p.name)
def test_pipeline_configs_load(path):
    assert isinstance(load_config(path), Config)


def test_nightly_spells_out_the_defaults():
    assert load_config(Path(__file__).parents[1] / "pipelines" / "nightly.toml") == Config()
