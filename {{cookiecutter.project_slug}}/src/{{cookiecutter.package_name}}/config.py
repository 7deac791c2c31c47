"""Typed view of params.yaml: unknown keys and bad values fail fast with the key's name."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .metrics import METRICS, names

PARAMS_FILE = Path("params.yaml")

ProblemType = Literal["classification", "regression"]
ModelName = Literal["logistic_regression", "ridge", "random_forest", "gradient_boosting"]
MODELS_BY_PROBLEM: dict[str, set[str]] = {
    "classification": {"logistic_regression", "random_forest", "gradient_boosting"},
    "regression": {"ridge", "random_forest", "gradient_boosting"},
}
HIGHER_IS_BETTER = {name: metric.greater_is_better for name, metric in METRICS.items()}
METRICS_BY_PROBLEM = {kind: set(names(kind)) for kind in ("classification", "regression")}


class ParamsError(ValueError):
    """params.yaml is missing, unreadable or does not match the expected settings."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


ColumnTypeName = Literal["numeric", "boolean", "categorical", "datetime", "identifier", "ignore"]


class ReadParams(Strict):
    """How the raw CSV is read; null: sniffed from the file's first lines."""

    sep: str | None = Field(default=None, min_length=1, max_length=1)
    decimal: Literal[".", ","] | None = None


class DataParams(Strict):
    source: str = Field(min_length=1)
    target: str = Field(min_length=1)
    test_size: float = Field(gt=0, lt=1)
    seed: int
    # Binary targets: the class precision, recall, f1 and the curves are about (null: the
    # minority class). Matched as text, so 1 and "1" name the same class.
    positive_label: str | int | bool | None = None
    # Per-column type overrides, decided otherwise at ingest (schema.py).
    column_types: dict[str, ColumnTypeName] = Field(default_factory=dict)
    read: ReadParams = ReadParams()


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


class EvaluateParams(Strict):
    primary_metric: str
    # Fewer test rows than this in any class: evaluate warns and promotion refuses, since
    # precision, recall, f1 and roc_auc would rest on too few examples.
    min_class_rows: int = Field(default=5, ge=1)

    @property
    def higher_is_better(self) -> bool:
        return HIGHER_IS_BETTER[self.primary_metric]


class MlflowParams(Strict):
    experiment: str = Field(min_length=1)
    registered_model: str = Field(min_length=1)


class TuneParams(Strict):
    grid: dict[str, list[Any]] = Field(default_factory=dict)


class MonitorParams(Strict):
    """Scheduled monitoring (monitor.py); params.yaml comments explain each setting."""

    current: str = Field(default="data/monitoring/current.csv", min_length=1)
    method: str | None = "wasserstein"
    threshold: float | None = Field(default=0.1, gt=0)
    cat_method: str | None = "jensenshannon"
    cat_threshold: float | None = Field(default=0.1, gt=0)
    min_drifted_columns: int = Field(default=1, ge=1)
    max_metric_drop: float = Field(default=0.05, ge=0)
    max_unseen_share: float = Field(default=0.05, ge=0, le=1)
    max_rows: int = Field(default=20_000, ge=1_000)
    seed: int = 42


class PromoteParams(Strict):
    """The gate between a trained candidate and the registry's `champion` alias."""

    metric: str
    min_improvement: float = 0.0
    floor: float | None = None
    confidence: float = Field(default=0.95, gt=0, lt=1)
    resamples: int = Field(default=1000, ge=100)
    seed: int = 0

    @property
    def higher_is_better(self) -> bool:
        return HIGHER_IS_BETTER[self.metric]


class DeployParams(Strict):
    """Canary rollout behind nginx (make deploy) and the checks run at each step."""

    canary_steps: list[int] = Field(default_factory=lambda: [10, 50, 100], min_length=1)
    requests_per_step: int = Field(default=40, ge=5)
    max_error_rate: float = Field(default=0.0, ge=0, le=1)
    max_p95_latency_ms: float = Field(default=1000.0, gt=0)
    probe_rows: int = Field(default=50, ge=1)
    min_agreement: float = Field(default=0.9, ge=0, le=1)
    agreement_tolerance: float = Field(default=0.1, ge=0)
    # Folder of the prediction log the servers append to (serving.py); None or "": no log.
    prediction_log: str | None = "logs/predictions"

    @model_validator(mode="after")
    def _steps(self) -> DeployParams:
        steps = self.canary_steps
        if any(not 0 < step <= 100 for step in steps) or steps != sorted(set(steps)):
            raise ValueError("deploy.canary_steps must increase strictly within 1..100")
        if steps[-1] != 100:
            raise ValueError("deploy.canary_steps must end at 100")
        return self


class Params(Strict):
    problem_type: ProblemType
    data: DataParams
    featurize: FeaturizeParams = FeaturizeParams()
    train: TrainParams
    evaluate: EvaluateParams
    mlflow: MlflowParams
    tune: TuneParams = TuneParams()
    monitor: MonitorParams = MonitorParams()
    promote: PromoteParams | None = None
    deploy: DeployParams = DeployParams()

    @model_validator(mode="after")
    def _consistent(self) -> Params:
        allowed = MODELS_BY_PROBLEM[self.problem_type]
        if self.train.model not in allowed:
            raise ValueError(
                f"train.model {self.train.model!r} does not fit problem_type "
                f"{self.problem_type!r}; choose one of {sorted(allowed)}"
            )
        metrics = METRICS_BY_PROBLEM[self.problem_type]
        if self.evaluate.primary_metric not in metrics:
            raise ValueError(
                f"evaluate.primary_metric {self.evaluate.primary_metric!r} is not a "
                f"{self.problem_type} metric; choose one of {sorted(metrics)}"
            )
        if self.promote is not None and self.promote.metric not in metrics:
            raise ValueError(
                f"promote.metric {self.promote.metric!r} is not a "
                f"{self.problem_type} metric; choose one of {sorted(metrics)}"
            )
        return self


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"unknown key '{key}'"
    if error["type"] == "missing":
        return f"missing key '{key}'"
    if not key:
        return str(error["msg"]).removeprefix("Value error, ")
    return f"'{key}': {error['msg']}"


def parse_params(raw: Any, source: str = str(PARAMS_FILE)) -> Params:
    """Validate already-loaded YAML data; the error names every offending key."""
    if not isinstance(raw, dict):
        raise ParamsError(f"{source}: expected a mapping of settings, got {type(raw).__name__}")
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(_describe(error) for error in exc.errors())
        raise ParamsError(f"{source}: {problems}") from None


def load_params(path: Path = PARAMS_FILE) -> Params:
    """Read and validate params.yaml."""
    try:
        with path.open(encoding="utf-8") as handle:
            raw = yaml.safe_load(handle)
    except FileNotFoundError:
        raise ParamsError(f"{path} not found: run commands from the project root") from None
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path} is not valid YAML: {exc}") from None
    return parse_params(raw, str(path))
