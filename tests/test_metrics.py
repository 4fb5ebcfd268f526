import pytest

from dedup.tools.metrics import cluster_metrics, pair_metrics


def test_hand_computed_example():
    # gold: {a,b,c} {d,e}; pred: {a,b} {c,d,e}
    gold = ["x", "x", "x", "y", "y"]
    pred = [1, 1, 2, 2, 2]
    m = cluster_metrics(pred, gold)
    # pairs: gold 3+1=4, pred 1+3=4, true (a,b),(d,e) = 2
    assert m["pairwise_precision"] == pytest.approx(0.5)
    assert m["pairwise_recall"] == pytest.approx(0.5)
    # B-cubed precision: a,b: 2/2; c: 1/3; d,e: 2/3 -> (1+1+1/3+2/3+2/3)/5
    assert m["bcubed_precision"] == pytest.approx((1 + 1 + 1 / 3 + 2 / 3 + 2 / 3) / 5)
    # B-cubed recall: a,b: 2/3; c: 1/3; d,e: 1 -> (2/3+2/3+1/3+1+1)/5
    assert m["bcubed_recall"] == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1 + 1) / 5)
    assert m["topics"] == 2 and m["gold_topics"] == 2


def test_perfect_and_all_singletons():
    gold = ["a", "a", "b"]
    assert cluster_metrics(["p", "p", "q"], gold)["bcubed_f1"] == pytest.approx(1.0)
    single = cluster_metrics([1, 2, 3], gold)
    assert single["pairwise_precision"] == 1.0 and single["pairwise_recall"] == 0.0
    assert single["bcubed_precision"] == 1.0


def test_labels_compared_by_grouping_not_name():
    assert cluster_metrics(["b", "b", "a"], ["a", "a", "b"])["pairwise_f1"] == 1.0


def test_length_mismatch_raises():
    with pytest.raises(ValueError):
        cluster_metrics([1], [1, 2])


def test_pair_metrics():
    m = pair_metrics([True, True, False, False], [True, False, True, False])
    assert m["pairwise_precision"] == 0.5 and m["pairwise_recall"] == 0.5
