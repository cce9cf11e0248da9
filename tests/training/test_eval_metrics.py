"""Evaluation metrics: pixel accuracy / mIoU on hand-made maps, Fréchet distance vs numpy."""

from __future__ import annotations

import numpy as np
import pytest

from studio.training.eval_metrics import confusion, feature_stats, frechet_distance, score


def test_perfect_prediction_scores_one():
    truth = np.array([[1, 1, 3], [3, 9, 9]], np.uint16)
    result = score(confusion(truth, truth, 25))
    assert result.pixel_accuracy == 1.0 and result.miou == 1.0
    assert sorted(result.iou) == [1, 3, 9] and result.pixels == 6


def test_known_confusion_gives_known_numbers():
    truth = np.array([1, 1, 1, 1, 2, 2, 2, 2, 0, 0])
    pred = np.array([1, 1, 1, 2, 2, 2, 2, 2, 5, 7])  # unlabeled truth (0) is not counted
    matrix = confusion(truth, pred, 25)
    assert matrix.sum() == 8 and matrix[1, 1] == 3 and matrix[1, 2] == 1 and matrix[2, 2] == 4
    result = score(matrix)
    assert result.pixel_accuracy == pytest.approx(7 / 8)
    assert result.iou == pytest.approx({1: 3 / 4, 2: 4 / 5})  # TP / (truth + predicted - TP)
    assert result.miou == pytest.approx((3 / 4 + 4 / 5) / 2)


def test_a_class_predicted_but_absent_lowers_iou_but_is_not_averaged():
    truth = np.array([4, 4, 4, 4])
    pred = np.array([4, 4, 6, 6])
    result = score(confusion(truth, pred, 25))
    assert result.iou == {4: 0.5} and result.miou == 0.5 and result.pixel_accuracy == 0.5


def test_nothing_labelled_is_a_clear_error():
    with pytest.raises(ValueError, match="unlabeled"):
        score(confusion(np.zeros(4), np.ones(4), 25))


def _direct_frechet(x: np.ndarray, y: np.ndarray) -> float:
    """The textbook formula with scipy's general matrix square root of A B."""
    from scipy import linalg

    a, b = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    d = x.mean(0) - y.mean(0)
    return float(d @ d + np.trace(a) + np.trace(b) - 2 * np.trace(np.real(linalg.sqrtm(a @ b))))


def test_frechet_of_identical_sets_is_zero_and_of_shifted_sets_positive():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 8)) @ rng.normal(size=(8, 8))
    same = frechet_distance(feature_stats(x), feature_stats(x.copy()))
    assert same == pytest.approx(0.0, abs=1e-6)
    shifted = frechet_distance(feature_stats(x), feature_stats(x + 0.5))
    assert shifted == pytest.approx(8 * 0.25, rel=1e-6)  # same covariance: only |dmu|^2 = D c^2
    y = rng.normal(size=(250, 8)) * 2.0 + 1.0
    assert frechet_distance(feature_stats(x), feature_stats(y)) == pytest.approx(
        _direct_frechet(x, y), rel=1e-6
    )


def test_more_features_than_samples_still_gives_a_finite_distance():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(10, 32)), rng.normal(size=(10, 32)) + 1.0
    value = frechet_distance(feature_stats(x), feature_stats(y))
    assert np.isfinite(value) and value > 20  # |dmu|^2 alone is about 32


def test_feature_stats_need_two_rows():
    with pytest.raises(ValueError, match="N >= 2"):
        feature_stats(np.ones((1, 4)))
