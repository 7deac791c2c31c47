"""The promotion gate and the alias moves (gitops_ml.promote)."""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import UndefinedMetricWarning

from gitops_ml.errors import PipelineError
from gitops_ml.gate import Comparison, decide, paired_bootstrap, scarce_classes
from gitops_ml.metrics import scorer
from gitops_ml.params import LibraryParams, PromoteParams, parse_params
from gitops_ml.promote import model_card, promote
from gitops_ml.registry import CHAMPION, PREVIOUS, move_champion, restore
from gitops_ml.schema import Column, Schema, Target
from gitops_ml.tracking import public_uri


def gate(**overrides) -> PromoteParams:
    values = {"metric": "roc_auc", "floor": 0.75, "resamples": 200, "seed": 1, **overrides}
    return PromoteParams(**values)


def comparison(difference: float, low: float, high: float) -> Comparison:
    return Comparison(0.9, 0.9 - difference, difference, low, high, 200, 200)


class Registry:
    """An in-memory stand-in for MlflowClient's alias calls, with fault injection."""

    def __init__(self, aliases: dict[str, str], fail_on: str | None = None) -> None:
        self.aliases = dict(aliases)
        self.fail_on = fail_on
        self.versions = {"1", "2", "3"}

    def get_registered_model(self, name: str) -> SimpleNamespace:
        return SimpleNamespace(aliases=dict(self.aliases))

    def get_model_version(self, name: str, version: str) -> SimpleNamespace:
        if version not in self.versions:
            raise PipelineError(f"version {version} does not exist")
        return SimpleNamespace(version=version)

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        if alias == self.fail_on:
            raise ConnectionError("registry went away")
        self.aliases[alias] = version


def test_first_model_is_promoted_when_it_reaches_the_floor():
    decision = decide(gate(), 0.8, None)
    assert decision.promoted
    assert "first model" in decision.reason


def test_first_model_below_the_floor_is_not_promoted():
    decision = decide(gate(), 0.7, None)
    assert not decision.promoted
    assert "does not reach the floor 0.75" in decision.reason


def test_floor_follows_the_metric_direction():
    rmse = gate(metric="rmse", floor=50.0)
    assert decide(rmse, 45.0, None).promoted
    assert not decide(rmse, 55.0, None).promoted


def test_candidate_is_promoted_only_when_the_interval_lies_above_the_minimum():
    assert decide(gate(), 0.95, comparison(0.05, 0.01, 0.09)).promoted
    refused = decide(gate(), 0.95, comparison(0.02, -0.01, 0.05))
    assert not refused.promoted
    assert "CI [-0.0100, +0.0500]" in refused.reason
    assert "champion unchanged" in refused.reason


def test_negative_minimum_is_a_non_inferiority_margin():
    assert decide(gate(min_improvement=-0.02), 0.95, comparison(0.0, -0.01, 0.01)).promoted
    assert not decide(gate(min_improvement=-0.02), 0.95, comparison(-0.02, -0.04, 0.0)).promoted


def test_bootstrap_of_identical_models_is_exactly_zero():
    actual = np.array([0, 1] * 20)
    predicted = np.array([0, 1, 1, 0] * 10)
    result = paired_bootstrap(
        actual,
        predicted,
        predicted,
        scorer("accuracy"),
        higher_is_better=True,
        resamples=200,
        confidence=0.95,
        seed=0,
    )
    assert (result.difference, result.low, result.high) == (0.0, 0.0, 0.0)


def test_bootstrap_sign_makes_lower_error_an_improvement_and_is_reproducible():
    rng = np.random.default_rng(0)
    actual = rng.normal(size=200)
    good, bad = actual + rng.normal(scale=0.1, size=200), actual + rng.normal(size=200)

    def compare() -> Comparison:
        return paired_bootstrap(
            actual,
            good,
            bad,
            scorer("rmse"),
            higher_is_better=False,
            resamples=300,
            confidence=0.95,
            seed=7,
        )

    first = compare()
    assert first.candidate < first.champion
    assert first.difference > 0 and first.low > 0
    assert compare() == first


def test_scorer_roc_auc_uses_the_positive_class_scores():
    actual = np.array([0, 0, 1, 1])
    scores = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.2, 0.8]])
    assert scorer("roc_auc", [0, 1])(actual, scores) == 1.0


def test_promotion_keeps_the_old_champion_as_previous():
    registry = Registry({CHAMPION: "1"})
    move_champion(registry, "m", "2", expected="1")
    assert registry.aliases == {CHAMPION: "2", PREVIOUS: "1"}


def test_registry_failure_leaves_champion_untouched():
    registry = Registry({CHAMPION: "1"}, fail_on=CHAMPION)
    with pytest.raises(ConnectionError):
        move_champion(registry, "m", "2", expected="1")
    assert registry.aliases[CHAMPION] == "1"


def test_concurrent_promotion_aborts_without_moving_anything():
    registry = Registry({CHAMPION: "3"})
    with pytest.raises(PipelineError, match="concurrent promotion"):
        move_champion(registry, "m", "2", expected="1")
    assert registry.aliases == {CHAMPION: "3"}


def test_restore_moves_champion_back_to_the_previous_champion():
    registry = Registry({CHAMPION: "2", PREVIOUS: "1"})
    assert restore(registry, "m") == ("2", "1")
    assert registry.aliases == {CHAMPION: "1", PREVIOUS: "2"}


def test_restore_without_a_previous_champion_says_what_to_do():
    with pytest.raises(PipelineError, match="pass a version explicitly"):
        restore(Registry({CHAMPION: "1"}), "m")


def test_tracking_uri_credentials_never_reach_reports():
    assert public_uri("https://user:token@mlflow.example.com/") == "https://mlflow.example.com/"
    assert public_uri("sqlite:///mlflow.db") == "sqlite:///mlflow.db"


# --- evidence: a rare class (cases bug-04 and bug-12) ------------------------------------------


def no_metric_warnings() -> None:
    """Inside warnings.catch_warnings(): a metric warning fails the test."""
    warnings.simplefilter("error", UndefinedMetricWarning)
    warnings.simplefilter("error", RuntimeWarning)


def one_positive(rows: int = 48) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels with a single positive row and two models' class scores for them."""
    rng = np.random.default_rng(3)
    actual = np.zeros(rows, dtype=int)
    actual[5] = 1
    candidate = np.clip(0.2 + 0.6 * actual + rng.normal(0, 0.2, rows), 0.01, 0.99)
    champion = np.clip(0.3 + 0.3 * actual + rng.normal(0, 0.25, rows), 0.01, 0.99)
    as_scores = lambda p: np.column_stack([1 - p, p])  # noqa: E731
    return actual, as_scores(candidate), as_scores(champion)


def test_bootstrap_with_one_positive_row_gives_a_finite_interval():
    # Given a test split whose only positive row a plain resample misses a third of the time
    actual, candidate, champion = one_positive()
    with warnings.catch_warnings():
        no_metric_warnings()  # no UndefinedMetricWarning spam either
        # When the paired bootstrap resamples within each class
        result = paired_bootstrap(
            actual,
            candidate,
            champion,
            scorer("roc_auc", [0, 1], 1),
            higher_is_better=True,
            resamples=300,
            confidence=0.95,
            seed=0,
            stratify=True,
        )
    # Then every resample keeps the positive row, is scored, and the interval is a number
    assert (result.scored, result.requested) == (300, 300)
    assert np.isfinite([result.low, result.high]).all()
    assert result.low <= result.difference <= result.high
    json.dumps(asdict(result), allow_nan=False)


def test_bootstrap_keeps_a_rare_class_of_a_multiclass_target_in_every_resample():
    # Given three classes, one of them with a single test row (roc_auc: one-vs-rest macro)
    rng = np.random.default_rng(5)
    actual = np.array(["a"] * 30 + ["b"] * 20 + ["c"])
    scores = rng.dirichlet([1, 1, 1], size=len(actual))
    better = 0.5 * scores + 0.5 * (actual[:, None] == np.array(["a", "b", "c"]))
    with warnings.catch_warnings():
        no_metric_warnings()
        result = paired_bootstrap(
            actual,
            better,
            scores,
            scorer("roc_auc", ["a", "b", "c"]),
            higher_is_better=True,
            resamples=200,
            confidence=0.95,
            seed=0,
            stratify=True,
        )
    assert (result.scored, result.requested) == (200, 200)
    assert np.isfinite([result.low, result.high]).all()


def test_bootstrap_skips_and_counts_resamples_where_the_metric_is_undefined():
    # Given the same rows resampled without strata: resamples missing the positive row
    # have no roc_auc (NaN, whether or not scikit-learn warns or raises)
    actual, candidate, champion = one_positive()
    result = paired_bootstrap(
        actual,
        candidate,
        champion,
        scorer("roc_auc", [0, 1], 1),
        higher_is_better=True,
        resamples=300,
        confidence=0.95,
        seed=0,
    )
    # Then they are left out of the interval and counted: (1 - 1/48)^48, about a third
    assert 150 <= result.scored < 250
    assert result.requested == 300
    assert np.isfinite([result.low, result.high]).all()


def test_bootstrap_refuses_when_too_few_resamples_can_be_scored():
    actual = np.array([0] * 40 + [1])
    undefined_mostly = iter([0.8, 0.7] + [float("nan")] * 10_000)
    with pytest.raises(PipelineError, match=r"only 0 of 200 .* too small for this metric"):
        paired_bootstrap(
            actual,
            actual,
            actual,
            lambda y, out: next(undefined_mostly),
            higher_is_better=True,
            resamples=200,
            confidence=0.95,
            seed=0,
        )


def test_scarce_classes_names_each_class_below_the_minimum():
    actual = np.array(["a"] * 20 + ["b"] * 3 + ["c"])
    assert scarce_classes(actual, ["a", "b", "c"], 5, "f1") == (
        "the test split holds 3 rows of class 'b', 1 row of class 'c' "
        "(< evaluate.min_class_rows 5): too few examples to judge f1; add data or lower the "
        "setting"
    )
    assert scarce_classes(actual, ["a", "b", "c"], 1, "f1") is None
    assert "0 rows of class 'd'" in scarce_classes(actual, ["a", "d"], 1, "f1")


class InMemoryRegistry(Registry):
    """Registry plus the version calls promote() makes."""

    def __init__(self, aliases: dict[str, str], sources: list[str]) -> None:
        super().__init__(aliases)
        self.sources = list(sources)  # version N is sources[N - 1]
        self.tags: dict[str, dict[str, str]] = {}

    def search_model_versions(self, query: str) -> list[SimpleNamespace]:
        return [SimpleNamespace(version=str(i + 1), source=s) for i, s in enumerate(self.sources)]

    def create_model_version(self, name: str, source: str, run_id: str) -> SimpleNamespace:
        self.sources.append(source)
        return SimpleNamespace(version=str(len(self.sources)))

    def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        self.tags.setdefault(version, {})[key] = value


class ScoreModel:
    """A classifier whose positive-class score is column `x` plus `shift`."""

    classes_ = np.array([0, 1])

    def __init__(self, shift: float) -> None:
        self.shift = shift

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        p = np.clip(features["x"].to_numpy() + self.shift, 0.01, 0.99)
        return np.column_stack([1 - p, p])

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(features)[:, 1] > 0.5).astype(int)


def classification_params(min_class_rows: int = 5) -> LibraryParams:
    return parse_params(
        {
            "problem_type": "classification",
            "data": {"source": "demo", "target": "target", "test_size": 0.2, "seed": 0},
            "train": {"model": "logistic_regression", "seed": 0},
            "evaluate": {"primary_metric": "roc_auc", "min_class_rows": min_class_rows},
            "mlflow": {"experiment": "e", "registered_model": "m"},
            "promote": {"metric": "roc_auc", "floor": 0.75, "resamples": 200, "seed": 1},
        }
    )


def promote_on_one_positive(
    registry: InMemoryRegistry, models: dict[str, Any], min_class_rows: int = 5
) -> tuple[Any, dict[str, float]]:
    """promote() on 48 test rows holding one positive, as in case bug-04."""
    actual, candidate, _ = one_positive()
    test = pd.DataFrame({"x": candidate[:, 1] - 0.1, "target": actual})
    schema = Schema(
        {"x": Column("numeric", "numbers")}, Target("target", "int64", [0, 1], positive_label=1)
    )
    return promote(
        classification_params(min_class_rows),
        {"model_uri": "runs:/candidate/model", "run_id": "candidate"},
        test,
        schema=schema,
        client=registry,
        load=lambda name, version: models[version],
    )


REFUSED = (
    "the test split holds 1 row of class 1 (< evaluate.min_class_rows 5): too few examples "
    "to judge roc_auc; add data or lower the setting"
)


def test_first_model_is_not_promoted_on_a_single_positive_test_row():
    # Given an empty registry and a test split holding one positive row (bug-04)
    registry = InMemoryRegistry({}, [])
    # When the first model goes through the gate (its roc_auc clears the 0.75 floor)
    record, metrics = promote_on_one_positive(registry, {"1": ScoreModel(0.1)})
    # Then it is refused, with the reason and the evidence in the record and the card
    assert record.candidate_metric > 0.75
    assert (record.decision, record.reason) == ("not promoted", REFUSED)
    assert registry.aliases == {}
    assert record.test_rows_per_class == {"0": 47, "1": 1}
    assert registry.tags["1"]["promotion.reason"] == REFUSED
    card = model_card(record, metrics)
    assert "**Decision: not promoted.** the test split holds 1 row of class 1" in card
    assert "48 held-out test rows (47 of class 0, 1 of class 1; evaluate.min_class_rows 5)" in card
    json.dumps(asdict(record), allow_nan=False)


def test_min_class_rows_veto_keeps_the_champion_where_it_was():
    registry = InMemoryRegistry({CHAMPION: "1", PREVIOUS: "0"}, ["runs:/champion/model"])
    models = {"1": ScoreModel(-0.2), "2": ScoreModel(0.1)}
    record, _ = promote_on_one_positive(registry, models)
    assert record.decision == "not promoted"
    assert record.reason == f"{REFUSED}; '{CHAMPION}' stays version 1"
    assert registry.aliases == {CHAMPION: "1", PREVIOUS: "0"}
    assert record.interval is None


def test_lowered_min_class_rows_compares_on_a_finite_stratified_interval():
    # Given the setting lowered to 1 and a champion (bug-12: the interval was [nan, nan])
    registry = InMemoryRegistry({CHAMPION: "1"}, ["runs:/champion/model"])
    models = {"1": ScoreModel(-0.2), "2": ScoreModel(0.1)}
    with warnings.catch_warnings():
        no_metric_warnings()
        record, metrics = promote_on_one_positive(registry, models, min_class_rows=1)
    # Then the decision rests on a finite interval from every requested resample
    assert np.isfinite(record.interval).all()
    assert (record.resamples_scored, record.resamples_requested) == (200, 200)
    assert "200 of 200 resamples scored, stratified by class" in model_card(record, metrics)
    json.dumps(asdict(record), allow_nan=False)
