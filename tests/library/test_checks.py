"""User-supplied checks: promote.extra_checks can veto a promotion, deploy.extra_checks a
canary step; a veto leaves `champion` (or the stable model) where it was."""

from __future__ import annotations

import json
import textwrap
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from gitops_ml import canary
from gitops_ml.canary import Answer, CanaryFailed, Measurement
from gitops_ml.errors import PipelineError
from gitops_ml.params import DeployParams, parse_params
from gitops_ml.promote import promote
from gitops_ml.registry import CHAMPION, PREVIOUS
from gitops_ml.schema import Column, Schema, Target

CHECKS = """
def fairness(context):
    # Veto when the candidate's accuracy differs by more than 5 points between the groups.
    rows = context.features.assign(correct=context.candidate_predictions == context.labels)
    by_group = rows.groupby("group")["correct"].mean()
    gap = by_group.max() - by_group.min()
    if gap > 0.05:
        return f"accuracy differs by {gap:.0%} between groups"
    return None

def always_pass(context):
    return None

def broken(context):
    raise KeyError("group")

def slow_candidate(step):
    served = [a for a in step.answers if a.variant == "candidate"]
    if step.weight >= 50 and served:
        return f"step {step.weight}%: {len(served)} candidate answers, budget exceeded"
    return None
"""


@pytest.fixture
def checks_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A project module `team_checks` holding the checks above, importable as in a project."""
    (tmp_path / "team_checks.py").write_text(textwrap.dedent(CHECKS), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return "team_checks"


class Registry:
    """The registry calls promote() makes, in memory."""

    def __init__(self, aliases: dict[str, str], sources: list[str]) -> None:
        self.aliases = dict(aliases)
        self.sources = list(sources)
        self.tags: dict[str, dict[str, str]] = {}

    def get_registered_model(self, name: str) -> SimpleNamespace:
        return SimpleNamespace(aliases=dict(self.aliases))

    def get_model_version(self, name: str, version: str) -> SimpleNamespace:
        return SimpleNamespace(version=version)

    def search_model_versions(self, query: str) -> list[SimpleNamespace]:
        return [SimpleNamespace(version=str(i + 1), source=s) for i, s in enumerate(self.sources)]

    def create_model_version(self, name: str, source: str, run_id: str) -> SimpleNamespace:
        self.sources.append(source)
        return SimpleNamespace(version=str(len(self.sources)))

    def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        self.tags.setdefault(version, {})[key] = value

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        self.aliases[alias] = version


class Threshold:
    """A classifier: positive when x > cut (perfect when cut = 0.5 on this data)."""

    classes_ = np.array([0, 1])

    def __init__(self, cut: float) -> None:
        self.cut = cut

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        p = 1 / (1 + np.exp(-(features["x"].to_numpy() - self.cut) * 20))
        return np.column_stack([1 - p, p])

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        return (features["x"].to_numpy() > self.cut).astype(int)


def labelled_rows() -> tuple[pd.DataFrame, Schema]:
    """200 rows; group b's labels disagree with x on 20 rows, so accuracy differs by group."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, 200)
    group = np.array(["a", "b"] * 100)
    target = (x > 0.5).astype(int)
    flip = np.flatnonzero(group == "b")[:20]
    target[flip] = 1 - target[flip]
    schema = Schema(
        {"x": Column("numeric", "numbers"), "group": Column("categorical", "text")},
        Target("target", "int64", [0, 1], positive_label=1),
    )
    return pd.DataFrame({"x": x, "group": group, "target": target}), schema


def run_gate(extra_checks: list[str], registry: Registry, models: dict[str, object]):
    params = parse_params(
        {
            "problem_type": "classification",
            "data": {"source": "demo", "target": "target", "test_size": 0.2, "seed": 0},
            "evaluate": {"primary_metric": "roc_auc"},
            "mlflow": {"experiment": "e", "registered_model": "m"},
            "promote": {"metric": "accuracy", "floor": 0.6, "resamples": 200,
                        "extra_checks": extra_checks},
        }
    )  # fmt: skip
    test, schema = labelled_rows()
    return promote(
        params,
        {"model_uri": "runs:/candidate/model", "run_id": "candidate"},
        test,
        schema=schema,
        client=registry,
        load=lambda name, version: models[version],
    )


def test_a_vetoing_check_keeps_the_champion_where_it_was(checks_module: str):
    # Given a champion (version 1, a poor model) and a clearly better candidate
    registry = Registry({CHAMPION: "1", PREVIOUS: "0"}, ["runs:/champion/model"])
    models = {"1": Threshold(0.8), "2": Threshold(0.5)}
    # When the promotion runs a fairness check the candidate fails
    record, _ = run_gate([f"{checks_module}:fairness"], registry, models)
    # Then the gate's own verdict (promote) is overruled, champion stays, and the audit
    # record says which check vetoed and why
    assert registry.aliases == {CHAMPION: "1", PREVIOUS: "0"}
    assert record.decision == "not promoted"
    assert record.reason.startswith(
        "vetoed by team_checks:fairness: accuracy differs by 20% between groups (accuracy "
        "candidate "
    )
    assert record.reason.endswith(f"; '{CHAMPION}' stays version 1")
    assert record.checks == [
        {
            "check": "team_checks:fairness",
            "passed": False,
            "reason": "accuracy differs by 20% between groups",
        }
    ]
    assert registry.tags["2"]["promotion.decision"] == "not promoted"
    json.dumps(asdict(record), allow_nan=False)


def test_a_passing_check_lets_the_gate_decide(checks_module: str):
    registry = Registry({CHAMPION: "1"}, ["runs:/champion/model"])
    record, _ = run_gate(
        [f"{checks_module}:always_pass"], registry, {"1": Threshold(0.8), "2": Threshold(0.5)}
    )
    assert record.decision == "promoted"
    assert registry.aliases == {CHAMPION: "2", PREVIOUS: "1"}
    assert record.checks == [{"check": "team_checks:always_pass", "passed": True, "reason": ""}]


def test_a_check_that_raises_vetoes_instead_of_promoting(checks_module: str):
    registry = Registry({}, [])
    record, _ = run_gate([f"{checks_module}:broken"], registry, {"1": Threshold(0.5)})
    assert registry.aliases == {}
    assert record.checks[0]["reason"] == "raised KeyError: 'group'"
    assert record.reason.startswith("vetoed by team_checks:broken: raised KeyError: 'group'")


def test_a_check_that_cannot_be_found_is_named(checks_module: str):
    registry = Registry({CHAMPION: "1"}, ["runs:/champion/model"])
    with pytest.raises(PipelineError) as raised:
        run_gate([f"{checks_module}:fairnes"], registry, {"1": Threshold(0.8), "2": Threshold(0.5)})
    assert str(raised.value) == (
        "check 'team_checks:fairnes': 'team_checks' has no function 'fairnes'"
    )
    assert registry.aliases == {CHAMPION: "1"}
    with pytest.raises(PipelineError, match="must be written 'module:function'"):
        run_gate(["fairness"], Registry({}, []), {"1": Threshold(0.5)})


def answers(count: int) -> list[Answer]:
    return [Answer(200, 0.01, "candidate" if i % 2 else "stable") for i in range(count)]


def test_a_canary_check_fails_the_step_and_stops_the_rollout(
    checks_module: str, capsys: pytest.CaptureFixture[str]
):
    # Given deploy.extra_checks with a check that vetoes from the 50% step on
    params = DeployParams(extra_checks=[f"{checks_module}:slow_candidate"])
    measured: list[int] = []

    def measure(weight: int) -> Measurement:
        measured.append(weight)
        return Measurement(answers(40), 1.0, f"{weight}% measured")

    # When the rollout runs its steps
    with pytest.raises(CanaryFailed) as failed:
        canary.roll_out(
            params.canary_steps, measure, params, target="local", version="3",
            problem_type="classification",
        )  # fmt: skip
    # Then the built-in checks pass, the user check vetoes at 50%, and 100% is never tried
    assert measured == [10, 50]
    assert [step.passed for step in failed.value.steps] == [True, False]
    assert str(failed.value) == (
        "canary at 50%: team_checks:slow_candidate: step 50%: 20 candidate answers, budget exceeded"
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "canary 10%: 10% measured: ok",
        "canary 50%: 50% measured: FAILED (team_checks:slow_candidate: step 50%: 20 candidate "
        "answers, budget exceeded)",
    ]
