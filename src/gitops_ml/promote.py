"""Promote the trained candidate to the registry's `champion` alias only when it is better.

The candidate (models/run.json) is registered as a new model version, then scored with the
current champion on the same held-out rows. The gate (params.yaml `promote:`) is a paired
bootstrap interval on the difference of the chosen metric: the candidate is promoted when the
interval's lower bound lies above `min_improvement`, or, for the first model ever, when it
reaches `floor`. No model is promoted on a test split holding fewer than
`evaluate.min_class_rows` rows of some class: the metric would rest on a handful of examples.
"Not promoted" is a normal outcome (exit 0); an unreachable registry or a concurrent
promotion fails loudly and never leaves `champion` half-moved: the previous champion keeps
the alias `previous-champion`, so rollback is one alias move.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import metrics, tracking
from .errors import PipelineError, run
from .params import LibraryParams, PromoteParams, load_params
from .tables import file_md5, split_target
from .schema import Schema, SchemaError, load_schema, plain, read_frame

CHAMPION = "champion"
PREVIOUS = "previous-champion"
log = logging.getLogger(__name__)

Scorer = Callable[[np.ndarray, np.ndarray], float]


# --- the gate: pure functions --------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """Candidate and champion scored on the same rows; `difference` is signed so that a
    positive value always means "the candidate is better" (rmse/mae are flipped). `scored`
    of the `requested` bootstrap resamples had a defined metric and make the interval."""

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
    """Percentile interval of the metric difference (candidate - champion) over bootstrap
    resamples of the test rows: the paired, stratified bootstrap of Efron & Tibshirani,
    An Introduction to the Bootstrap (Chapman & Hall, 1993): percentile intervals (ch. 13);
    data made of several samples, each resampled on its own (ch. 8).

    Paired: each resample takes the same rows for both models, so the noise of the rows
    they share cancels in the difference. Stratified (`stratify`, classification): rows are
    drawn within each class, as many as the class holds, so every resample keeps every class
    in its original numbers and a metric such as roc_auc stays defined even with one row of a
    rare class. A resample whose metric is still undefined (NaN, whatever scikit-learn does
    there) is skipped and counted; when fewer than half of the resamples can be scored the
    test split is too small for this metric and no interval is given (PipelineError)."""
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
    """Why the test split cannot judge `metric` (a class with fewer than `min_rows` rows:
    evaluate.min_class_rows), or None when every class has enough rows."""
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
    promoted: bool
    reason: str


def meets_floor(value: float, gate: PromoteParams) -> bool:
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


# --- lineage --------------------------------------------------------------------------------


def trigger() -> str:
    """Who or what started this promotion (GitHub Actions context, else the local user)."""
    if os.environ.get("GITHUB_ACTIONS") == "true":
        event = os.environ.get("GITHUB_EVENT_NAME", "?")
        actor = os.environ.get("GITHUB_ACTOR", "?")
        return (
            f"{event} by {actor} (workflow {os.environ.get('GITHUB_WORKFLOW', '?')}, "
            f"run {os.environ.get('GITHUB_RUN_ID', '?')})"
        )
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"local run by {user}"


def public_uri(uri: str) -> str:
    """The tracking URI without credentials, safe for reports and job summaries."""
    return re.sub(r"(?<=://)[^/@]+@", "", uri)


@dataclass
class Record:
    """The audit record of one promotion attempt (reports/promotion/record.json)."""

    decision: str
    reason: str
    registered_model: str
    candidate_version: str
    champion_version: str | None
    metric: str
    candidate_metric: float | None  # None: undefined on the test split
    champion_metric: float | None
    difference: float | None
    interval: list[float] | None
    resamples_requested: int | None  # the paired bootstrap, when there was a comparison
    resamples_scored: int | None  # resamples where the metric was defined (the interval's)
    test_rows: int
    test_rows_per_class: dict[str, int] | None  # classification: what the metrics rest on
    min_class_rows: int | None  # evaluate.min_class_rows, below which no model is promoted
    gate: dict[str, Any]
    trigger: str
    commit: str
    data: dict[str, str]
    run_id: str
    model_source: str
    tracking_uri: str
    time: str = field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds")
    )


def number(value: float | None, spec: str = ".4f") -> str:
    return "n/a" if value is None or not np.isfinite(value) else format(value, spec)


def evidence_line(record: Record) -> str:
    """What the numbers rest on: the test rows (per class for classification)."""
    line = f"Evidence: {record.test_rows} held-out test rows"
    if record.test_rows_per_class is not None:
        per_class = ", ".join(
            f"{n} of class {label}" for label, n in record.test_rows_per_class.items()
        )
        line += f" ({per_class}; evaluate.min_class_rows {record.min_class_rows})"
    return line + "."


def model_card(record: Record, metrics: dict[str, float]) -> str:
    """A Markdown model card with the decision, its evidence and the candidate's lineage."""
    champion = f"version {record.champion_version}" if record.champion_version else "none yet"
    lines = [
        f"# Model card: {record.registered_model} version {record.candidate_version}",
        "",
        f"**Decision: {record.decision}.** {record.reason}.",
        "",
        f"| {record.metric} | candidate (version {record.candidate_version}) | "
        f"champion ({champion}) |",
        "|---|---|---|",
        f"| held-out test split | {number(record.candidate_metric)} | "
        f"{number(record.champion_metric)} |",
        "",
        evidence_line(record),
        "",
    ]
    if record.interval is not None:
        gate = record.gate
        stratified = ", stratified by class" if record.test_rows_per_class is not None else ""
        lines += [
            f"Improvement {record.difference:+.4f}, {gate['confidence']:.0%} paired bootstrap "
            f"interval [{record.interval[0]:+.4f}, {record.interval[1]:+.4f}] "
            f"({record.resamples_scored} of {record.resamples_requested} resamples scored"
            f"{stratified}, seed {gate['seed']}); the gate needs the lower bound above "
            f"{gate['min_improvement']:+.4f}.",
            "",
        ]
    lines += [
        "## Lineage",
        "",
        f"- Trigger: {record.trigger}",
        f"- Commit: `{record.commit}`",
        *(f"- Data `{name}` (DVC md5): `{md5}`" for name, md5 in record.data.items()),
        f"- MLflow run: `{record.run_id}` ({record.tracking_uri})",
        f"- Model source: `{record.model_source}`",
        f"- Time: {record.time}",
        "",
        "## Candidate metrics (held-out test split)",
        "",
        "| metric | value |",
        "|---|---|",
        *(f"| {name} | {number(value)} |" for name, value in metrics.items()),
        "",
    ]
    return "\n".join(lines)


# --- the registry -----------------------------------------------------------------------------


def registry_client() -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking.tracking_uri())


def alias_version(client: Any, name: str, alias: str) -> str | None:
    """The version an alias points at, or None when it is not set."""
    try:
        aliases = client.get_registered_model(name).aliases
    except Exception as exc:
        if "RESOURCE_DOES_NOT_EXIST" in str(getattr(exc, "error_code", "")):
            return None
        raise
    version = aliases.get(alias)
    return None if version is None else str(version)


def ensure_registered(client: Any, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        client.create_registered_model(name)


def register_candidate(client: Any, name: str, run_info: dict[str, Any], params: LibraryParams) -> Any:
    """The model version for the candidate: reused when this model is already registered,
    re-logged from models/model.joblib when its run is not in this store (model restored
    from the DVC run-cache on a fresh CI machine)."""
    from mlflow.exceptions import MlflowException

    source = run_info["model_uri"]
    for version in client.search_model_versions(f"name = '{name}'"):
        if version.source == source:
            return version
    try:
        return client.create_model_version(name, source, run_id=run_info["run_id"])
    except MlflowException as exc:
        log.warning("%s is not in this MLflow store (%s): logging it again", source, exc)
    return None


def relog(
    model: Any, example: pd.DataFrame, params: LibraryParams, data: dict[str, str], schema: Schema
) -> dict:
    """Log `model` to this MLflow store again, its signature from the ingest schema."""
    run_params = {"problem_type": params.problem_type, "relogged": True}
    return tracking.log_model(model, example, params.mlflow.experiment, run_params, data, schema)


def move_champion(client: Any, name: str, version: str, expected: str | None) -> None:
    """Point `champion` at `version`, keeping the old one as `previous-champion`.

    `previous-champion` moves first: if the second call fails, `champion` still names the
    old version (and so does `previous-champion`). A champion changed by someone else since
    the comparison aborts the move."""
    current = alias_version(client, name, CHAMPION)
    if current != expected:
        raise PipelineError(
            f"concurrent promotion: '{CHAMPION}' moved from version {expected} to {current} "
            "during the comparison; nothing changed, run the promotion again"
        )
    if current is not None:
        client.set_registered_model_alias(name, PREVIOUS, current)
    client.set_registered_model_alias(name, CHAMPION, version)
    if alias_version(client, name, CHAMPION) != version:
        raise PipelineError(f"'{CHAMPION}' does not point at version {version} after the move")


def load_version(name: str, version: str) -> Any:
    import mlflow

    mlflow.set_tracking_uri(tracking.tracking_uri())
    return mlflow.sklearn.load_model(f"models:/{name}/{version}")


def promote(
    params: LibraryParams,
    run_info: dict[str, Any],
    test: pd.DataFrame,
    *,
    schema: Schema,
    client: Any,
    load: Callable[[str, str], Any] = load_version,
    candidate_model: Callable[[], Any] | None = None,
    data: dict[str, str] | None = None,
) -> tuple[Record, dict[str, float]]:
    """Register, compare, and move the alias when the gate says so. `test`: the held-out
    rows read with the ingest `schema` (schema.read_frame), whose positive label the binary
    metrics use. Returns the audit record and the candidate's metrics."""
    from mlflow.exceptions import MlflowException

    gate = params.promote
    if gate is None:
        raise PipelineError("params.yaml has no 'promote:' section: add one to set the gate")
    name = params.mlflow.registered_model
    where = public_uri(tracking.tracking_uri())
    data = dict(data or {})
    classification = params.problem_type == "classification"
    try:
        ensure_registered(client, name)
        champion_version = alias_version(client, name, CHAMPION)
        version = register_candidate(client, name, run_info, params)
        if version is None:
            if candidate_model is None:
                raise PipelineError(f"model {run_info['model_uri']} is not in {where}")
            example = split_target(test.head(5), params.data.target)[0]
            run_info = relog(candidate_model(), example, params, data, schema)
            version = client.create_model_version(
                name, run_info["model_uri"], run_id=run_info["run_id"]
            )
        candidate_version = str(version.version)
        features, labels = split_target(test, params.data.target)
        actual = labels.to_numpy()
        candidate = load(name, candidate_version)
        classes = [plain(label) for label in getattr(candidate, "classes_", [])]
        positive = schema.target.positive_label if len(classes) == 2 else None
        score = metrics.scorer(gate.metric, classes, positive)
        cand_out = metrics.model_output(candidate, features, gate.metric)
        cand_value = score(actual, cand_out)
        values = candidate_metrics(params, candidate, features, actual, classes, positive)
        known = [plain(c) for c in schema.target.classes] or classes
        scarce = (
            scarce_classes(actual, known, params.evaluate.min_class_rows, gate.metric)
            if classification
            else None
        )
        unchanged = (
            "" if champion_version is None else f"; '{CHAMPION}' stays version {champion_version}"
        )
        comparison = None
        if champion_version == candidate_version:
            decision = Decision(False, f"version {candidate_version} is already '{CHAMPION}'")
        elif scarce is not None:
            decision = Decision(False, scarce + unchanged)
        elif not np.isfinite(cand_value):
            decision = Decision(
                False,
                f"{gate.metric} is undefined on the test split ({len(actual)} rows): nothing "
                "to judge the candidate on; add data" + unchanged,
            )
        else:
            if champion_version is not None:
                champion_model = load(name, champion_version)
                comparison = paired_bootstrap(
                    actual,
                    cand_out,
                    metrics.model_output(champion_model, features, gate.metric),
                    score,
                    higher_is_better=gate.higher_is_better,
                    resamples=gate.resamples,
                    confidence=gate.confidence,
                    seed=gate.seed,
                    stratify=classification,
                )
            decision = decide(gate, cand_value, comparison)
        record = Record(
            decision="promoted" if decision.promoted else "not promoted",
            reason=decision.reason,
            registered_model=name,
            candidate_version=candidate_version,
            champion_version=champion_version,
            metric=gate.metric,
            candidate_metric=rounded(cand_value) if np.isfinite(cand_value) else None,
            champion_metric=None if comparison is None else comparison.champion,
            difference=None if comparison is None else comparison.difference,
            interval=None if comparison is None else [comparison.low, comparison.high],
            resamples_requested=None if comparison is None else comparison.requested,
            resamples_scored=None if comparison is None else comparison.scored,
            test_rows=len(actual),
            test_rows_per_class={
                str(label): n for label, n in metrics.rows_per_class(actual, known).items()
            }
            if classification
            else None,
            min_class_rows=params.evaluate.min_class_rows if classification else None,
            gate=gate.model_dump(),
            trigger=trigger(),
            commit=tracking.git_commit(),
            data=data,
            run_id=run_info["run_id"],
            model_source=run_info["model_uri"],
            tracking_uri=where,
        )
        tags = {
            "promotion.decision": record.decision,
            "promotion.reason": record.reason[:4000],
            "promotion.commit": record.commit,
            "promotion.trigger": record.trigger,
            **{f"data_md5.{key}": value for key, value in data.items()},
        }
        for key, value in tags.items():
            client.set_model_version_tag(name, candidate_version, key, value)
        if decision.promoted:
            move_champion(client, name, candidate_version, champion_version)
    except MlflowException as exc:
        raise PipelineError(
            f"MLflow registry at {where} is unreachable or failed ({exc.error_code}): "
            f"{public_uri(exc.message)}; '{CHAMPION}' was not moved"
        ) from None
    except OSError as exc:  # connection refused, DNS, timeouts surface as OSError subclasses
        raise PipelineError(
            f"MLflow registry at {where} is unreachable ({exc}); '{CHAMPION}' was not moved"
        ) from None
    return record, values


def candidate_metrics(
    params: LibraryParams,
    model: Any,
    features: pd.DataFrame,
    actual: np.ndarray,
    classes: list,
    positive_label: Any = None,
) -> dict[str, float]:
    """Every metric of the problem type (metrics.compute; NaN where undefined)."""
    predicted = model.predict(features)
    scores = model.predict_proba(features) if params.problem_type == "classification" else None
    return metrics.compute(params.problem_type, actual, predicted, scores, classes, positive_label)


def restore(client: Any, name: str, version: str | None = None) -> tuple[str, str]:
    """Rollback in the registry: `champion` back to `version` (default: `previous-champion`).
    Returns (old champion, new champion)."""
    current = alias_version(client, name, CHAMPION)
    target = version or alias_version(client, name, PREVIOUS)
    if target is None:
        raise PipelineError(
            f"no version to restore: '{PREVIOUS}' is not set; pass a version explicitly"
        )
    client.get_model_version(name, target)  # fails clearly when the version does not exist
    if current == target:
        raise PipelineError(f"version {target} is already '{CHAMPION}'")
    move_champion(client, name, target, current)
    return current or "none", target


# --- entry point ----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run-info", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True, help="held-out rows")
    parser.add_argument("--schema", type=Path, required=True, help="column types (ingest)")
    parser.add_argument("--train", type=Path, help="training rows (recorded as data lineage)")
    parser.add_argument("--model", type=Path, help="the candidate, when its run is elsewhere")
    parser.add_argument("--record", type=Path, required=True, help="audit record (JSON)")
    parser.add_argument("--card", type=Path, required=True, help="model card (Markdown)")
    parser.add_argument(
        "--restore",
        nargs="?",
        const="previous",
        help="rollback: move 'champion' to this version (default: previous-champion)",
    )
    args = parser.parse_args(argv)

    params = load_params()
    client = registry_client()
    if args.restore is not None:
        version = None if args.restore == "previous" else args.restore
        from mlflow.exceptions import MlflowException

        try:
            old, new = restore(client, params.mlflow.registered_model, version)
        except MlflowException as exc:
            raise PipelineError(f"{exc.message}; '{CHAMPION}' was not moved") from None
        print(f"rollback: '{CHAMPION}' moved from version {old} to {new}")
        return

    if not args.run_info.exists():
        raise PipelineError(f"{args.run_info} not found: run 'make repro' first")
    run_info = json.loads(args.run_info.read_text(encoding="utf-8"))
    try:
        schema = load_schema(args.schema)
        test = read_frame(args.test, schema)
    except SchemaError as exc:
        raise PipelineError(str(exc)) from None
    data = {"test": file_md5(args.test), "schema": file_md5(args.schema)}
    if args.train is not None:
        data["train"] = file_md5(args.train)
    data.update({k.removeprefix("data_md5."): v for k, v in run_info.items() if "md5" in k})
    model_path = args.model

    def candidate_model() -> Any:
        import joblib

        if model_path is None or not model_path.exists():
            raise PipelineError(f"{run_info['model_uri']} is not in this MLflow store")
        return joblib.load(model_path)

    record, values = promote(
        params,
        run_info,
        test,
        schema=schema,
        client=client,
        candidate_model=candidate_model,
        data=data,
    )
    for path, text in (
        # strict JSON: an undefined number is null, never a bare NaN token
        (args.record, json.dumps(asdict(record), indent=2, allow_nan=False) + "\n"),
        (args.card, model_card(record, values)),
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    print(f"promote: version {record.candidate_version} {record.decision}: {record.reason}")


if __name__ == "__main__":
    run(main)
