"""The promotion gate and the alias moves (src/{{ cookiecutter.package_name }}/promote.py)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from {{ cookiecutter.package_name }}.cli import PipelineError
from {{ cookiecutter.package_name }}.config import PromoteParams
from {{ cookiecutter.package_name }}.promote import (
    CHAMPION,
    PREVIOUS,
    Comparison,
    decide,
    move_champion,
    paired_bootstrap,
    public_uri,
    restore,
    scorer,
)


def gate(**overrides) -> PromoteParams:
    values = {"metric": "roc_auc", "floor": 0.75, "resamples": 200, "seed": 1, **overrides}
    return PromoteParams(**values)


def comparison(difference: float, low: float, high: float) -> Comparison:
    return Comparison(0.9, 0.9 - difference, difference, low, high, 200)


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
