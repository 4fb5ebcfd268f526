"""The pair scorer: its features against simple references, its decisions, its files and its fitting."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from dedup.batch.engine import sign_docs
from dedup.cli import main
from dedup.config import Config
from dedup.core.scorer import FEATURES, WordSets, fit, word_weights
from dedup.core.segment import Segmenter
from dedup.core.verify import Verifier
from dedup.storage.modelfile import ModelError
from dedup.storage.scorers import default_path, load_scorer, save

SEG = Segmenter()
# Invented places in three cities; one letter, its one-line copy, a copy about another estate, an unrelated one.
LETTER = "我是江口市青湾区翠柳苑的住户，小区暖气一直不热，室温只有十二度，老人孩子冻得生病，请热力公司尽快维修。"
ONE_LINER = "翠柳苑暖气不热"
OTHER_ESTATE = "我是江口市青湾区梧桐里的住户，小区暖气一直不热，室温只有十二度，老人孩子冻得生病，请热力公司尽快维修。"
UNRELATED = "南塘镇石桥中学门口的路灯坏了三盏，晚上学生放学很不安全。"


def verifier(texts, scorer=None):
    config = Config()
    hashes, lengths, sig = sign_docs(list(texts), config.sign)[0]
    return Verifier(sig, hashes, lengths, [{} for _ in texts], 0.3, False, scorer=scorer, tokens=[SEG(t) for t in texts])


def test_word_sets_agree_with_python_sets():
    texts = [LETTER, ONE_LINER, OTHER_ESTATE, UNRELATED, ""]
    tokens = [SEG(t) for t in texts]
    words = WordSets(tokens)
    table, unknown = word_weights()
    i, j = np.array([0, 0, 1, 3, 4]), np.array([1, 2, 2, 0, 0])
    mass, mass_sq = words.shared(i, j)
    for k, (a, b) in enumerate(zip(i, j)):
        shared = set(tokens[a]) & set(tokens[b])
        assert mass[k] == pytest.approx(sum(table.get(w, unknown) for w in shared))
        assert mass_sq[k] == pytest.approx(sum(table.get(w, unknown) ** 2 for w in shared))
    assert words.mass[0] == pytest.approx(sum(table.get(w, unknown) for w in set(tokens[0])))


def test_features_say_what_they_mean():
    v = verifier([LETTER, ONE_LINER, OTHER_ESTATE, UNRELATED, LETTER])
    x = v.features(np.array([0, 0, 0, 0]), np.array([1, 2, 3, 4]))
    f = dict(zip(FEATURES, x.T))
    assert x.shape == (4, len(FEATURES)) and np.isfinite(x).all()
    assert f["jaccard"][3] == 1.0 and f["word_cosine"][3] == pytest.approx(1.0)   # a text and itself
    assert f["word_containment"][0] > f["word_containment"][2]  # the one-liner's words are in the letter
    assert f["jaccard"][1] > f["jaccard"][0]                     # a copy about another estate shares more text
    assert f["length_ratio"][0] > f["length_ratio"][1]
    assert (f["containment"] >= f["jaccard"] - 1e-9).all() and (f["word_containment"] <= 1).all()


def tiny_scorer():
    rng = np.random.default_rng(0)
    x = rng.random((400, len(FEATURES)))
    y = x[:, 0] + x[:, 2] > 1.0
    return fit(x, y, seed=0)


def test_contributions_add_up_to_the_probability():
    scorer = tiny_scorer()
    x = np.array([0.9, 0.5, 0.8, 0.5, 0.1, 3.0])
    steps = scorer.contributions(x)
    assert [name for name, _, _ in steps] == list(FEATURES)
    assert scorer.base + sum(change for _, _, change in steps) == pytest.approx(scorer.probability(x[None, :])[0])


def test_the_verifier_accepts_at_the_match_probability_and_the_veto_comes_first():
    scorer = load_scorer("default")
    texts = [LETTER, LETTER.replace("十二度", "十度"), UNRELATED]
    v = verifier(texts, scorer)
    p = scorer.probability(v.features(np.array([0, 0]), np.array([1, 2])))
    sims = v(np.array([0, 0]), np.array([1, 2]))
    assert sims[0] == pytest.approx(p[0]) and p[0] >= 0.5 and sims[1] == -1.0 and p[1] < 0.5
    vetoed = Verifier(v.sig, v.hashes, v.lengths, [{3: frozenset({"翠柳"})}, {3: frozenset({"梧桐"})}, {}], 0.3, True,
                      scorer=scorer, tokens=v.tokens)
    assert vetoed(np.array([0]), np.array([1]))[0] == -1.0


def test_a_scorer_file_is_loaded_only_when_its_sidecar_vouches_for_it(tmp_path):
    path = tmp_path / "s.joblib"
    save(tiny_scorer(), path, {"sources": {}})
    assert load_scorer(path).sidecar["features"] == list(FEATURES)
    assert load_scorer("none") is None and load_scorer("") is None
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(ModelError, match="SHA-256"):
        load_scorer(path)
    with pytest.raises(ModelError, match="no pair scorer"):
        load_scorer(tmp_path / "absent.joblib")


def test_the_shipped_scorer_says_what_it_was_fitted_on():
    sidecar = json.loads(default_path().with_suffix(".json").read_text(encoding="utf-8"))
    assert any("real" in name for name in sidecar["sources"]) and sidecar["features"] == list(FEATURES)


def test_run_refuses_a_bad_scorer_with_exit_5(tmp_path, suggestions_csv):
    bad = tmp_path / "s.joblib"
    bad.write_bytes(b"not a model")
    result = CliRunner().invoke(main, ["run", str(suggestions_csv), "--db", str(tmp_path / "d.sqlite"),
                                       "--out", str(tmp_path / "o"), "--set", f"cluster.scorer={bad}"])
    assert result.exit_code == 5 and "sidecar" in result.output and not (tmp_path / "d.sqlite").exists()


def test_tune_fits_a_scorer_from_gold_topics(tmp_path):
    sample = tmp_path / "s"
    assert CliRunner().invoke(main, ["sample", "--n", "600", "--history", "0", "--seed", "4", "--out", str(sample)]
                              ).exit_code == 0
    out = tmp_path / "tuned"
    # without the sample's gazetteer, the place veto leaves the scorer the generator's siblings to tell apart
    result = CliRunner().invoke(main, ["tune", str(sample / "export.csv"), "--gold", str(sample / "gold.csv"),
                                       "--fit-scorer", "--out", str(out)])
    assert result.exit_code == 0, result.output
    scorer = load_scorer(out / "pair_scorer.joblib")
    assert scorer.sidecar["held_out"] and "cluster" in (out / "scorer.toml").read_text(encoding="utf-8")


def test_a_night_accepts_pairs_at_its_own_stricter_probability(tmp_path):
    """cluster.night_probability: tonight's texts join stored topics only at that probability."""
    from pathlib import Path

    from conftest import sample_parts

    from dedup.batch.pipeline import run
    from dedup.config import load_config

    root = Path(__file__).resolve().parents[1]
    parts = sample_parts(tmp_path, (1500, 2500))
    scored = load_config(root / "pipelines" / "scored.toml").with_overrides(
        {"places.gazetteer": str(root / "sample_data" / "gazetteer.csv")})
    attached = {}
    for night in (0.0, 0.9999):
        db = tmp_path / f"{night}.sqlite"
        run([parts[0]], db, None, scored, model_path=tmp_path / "none")
        report = run([parts[1]], db, None, scored.with_overrides({"cluster.night_probability": night}),
                     model_path=tmp_path / "none")
        attached[night] = report.counts["cluster_attached"]
    assert attached[0.0] > 0 and attached[0.9999] < attached[0.0]
