"""The promotion gate: is the challenger better than the champion, with what confidence.

Pure functions on arrays, no registry and no I/O. The challenger and the champion are scored
on the same held-out rows; the paired bootstrap resamples those rows (stratified by class for
classification) and gives a percentile interval of the difference of the gate metric
(Efron & Tibshirani, *An Introduction to the Bootstrap*, 1993, ch. 13). :func:`decide` is the
rule: a first model must reach ``promote.floor``; a challenger must have the interval's lower
bound above ``promote.min_improvement``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import metrics
from .errors import PipelineError
from .params import PromoteParams

Scorer = Callable[[np.ndarray, np.ndarray], float]


@dataclass(frozen=True)
class Comparison:
    """Candidate and champion scored on the same rows, with the bootstrap interval.

    ``difference`` (and ``low``/``high``, the interval's bounds) is signed so that a
    positive value always means "the candidate is better" (rmse/mae are flipped); values are
    in the metric's unit, rounded to 6 digits. ``scored`` of the ``requested`` bootstrap
    resamples had a defined metric and make the interval.
    """

    candidate: float
    champion: float
    difference: float
    low: float
    high: float
    scored: int
    requested: int


def rounded(value: float) -> float:
    """6 digits, and no negative zero ("[-0.0000, ...]" reads as a loss)."""
    return round(float(value), 6) + 0.0


def resample(rng: np.random.Generator, groups: Sequence[np.ndarray]) -> np.ndarray:
    """Row indices drawn with replacement within each group, as many as the group holds."""
    return np.concatenate([group[rng.integers(0, len(group), len(group))] for group in groups])


def paired_bootstrap(
    actual: np.ndarray,
    candidate: np.ndarray,
    champion: np.ndarray,
    score: Scorer,
    *,
    higher_is_better: bool,
    resamples: int,
    confidence: float,
    seed: int,
    stratify: bool = False,
) -> Comparison:
    """Percentile interval of the metric difference (candidate - champion) over resamples.

    The resamples are of the test rows: the paired, stratified bootstrap of Efron &
    Tibshirani, An Introduction to the Bootstrap (Chapman & Hall, 1993): percentile
    intervals (ch. 13); data made of several samples, each resampled on its own (ch. 8).

    Paired: each resample takes the same rows for both models, so the noise of the rows
    they share cancels in the difference. Stratified (`stratify`, classification): rows are
    drawn within each class, as many as the class holds, so every resample keeps every class
    in its original numbers and a metric such as roc_auc stays defined even with one row of a
    rare class. A resample whose metric is still undefined (NaN, whatever scikit-learn does
    there) is skipped and counted; when fewer than half of the resamples can be scored the
    test split is too small for this metric and no interval is given.

    Args:
        actual: the n test labels or values.
        candidate: the candidate's output on those rows: n predictions, or n rows x
            classes probabilities for a score metric (``metrics.model_output``).
        champion: the champion's output, same shape.
        score: ``metric(actual, output) -> float`` (``metrics.scorer``), NaN where undefined.
        higher_is_better: the metric's direction; the difference is flipped when False.
        resamples: bootstrap resamples to draw (``promote.resamples``).
        confidence: the interval's coverage, 0..1 (``promote.confidence``, e.g. 0.95 gives
            the 2.5th and 97.5th percentiles, numpy's linear interpolation).
        seed: seeds ``numpy.random.default_rng``, so the interval is reproducible.
        stratify: resample within each class of ``actual`` (classification).

    Returns:
        The :class:`Comparison`: both models' metric on all rows, their signed difference,
        the interval and how many resamples made it.

    Raises:
        PipelineError: the metric is undefined on all rows for either model, or fewer than
            half of the resamples could be scored.
    """
    sign = 1.0 if higher_is_better else -1.0
    cand_value, champ_value = score(actual, candidate), score(actual, champion)
    if not (np.isfinite(cand_value) and np.isfinite(champ_value)):
        raise PipelineError(
            f"the metric is undefined on the test split (candidate {cand_value}, champion "
            f"{champ_value}): the test split is too small for this metric"
        )
    groups = (
        [np.flatnonzero(actual == label) for label in pd.unique(actual)]
        if stratify
        else [np.arange(len(actual))]
    )
    rng = np.random.default_rng(seed)
    differences = []
    for _ in range(resamples):
        rows = resample(rng, groups)
        difference = sign * (
            score(actual[rows], candidate[rows]) - score(actual[rows], champion[rows])
        )
        if np.isfinite(difference):  # undefined on this resample: skipped, and counted
            differences.append(difference)
    if len(differences) < resamples // 2:
        raise PipelineError(
            f"only {len(differences)} of {resamples} bootstrap resamples could be scored: "
            "the test split is too small for this metric"
        )
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(differences, [tail, 100 - tail])
    return Comparison(
        candidate=rounded(cand_value),
        champion=rounded(champ_value),
        difference=rounded(sign * (cand_value - champ_value)),
        low=rounded(low),
        high=rounded(high),
        scored=len(differences),
        requested=resamples,
    )


def scarce_classes(
    actual: np.ndarray, classes: Sequence[Any], min_rows: int, metric: str
) -> str | None:
    """Why the test split cannot judge ``metric``, or None when every class has enough rows.

    A class of ``classes`` with fewer than ``min_rows`` rows in ``actual``
    (evaluate.min_class_rows) makes the sentence, naming each such class and its rows.
    """
    few = metrics.scarce(metrics.rows_per_class(actual, classes), min_rows)
    if not few:
        return None
    held = ", ".join(
        f"{n} row{'' if n == 1 else 's'} of class {label!r}" for label, n in few.items()
    )
    return (
        f"the test split holds {held} (< evaluate.min_class_rows {min_rows}): too few "
        f"examples to judge {metric}; add data or lower the setting"
    )


@dataclass(frozen=True)
class Decision:
    """The gate's verdict: ``promoted`` or not, and the one-sentence ``reason`` recorded."""

    promoted: bool
    reason: str


def meets_floor(value: float, gate: PromoteParams) -> bool:
    """Whether ``value`` reaches ``promote.floor`` in the metric's direction (no floor: True)."""
    if gate.floor is None:
        return True
    return value >= gate.floor if gate.higher_is_better else value <= gate.floor


def decide(gate: PromoteParams, candidate: float, comparison: Comparison | None) -> Decision:
    """The promotion rule, in one place. `comparison` is None when there is no champion."""
    better = "higher" if gate.higher_is_better else "lower"
    if not meets_floor(candidate, gate):
        return Decision(
            False,
            f"{gate.metric} {candidate:.4f} does not reach the floor {gate.floor} "
            f"({better} is better)",
        )
    if comparison is None:
        floor = "no floor set" if gate.floor is None else f"floor {gate.floor}"
        return Decision(True, f"first model: {gate.metric} {candidate:.4f} ({floor})")
    numbers = (
        f"{gate.metric} candidate {comparison.candidate:.4f} vs champion "
        f"{comparison.champion:.4f}, improvement {comparison.difference:+.4f}, "
        f"{gate.confidence:.0%} CI [{comparison.low:+.4f}, {comparison.high:+.4f}]"
    )
    if comparison.low > gate.min_improvement:
        return Decision(True, f"{numbers} lies above {gate.min_improvement:+.4f}")
    return Decision(
        False,
        f"{numbers} does not lie above {gate.min_improvement:+.4f}: no evidence the "
        "candidate is better, champion unchanged",
    )
