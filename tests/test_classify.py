"""The department model: routes obvious cases, survives a fresh process, fails clearly."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import CountVectorizer

from dedup.batch.pipeline import run
from dedup.config import Config
from dedup.core.gazetteer import GazetteerError, example_path, load_gazetteer, read_gazetteer
from dedup.core.segment import Segmenter
from dedup.core.topics import TopicSummary
from dedup.routing.classify import ModelError, ModelUnavailable, RouterLoader, load_router, topic_scores
from dedup.routing.features import SegmentAnalyzer, features, segment_counts
from dedup.routing.model import grouped_split, train
from dedup.storage.store import Store

LIAOCHENG = load_gazetteer(example_path())
LIAOCHENG_SEG = Segmenter(gazetteer=LIAOCHENG)

# tiny labelled history: (text, department, topic)
HISTORY = []
for k, place in enumerate(["古楼街道星光花园", "柳园街道龙湾小区", "新区街道百花小区", "湖西街道光明小区"]):
    HISTORY += [(f"{place}的路灯坏了，晚上出行不方便", "市城管局", f"light{k}"),
                (f"{place}的路灯不亮了，请维修", "市城管局", f"light{k}"),
                (f"{place}暖气不热，室内温度太低", "市热力公司", f"heat{k}"),
                (f"{place}今年供暖温度不达标，暖气不热", "市热力公司", f"heat{k}"),
                (f"{place}提取住房公积金审批太慢", "市住房公积金管理中心", f"fund{k}"),
                (f"{place}公积金贷款办理困难，公积金提取不了", "市住房公积金管理中心", f"fund{k}")]
TEXTS, LABELS, GROUPS = (list(x) for x in zip(*HISTORY))


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "department.joblib"
    train(TEXTS, LABELS, GROUPS, path, test_size=0.25, seed=0, gazetteer=LIAOCHENG)
    return path


def test_routes_an_unseen_obvious_case(model):
    router = load_router(model)
    proba = router.predict_proba(["阳谷县七级镇的暖气一点都不热"])
    assert router.labels[int(np.argmax(proba[0]))] == "市热力公司"


def test_sidecar_is_readable_without_unpickling(model):
    sidecar = json.loads(model.with_suffix(".json").read_text(encoding="utf-8"))
    assert set(sidecar["labels"]) == {"市城管局", "市热力公司", "市住房公积金管理中心"}
    assert {"metrics", "versions", "training_data_sha256", "trained_at", "config"} <= set(sidecar)
    assert "topic_top1" in sidecar["metrics"]


def test_model_loads_in_a_fresh_interpreter(model):
    code = ("from dedup.routing.classify import load_router; r = load_router(%r); "
            "print(r.labels[int(r.predict_proba(['古楼街道路灯坏了'])[0].argmax())])" % str(model))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "市城管局"


def test_missing_and_incompatible_models_are_unavailable(tmp_path, model):
    with pytest.raises(ModelUnavailable, match="no department model"):
        load_router(tmp_path / "none.joblib")
    copy = tmp_path / "old.joblib"
    copy.write_bytes(model.read_bytes())
    sidecar = json.loads(model.with_suffix(".json").read_text(encoding="utf-8"))
    sidecar["versions"]["scikit-learn"] = "0.20.0"
    copy.with_suffix(".json").write_text(json.dumps(sidecar), encoding="utf-8")
    with pytest.raises(ModelUnavailable, match="retrain"):
        load_router(copy)


def described(path, data: bytes):
    """A model file of these bytes with a sidecar that records them (as `dedup train` would)."""
    import hashlib

    path.write_bytes(data)
    path.with_suffix(".json").write_text(json.dumps({"model_sha256": hashlib.sha256(data).hexdigest()}))
    return path


def test_corrupt_model_is_a_clear_error(tmp_path):
    bad = described(tmp_path / "bad.joblib", b"this is not a model")
    with pytest.raises(ModelError, match="corrupt"):
        load_router(bad)


class _Payload:
    def __reduce__(self):
        import os
        return (os.system, ("touch ran-the-payload",))


def test_a_model_file_that_is_not_the_one_its_sidecar_describes_is_never_unpickled(tmp_path, model,
                                                                                   monkeypatch):
    import joblib

    monkeypatch.chdir(tmp_path)
    swapped = tmp_path / "department.joblib"
    joblib.dump({"format": 1, "pipeline": _Payload()}, swapped)
    swapped.with_suffix(".json").write_text(model.with_suffix(".json").read_text(encoding="utf-8"),
                                            encoding="utf-8")
    with pytest.raises(ModelError, match="SHA-256 differs"):
        load_router(swapped)
    swapped.with_suffix(".json").unlink()
    with pytest.raises(ModelError, match="no sidecar"):
        load_router(swapped)
    assert not (tmp_path / "ran-the-payload").exists()


def test_a_model_of_the_wrong_kind_is_a_clear_error(tmp_path):
    import io

    import joblib

    buffer = io.BytesIO()
    joblib.dump({"format": 1, "pipeline": {"not": "a classifier"}}, buffer)
    with pytest.raises(ModelError, match="not a fitted classifier"):
        load_router(described(tmp_path / "wrong.joblib", buffer.getvalue()))


def test_a_model_in_a_world_writable_folder_is_loaded_with_a_warning(tmp_path, model):
    import shutil

    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o777)
    copy = Path(shutil.copy(model, folder / model.name))
    shutil.copy(model.with_suffix(".json"), folder / model.with_suffix(".json").name)
    assert "writable by every user" in load_router(copy).sidecar["_warning"]
    assert not load_router(model).sidecar["_warning"]


def test_run_without_model_still_clusters_and_says_so(tmp_path, suggestions_csv):
    report = run([suggestions_csv], tmp_path / "d.sqlite", tmp_path / "o", Config(), model_path=tmp_path / "none")
    assert report.counts["new_topics"] == 5 and report.routing.startswith("routing skipped")


def test_run_with_model_fills_department_columns(tmp_path, suggestions_csv, model):
    report = run([suggestions_csv], tmp_path / "d.sqlite", tmp_path / "o", Config(), model_path=model)
    by_rep = {t.representative_id: t for t in report.topics}
    assert by_rep["A1"].department == "市城管局"
    assert len(by_rep["A1"].department_top3) == 3
    assert all(0 <= t.department_score <= 1 for t in report.topics)


def test_grouped_split_never_leaks_a_group():
    groups = [f"g{k % 37}" for k in range(500)]
    for seed in range(5):
        tr, te = grouped_split(groups, 0.3, seed)
        assert not {groups[k] for k in tr} & {groups[k] for k in te}
        assert len(tr) + len(te) == 500


def test_topic_scores_weighted_mean():
    proba = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    scores = topic_scores(proba, np.array([0, 0, 1]), np.array([3.0, 1.0, 1.0]), 2)
    assert np.allclose(scores, [[0.75, 0.25], [0.5, 0.5]])


def test_needs_review_flag_below_threshold(model):
    router = load_router(model)
    topic = TopicSummary("T1", 1, "x", "x", [], {}, "", "")
    router.route([topic], ["一句和任何部门都无关的话"], np.ones(1), np.zeros(1, dtype=int), review_below=0.99)
    assert topic.needs_review


def test_loaded_in_a_process_routes_as_in_process(model, monkeypatch):
    monkeypatch.setattr("dedup.runtime.parallel.SERIAL_BELOW", 2)  # the process spreads even these over workers
    docs = ["古楼街道星光花园的路灯坏了", "湖西街道光明小区暖气不热", "一句和任何部门都无关的话"] * 4
    with RouterLoader(model) as loader:
        remote = loader.router()
        assert remote.labels == load_router(model).labels
        assert np.array_equal(remote.predict_proba(docs), load_router(model).predict_proba(docs))
        assert loader.router() is remote
    assert loader.process is None


def test_loader_raises_the_load_error_each_time_it_is_asked(tmp_path):
    bad = described(tmp_path / "bad.joblib", b"this is not a model")
    with RouterLoader(bad) as loader:
        for _ in range(2):
            with pytest.raises(ModelError, match="corrupt"):
                loader.router()
    with RouterLoader(tmp_path / "none.joblib") as loader:
        with pytest.raises(ModelUnavailable, match="no department model"):
            loader.router()


def test_run_with_corrupt_model_stores_nothing(tmp_path, suggestions_csv):
    bad = described(tmp_path / "bad.joblib", b"this is not a model")
    with pytest.raises(ModelError):
        run([suggestions_csv], tmp_path / "d.sqlite", tmp_path / "o", Config(), model_path=bad)
    assert Store(tmp_path / "d.sqlite").counts()["items"] == 0


# token lists that exercise every kind of feature: words, bigrams, counties named or implied by a
# street (once per text however often), a literal "@county" token, unknown words, an empty text
TOKEN_DOCS = [
    ["东昌府区", "古楼街道", "路灯", "坏", "古楼街道", "路灯", "坏"],
    ["阳谷县", "柳园街道", "暖气", "不热"],                      # two counties, one of them implied
    ["@东昌府区", "古楼街道", "暖气"],                           # the literal token and the implied county
    ["没见过", "的", "词", "路灯", "没见过"],
    [],
    ["路灯", "路灯", "路灯", "不亮"],
    ["公积金", "提取", "公积金", "提取", "审批", "太慢"],
]
WORDS = sorted({w for doc in TOKEN_DOCS for w in doc} | {"新区街道", "湖西街道", "临清市", "松林镇", "a b", "a", "b"})


def _fitted_vocabulary(docs):
    return CountVectorizer(analyzer=SegmentAnalyzer(LIAOCHENG_SEG)).fit(docs).vocabulary_


def _same_matrix(a, b):
    a, b = a.tocsr(), b.tocsr()
    return (a.shape == b.shape and np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
            and np.array_equal(a.data, b.data))


@pytest.mark.parametrize("where", [False, True])
def test_segment_counts_equal_countvectorizer_on_fixtures(where):
    vectorizer = CountVectorizer(analyzer=SegmentAnalyzer(LIAOCHENG_SEG, where=where)).fit(
        TOKEN_DOCS[:3] + [["路灯", "不亮"]])
    assert "@东昌府区" in vectorizer.vocabulary_ and "@阳谷县" in vectorizer.vocabulary_
    assert ("@东昌府区|路灯" in vectorizer.vocabulary_) is where
    assert _same_matrix(segment_counts(TOKEN_DOCS, vectorizer.vocabulary_, LIAOCHENG, where),
                        vectorizer.transform(TOKEN_DOCS))
    assert segment_counts([], vectorizer.vocabulary_, LIAOCHENG, where).shape == (0, len(vectorizer.vocabulary_))


@settings(max_examples=60, deadline=None)
@given(train_docs=st.lists(st.lists(st.sampled_from(WORDS), max_size=8), min_size=1, max_size=6),
       docs=st.lists(st.lists(st.sampled_from(WORDS), max_size=10), max_size=8), where=st.booleans())
def test_segment_counts_equal_countvectorizer(train_docs, docs, where):
    vectorizer = CountVectorizer(analyzer=SegmentAnalyzer(LIAOCHENG_SEG, where=where))
    try:
        vectorizer.fit(train_docs)
    except ValueError:  # nothing to learn from (every training text empty)
        return
    assert _same_matrix(segment_counts(docs, vectorizer.vocabulary_, LIAOCHENG, where), vectorizer.transform(docs))


def test_a_place_implies_its_county_through_its_parent(tmp_path):
    """The unit of a "kind × where" rule needs the county of an estate named alone."""
    path = tmp_path / "g.csv"
    path.write_text("name,kind,parent,aliases\n河西区,county,,\n柳岸街道,town,河西区,\n"
                    "翠湖花园,place,柳岸街道,\n北关村,place,河西区,\n无名大厦,place,,\n", encoding="utf-8")
    gazetteer = read_gazetteer(path)
    assert gazetteer.places(["翠湖花园"])[1] == {"河西区"}
    assert gazetteer.places(["北关村"])[1] == {"河西区"}
    assert 1 not in gazetteer.places(["无名大厦"])
    words = SegmentAnalyzer(Segmenter(gazetteer=gazetteer), where=True)(["翠湖花园", "路灯", "坏"])
    assert "@河西区" in words and "@河西区|路灯" in words and "@河西区|翠湖花园" in words
    path.write_text("name,kind,parent,aliases\n翠湖花园,place,别处街道,\n", encoding="utf-8")
    with pytest.raises(GazetteerError, match="row 2"):
        read_gazetteer(path)


def test_fast_features_give_the_pipelines_probabilities(model, monkeypatch):
    pipeline = load_router(model).pipeline
    docs = [SegmentAnalyzer(LIAOCHENG_SEG).segmenter(t) for t in TEXTS] + TOKEN_DOCS
    fast = features(pipeline, docs)
    assert _same_matrix(fast, pipeline.named_steps["features"].transform(docs))
    assert np.array_equal(load_router(model).predict_proba(docs), pipeline.predict_proba(docs))


@pytest.mark.parametrize("estimator", ["svm", "logistic"])
@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
@pytest.mark.parametrize("n_classes", [2, 5])
def test_calibrated_probabilities_are_scikit_learns(estimator, method, n_classes):
    """All classes calibrated at once (sigmoid, three classes or more; the SVMs' decision values from one
    product) or scikit-learn's own answer: the same floats."""
    from scipy.sparse import random as sparse_random
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    from dedup.routing.features import predict_proba

    X = sparse_random(240, 40, density=0.2, format="csr", random_state=1)
    y = np.array([f"unit{k}" for k in np.asarray(X @ np.random.default_rng(0).random((40, n_classes))).argmax(1)])
    y[:3 * n_classes] = [f"unit{k % n_classes}" for k in range(3 * n_classes)]  # every unit in every fold
    base = LinearSVC(C=0.5, random_state=0) if estimator == "svm" else LogisticRegression(max_iter=500)
    clf = CalibratedClassifierCV(base, method=method, cv=3).fit(X, y)
    unseen = sparse_random(60, 40, density=0.3, format="csr", random_state=3)
    unseen = unseen.multiply((np.arange(60) != 5)[:, None]).tocsr()  # row 5: a text with no known feature
    assert np.array_equal(predict_proba(clf, unseen), clf.predict_proba(unseen))


def test_fit_check_speaks_when_tonight_scores_far_below_the_held_out_topics():
    from dedup.routing.classify import fit_check

    sidecar = {"metrics": {"topic_scores": sorted([0.95] * 90 + [0.4] * 10)}}  # 10% below 0.6 when held out
    assert fit_check(sidecar, [0.95] * 85 + [0.3] * 15, 0.6) == ""           # 15%: within twice
    said = fit_check(sidecar, [0.95] * 30 + [0.3] * 70, 0.6)
    assert "does not fit tonight's messages: 70% of topics" in said and "10% of its held-out" in said
    assert fit_check({"metrics": {}}, [0.1] * 10, 0.6) == ""                  # a model that records none


def test_run_from_any_folder_routes_with_the_checkout_model(tmp_path, monkeypatch, suggestions_csv):
    from click.testing import CliRunner

    from dedup.cli import main

    monkeypatch.chdir(tmp_path)  # models/department.joblib is not here: it is found beside the package
    result = CliRunner().invoke(main, ["run", str(suggestions_csv), "--db", "d.sqlite", "--out", "o"])
    assert result.exit_code == 0 and "routed with" in result.output and "routing skipped" not in result.output


def test_dedup_train_writes_the_model_its_plots_and_a_learning_curve(tmp_path):
    from click.testing import CliRunner

    from dedup.cli import main

    sample = tmp_path / "s"
    assert CliRunner().invoke(main, ["sample", "--n", "10", "--history", "1500", "--seed", "2", "--out", str(sample)]
                              ).exit_code == 0
    out = tmp_path / "m" / "department.joblib"
    result = CliRunner().invoke(main, ["train", str(sample / "history.csv"), "--gazetteer", str(sample / "gazetteer.csv"),
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    for name in ("department_confusion.png", "department_learning.png"):
        assert (out.parent / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    curve = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))["metrics"]["learning_curve"]
    assert [c["share"] for c in curve][-1] == 1.0 and [c["items"] for c in curve] == sorted(c["items"] for c in curve)
    assert all(0 <= c["topic_top1"] <= 1 for c in curve) and "learning curve (items: topic top-1)" in result.output


def test_suspect_labels_lists_mostly_the_labels_that_were_flipped():
    import csv

    import numpy as np

    from dedup.core.gazetteer import load_gazetteer
    from dedup.routing.model import suspect_labels

    root = Path(__file__).resolve().parents[1]
    with (root / "sample_data" / "history.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))  # the whole 12,000: fold models need the history a city would have
    texts, labels, groups = [r["content"] for r in rows], [r["department"] for r in rows], [r["topic"] for r in rows]
    units = sorted(set(labels))
    rng = np.random.default_rng(3)
    flipped = set(rng.choice(len(labels), size=240, replace=False).tolist())  # 2%
    noisy = [rng.choice([u for u in units if u != lab]) if k in flipped else lab for k, lab in enumerate(labels)]
    listed = suspect_labels(texts, noisy, groups, gazetteer=load_gazetteer(root / "sample_data" / "gazetteer.csv"))
    caught = {k for k, *_ in listed} & flipped
    assert len(caught) >= 0.6 * len(flipped) and len(caught) >= 0.6 * len(listed)
    assert all(unit != noisy[k] and p > q for k, unit, p, q in listed)
