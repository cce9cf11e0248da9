"""Evaluation metrics in numpy: confusion matrix, pixel accuracy, mIoU, Fréchet distance.

No torch here: the numbers can be checked against hand-made inputs and a direct computation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

IGNORE = 0  # Landscape value 0 = unlabeled: never counted as a target pixel


def confusion(truth: np.ndarray, pred: np.ndarray, classes: int) -> np.ndarray:
    """[classes, classes] int64 counts, rows = truth, cols = prediction; truth 0 ignored."""
    truth = np.asarray(truth).astype(np.int64).ravel()
    pred = np.asarray(pred).astype(np.int64).ravel()
    if truth.shape != pred.shape:
        raise ValueError(f"truth and prediction differ in size: {truth.size} vs {pred.size}")
    keep = (truth != IGNORE) & (truth < classes)
    pred = np.clip(pred[keep], 0, classes - 1)
    flat = truth[keep] * classes + pred
    return np.bincount(flat, minlength=classes * classes).reshape(classes, classes)


@dataclass(frozen=True)
class SegmentationScore:
    """Pixel accuracy and mIoU over the classes present in the truth (IoU per class too)."""

    pixel_accuracy: float
    miou: float
    iou: dict[int, float]  # class value -> IoU, classes with truth pixels only
    pixels: int


def score(matrix: np.ndarray) -> SegmentationScore:
    """Scores from an accumulated confusion matrix (dataset-level, not a mean of images)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    total = matrix.sum()
    if total == 0:
        raise ValueError("No labelled pixels to score (every truth pixel is 0 = unlabeled).")
    tp = np.diag(matrix)
    truth = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    present = [c for c in range(matrix.shape[0]) if truth[c] > 0]
    iou = {c: float(tp[c] / (truth[c] + predicted[c] - tp[c])) for c in present}
    return SegmentationScore(
        float(tp.sum() / total), float(np.mean(list(iou.values()))), iou, int(total)
    )


@dataclass(frozen=True)
class FeatureStats:
    """Mean [D] and covariance [D, D] of a set of feature vectors."""

    mean: np.ndarray
    cov: np.ndarray
    count: int


def feature_stats(features: np.ndarray) -> FeatureStats:
    """Stats of an [N, D] array (N >= 2), in float64."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"Need an [N, D] feature array with N >= 2, got shape {x.shape}.")
    return FeatureStats(x.mean(axis=0), np.cov(x, rowvar=False), x.shape[0])


def frechet_distance(a: FeatureStats, b: FeatureStats) -> float:
    """|mu_a - mu_b|^2 + Tr(C_a + C_b - 2 (C_a C_b)^(1/2)), as FID does on its features.

    Tr (C_a C_b)^(1/2) = sum of sqrt(eigenvalues of C_a^(1/2) C_b C_a^(1/2)): symmetric PSD
    eigendecompositions only, so rank-deficient covariances (N < D) stay finite.
    """
    w, v = np.linalg.eigh(a.cov)
    root_a = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    inner = np.linalg.eigvalsh(root_a @ b.cov @ root_a)
    diff = a.mean - b.mean
    trace_root = np.sqrt(np.clip(inner, 0.0, None)).sum()
    value = diff @ diff + np.trace(a.cov) + np.trace(b.cov) - 2.0 * trace_root
    return float(max(value, 0.0))
