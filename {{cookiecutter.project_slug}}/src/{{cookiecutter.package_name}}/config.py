"""Typed view of params.yaml: unknown keys and bad values fail fast with the key's name.

The sections the stages share with the gitops-ml library (problem_type, data, evaluate,
mlflow) and the ones only the library reads (tune, monitor, promote, deploy) are defined and
validated by `gitops_ml.params`; this module adds this project's own: featurize and train.
Add a section here when a stage of yours needs new settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from gitops_ml.params import (
    PARAMS_FILE,
    DataParams,
    LibraryParams,
    ParamsError,
    ProblemType,
    ReadParams,
    Strict,
    read_yaml,
    validate,
)
from pydantic import ConfigDict, Field, model_validator

__all__ = ["DataParams", "ParamsError", "ProblemType", "ReadParams", "Params", "load_params"]

ModelName = Literal["logistic_regression", "ridge", "random_forest", "gradient_boosting"]
MODELS_BY_PROBLEM: dict[str, set[str]] = {
    "classification": {"logistic_regression", "random_forest", "gradient_boosting"},
    "regression": {"ridge", "random_forest", "gradient_boosting"},
}


class FeaturizeParams(Strict):
    numeric_impute: Literal["mean", "median", "most_frequent"] = "median"
    categorical_impute: Literal["most_frequent", "constant"] = "most_frequent"
    scale_numeric: bool = True
    max_categories: int | None = Field(default=20, ge=2)


class LogisticRegressionParams(Strict):
    C: float = Field(default=1.0, gt=0)
    max_iter: int = Field(default=1000, ge=1)


class RidgeParams(Strict):
    alpha: float = Field(default=1.0, ge=0)


class RandomForestParams(Strict):
    n_estimators: int = Field(default=200, ge=1)
    max_depth: int | None = Field(default=None, ge=1)
    min_samples_leaf: int = Field(default=1, ge=1)


class GradientBoostingParams(Strict):
    learning_rate: float = Field(default=0.1, gt=0)
    max_iter: int = Field(default=200, ge=1)
    max_depth: int | None = Field(default=None, ge=1)


class TrainParams(Strict):
    model: ModelName
    seed: int
    logistic_regression: LogisticRegressionParams = LogisticRegressionParams()
    ridge: RidgeParams = RidgeParams()
    random_forest: RandomForestParams = RandomForestParams()
    gradient_boosting: GradientBoostingParams = GradientBoostingParams()

    def hyperparameters(self) -> dict[str, Any]:
        """The hyperparameters of the selected model family."""
        return getattr(self, self.model).model_dump()


class Params(LibraryParams):
    """The whole params.yaml: the library's sections plus this project's (no other keys)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    featurize: FeaturizeParams = FeaturizeParams()
    train: TrainParams

    @model_validator(mode="after")
    def _model_fits_problem(self) -> Params:
        allowed = MODELS_BY_PROBLEM[self.problem_type]
        if self.train.model not in allowed:
            raise ValueError(
                f"train.model {self.train.model!r} does not fit problem_type "
                f"{self.problem_type!r}; choose one of {sorted(allowed)}"
            )
        return self


def parse_params(raw: Any, source: str = str(PARAMS_FILE)) -> Params:
    """Validate already-loaded YAML data; the error names every offending key."""
    return validate(Params, raw, source)


def load_params(path: Path = PARAMS_FILE) -> Params:
    """Read and validate params.yaml."""
    return parse_params(read_yaml(path), str(path))
