"""The parts of a project's params.yaml the library reads, validated by name.

A generated project's ``params.yaml`` holds two kinds of sections:

* **shared** ones, read by the project's stages and by the library: ``problem_type``,
  ``data``, ``evaluate`` and ``mlflow``;
* **library-owned** ones, read only by ``gitops-ml`` commands: ``tune``, ``monitor``,
  ``promote`` and ``deploy``.

Both are defined here. Unknown keys inside them fail with the key's name. Top-level sections
the library does not know (``featurize``, ``train``...) belong to the project: its own
``config.py`` extends :class:`LibraryParams` and rejects unknown top-level keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import UserError
from .metrics import METRICS, names

PARAMS_FILE = Path("params.yaml")

ProblemType = Literal["classification", "regression"]
HIGHER_IS_BETTER = {name: metric.greater_is_better for name, metric in METRICS.items()}
METRICS_BY_PROBLEM = {kind: set(names(kind)) for kind in ("classification", "regression")}
ColumnTypeName = Literal["numeric", "boolean", "categorical", "datetime", "identifier", "ignore"]
LIBRARY_SECTIONS = frozenset({"tune", "monitor", "promote", "deploy"})
SHARED_SECTIONS = frozenset({"problem_type", "data", "evaluate", "mlflow", "feature_store"})


class ParamsError(UserError, ValueError):
    """params.yaml is missing, unreadable or does not match the expected settings."""


class Strict(BaseModel):
    """A params.yaml section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ReadParams(Strict):
    """How the raw CSV is read; null: sniffed from the file's first lines."""

    sep: str | None = Field(default=None, min_length=1, max_length=1)
    decimal: Literal[".", ","] | None = None


class DataParams(Strict):
    """Where the data comes from, what to predict and how columns are typed."""

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


class EvaluateParams(Strict):
    """The metric a model is judged on, and when a test set is too small to judge."""

    primary_metric: str
    # Fewer test rows than this in any class: evaluate warns and promotion refuses, since
    # precision, recall, f1 and roc_auc would rest on too few examples.
    min_class_rows: int = Field(default=5, ge=1)

    @property
    def higher_is_better(self) -> bool:
        """Whether a larger primary metric is better (from the metric table)."""
        return HIGHER_IS_BETTER[self.primary_metric]


class MlflowParams(Strict):
    """The experiment runs are logged to and the registered model promotion moves."""

    experiment: str = Field(min_length=1)
    registered_model: str = Field(min_length=1)


class FeatureStoreParams(Strict):
    """``feature_store``: the Feast feature repository the training set and serving read.

    ``entity_keys`` are the entity's join keys and ``event_timestamp`` the column saying when
    each row's feature values (and its label) became known; neither is a model feature.
    ``service`` names the feature service the model is trained on and served with (null: the
    registered model's name).
    """

    repo: str = Field(default="feature_repo", min_length=1)
    entity_keys: list[str] = Field(min_length=1)
    event_timestamp: str = Field(min_length=1)
    service: str | None = None

    @model_validator(mode="after")
    def _distinct_columns(self) -> FeatureStoreParams:
        names = [*self.entity_keys, self.event_timestamp]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(
                f"feature_store names {', '.join(map(repr, repeated))} more than once: the entity "
                "keys and the event timestamp must be different columns"
            )
        return self


class TuneParams(Strict):
    """``gitops-ml tune``: the grid of ``train.*`` values run as DVC experiments."""

    grid: dict[str, list[Any]] = Field(default_factory=dict)


class MonitorParams(Strict):
    """Scheduled monitoring (``gitops-ml monitor``); params.yaml comments explain each one."""

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
    # The monitoring history (gitops_ml.dashboard): an Evidently workspace directory each
    # check adds one run to; None or "": no history. workspace_runs: the runs kept.
    workspace: str | None = "monitoring/workspace"
    workspace_runs: int = Field(default=90, ge=1)


class PromoteParams(Strict):
    """The gate between a trained challenger and the registry's ``champion`` alias.

    ``extra_checks``: user functions ``"module:function"`` run after the gate; each receives
    the :class:`gitops_ml.promote.CheckContext` and may veto by returning a reason (see
    ``gitops_ml.checks``).
    """

    metric: str
    min_improvement: float = 0.0
    floor: float | None = None
    confidence: float = Field(default=0.95, gt=0, lt=1)
    resamples: int = Field(default=1000, ge=100)
    seed: int = 0
    extra_checks: list[str] = Field(default_factory=list)

    @property
    def higher_is_better(self) -> bool:
        """Whether a larger gate metric is better (from the metric table)."""
        return HIGHER_IS_BETTER[self.metric]


class DeployParams(Strict):
    """Canary rollout (``gitops-ml deploy``, ``gitops-ml kserve deploy``) and its checks."""

    canary_steps: list[int] = Field(default_factory=lambda: [10, 50, 100], min_length=1)
    requests_per_step: int = Field(default=40, ge=5)
    max_error_rate: float = Field(default=0.0, ge=0, le=1)
    max_p95_latency_ms: float = Field(default=1000.0, gt=0)
    probe_rows: int = Field(default=50, ge=1)
    min_agreement: float = Field(default=0.9, ge=0, le=1)
    agreement_tolerance: float = Field(default=0.1, ge=0)
    # Folder of the prediction log the servers append to; None or "": no log.
    prediction_log: str | None = "logs/predictions"
    # User canary checks "module:function", run at every step after the built-in ones.
    extra_checks: list[str] = Field(default_factory=list)
    # KServe deployment mode (`gitops-ml kserve`): "detect" reads the InferenceService's, else
    # the cluster's default (inferenceservice-config); a mismatch with the cluster refuses.
    kserve_mode: Literal["detect", "serverless", "standard"] = "detect"

    @model_validator(mode="after")
    def _steps(self) -> DeployParams:
        steps = self.canary_steps
        if any(not 0 < step <= 100 for step in steps) or steps != sorted(set(steps)):
            raise ValueError("deploy.canary_steps must increase strictly within 1..100")
        if steps[-1] != 100:
            raise ValueError("deploy.canary_steps must end at 100")
        return self


class LibraryParams(Strict):
    """The sections the library reads; other top-level sections are the project's."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    problem_type: ProblemType
    data: DataParams
    evaluate: EvaluateParams
    mlflow: MlflowParams
    tune: TuneParams = TuneParams()
    monitor: MonitorParams = MonitorParams()
    promote: PromoteParams | None = None
    deploy: DeployParams = DeployParams()
    feature_store: FeatureStoreParams | None = None

    @model_validator(mode="after")
    def _metrics_fit_problem(self) -> LibraryParams:
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
        if self.feature_store is not None:
            used = {*self.feature_store.entity_keys, self.feature_store.event_timestamp}
            if self.data.target in used:
                raise ValueError(
                    f"feature_store uses the target column {self.data.target!r} as an entity key "
                    "or event timestamp; name other columns"
                )
        return self

    @property
    def feature_service(self) -> str | None:
        """The feature service's name (None without a feature store)."""
        if self.feature_store is None:
            return None
        return self.feature_store.service or self.mlflow.registered_model


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"unknown key '{key}'"
    if error["type"] == "missing":
        return f"missing key '{key}'"
    if not key:
        return str(error["msg"]).removeprefix("Value error, ")
    return f"'{key}': {error['msg']}"


def validate(model: type[BaseModel], raw: Any, source: str) -> Any:
    """``model.model_validate(raw)`` with one error line naming every offending key.

    Raises:
        ParamsError: ``raw`` is not a mapping or does not match ``model``.
    """
    if not isinstance(raw, dict):
        raise ParamsError(f"{source}: expected a mapping of settings, got {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(_describe(error) for error in exc.errors())
        raise ParamsError(f"{source}: {problems}") from None


def read_yaml(path: Path = PARAMS_FILE) -> Any:
    """The parsed YAML of ``path``.

    Raises:
        ParamsError: the file is missing or is not valid YAML.
    """
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except FileNotFoundError:
        raise ParamsError(f"{path} not found: run commands from the project root") from None
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path} is not valid YAML: {exc}") from None


def parse_params(raw: Any, source: str = str(PARAMS_FILE)) -> LibraryParams:
    """Validate already-loaded YAML data; the error names every offending key.

    Raises:
        ParamsError: a shared or library-owned section is missing or invalid.
    """
    return validate(LibraryParams, raw, source)


def load_params(path: Path = PARAMS_FILE) -> LibraryParams:
    """Read and validate the library's view of ``params.yaml``.

    Raises:
        ParamsError: see :func:`read_yaml` and :func:`parse_params`.
    """
    return parse_params(read_yaml(path), str(path))
