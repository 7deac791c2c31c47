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
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import checks, metrics, results, tracking
from .errors import PipelineError, run
from .gate import Decision, decide, paired_bootstrap, rounded, scarce_classes
from .params import LibraryParams, load_params
from .registry import (
    CHAMPION,
    alias_version,
    ensure_registered,
    load_version,
    move_champion,
    register_candidate,
    registry_client,
    restore,
)
from .schema import Schema, SchemaError, load_schema, plain, read_frame
from .tables import file_md5, split_target

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckContext:
    """What a user promotion check (``promote.extra_checks``, see ``checks.py``) receives.

    ``features``: the test split's input columns (rows x columns DataFrame, typed by the
    ingest schema); ``labels``: its target, shape (rows,); ``candidate_predictions``:
    ``candidate.predict(features)``, shape (rows,); ``champion`` is None before the first
    promotion; ``metrics``: the candidate's metric name -> value on the test split.
    """

    params: LibraryParams
    features: pd.DataFrame
    labels: pd.Series
    candidate: Any
    candidate_version: str
    candidate_predictions: np.ndarray
    champion: Any
    champion_version: str | None
    metrics: dict[str, float]


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
    # promote.extra_checks run when the gate says promote: [{check, passed, reason}]
    checks: list[dict[str, Any]] = field(default_factory=list)
    # the feature service the model is served with (FeatureSpec.to_dict()); None: no store
    feature_store: dict[str, Any] | None = None


def number(value: float | None, spec: str = ".4f") -> str:
    """``value`` formatted with ``spec`` for the model card; ``"n/a"`` for None or NaN."""
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


def relog(
    model: Any,
    example: pd.DataFrame,
    params: LibraryParams,
    data: dict[str, str],
    schema: Schema,
    feature_spec: dict[str, Any] | None = None,
) -> dict:
    """Log `model` to this MLflow store again, its signature from the ingest schema.

    ``feature_spec`` (the promotion record's ``feature_store``) goes back into the model's
    metadata, so a re-logged model still fetches its features by entity key when served.
    """
    run_params = {"problem_type": params.problem_type, "relogged": True}
    return tracking.log_model(
        model,
        example,
        params.mlflow.experiment,
        run_params,
        data,
        schema,
        feature_spec=feature_spec,
    )


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
    feature_spec: dict[str, Any] | None = None,
) -> tuple[Record, dict[str, float]]:
    """Register, compare, and move the alias when the gate says so.

    The candidate is registered (or re-logged), scored on ``test`` with the gate metric and
    compared with the champion by :func:`paired_bootstrap`; :func:`decide` applies the
    rule, then ``promote.extra_checks`` may veto; the outcome is tagged on the version and,
    when promoted, ``champion`` moves (:func:`move_champion`).

    Args:
        params: the project's params (its ``promote:`` section is the gate).
        run_info: models/run.json (``run_id``, ``model_uri``...).
        test: the held-out rows (n rows x features + target) read with the ingest
            ``schema`` (schema.read_frame), whose positive label the binary metrics use.
        schema: the ingest schema.
        client: an ``MlflowClient``.
        load: ``(name, version) -> model``; default :func:`load_version`.
        candidate_model: returns the candidate when its run is not in this store (it is
            then logged again); None: such a candidate fails.
        data: input file -> DVC md5, recorded as lineage.
        feature_spec: the feature service the candidate was trained on
            (reports/feature_store.json ``spec``): recorded, and logged again with a
            re-logged candidate.

    Returns:
        The audit :class:`Record` and the candidate's metrics (name -> value, NaN where
        undefined).

    Raises:
        PipelineError: no ``promote:`` section; the candidate's run is not in this store
            and no ``candidate_model``; the bootstrap cannot give an interval; a concurrent
            promotion; or the registry is unreachable or fails (``champion`` not moved).
        KeyError: ``run_info`` lacks ``run_id`` or ``model_uri``.
    """
    from mlflow.exceptions import MlflowException

    gate = params.promote
    if gate is None:
        raise PipelineError("params.yaml has no 'promote:' section: add one to set the gate")
    name = params.mlflow.registered_model
    where = tracking.public_uri(tracking.tracking_uri())
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
            run_info = relog(candidate_model(), example, params, data, schema, feature_spec)
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
        found: list[dict[str, Any]] = []
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
            champion_model = None
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
            if decision.promoted and gate.extra_checks:
                context = CheckContext(
                    params, features, labels, candidate, candidate_version,
                    np.asarray(candidate.predict(features)), champion_model, champion_version,
                    values,
                )  # fmt: skip
                verdicts = checks.run_checks(gate.extra_checks, context)
                found = [asdict(verdict) for verdict in verdicts]
                vetoed = checks.vetoes(verdicts)
                if vetoed:
                    decision = Decision(
                        False, f"vetoed by {'; '.join(vetoed)} ({decision.reason}){unchanged}"
                    )
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
            checks=found,
            feature_store=feature_spec,
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
            f"{tracking.public_uri(exc.message)}; '{CHAMPION}' was not moved"
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


# --- entry point ----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    """``gitops-ml promote``: run the gate, write the record and the model card.

    With ``--restore [VERSION]`` it only moves ``champion`` back (:func:`restore`). Otherwise
    reads ``--run-info``, the ``--test`` split with the ``--schema``, runs :func:`promote`,
    writes the ``promotion`` result (``--record``, JSON, see ``results.py``) and the model
    card (``--card``, Markdown), and prints the decision. "Not promoted" exits 0.

    Raises:
        SystemExit: 2 on a wrong command line (argparse).
        ParamsError: params.yaml is missing or invalid.
        PipelineError: ``--run-info`` is missing, the test split or schema cannot be read,
            a rollback is refused, or :func:`promote` fails.
    """
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run-info", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True, help="held-out rows")
    parser.add_argument("--schema", type=Path, required=True, help="column types (ingest)")
    parser.add_argument("--train", type=Path, help="training rows (recorded as data lineage)")
    parser.add_argument("--model", type=Path, help="the candidate, when its run is elsewhere")
    parser.add_argument("--record", type=Path, required=True, help="audit record (JSON)")
    parser.add_argument("--card", type=Path, required=True, help="model card (Markdown)")
    parser.add_argument(
        "--feature-spec", type=Path, help="the feature store's reports/feature_store.json"
    )
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
    feature_spec = None
    if args.feature_spec is not None and args.feature_spec.is_file():
        feature_spec = json.loads(args.feature_spec.read_text(encoding="utf-8"))["spec"]

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
        feature_spec=feature_spec,
    )
    # a `promotion` result (results.py): strict JSON, an undefined number is null
    results.write(args.record, "promotion", asdict(record))
    args.card.parent.mkdir(parents=True, exist_ok=True)
    args.card.write_text(model_card(record, values), encoding="utf-8")
    print(f"promote: version {record.candidate_version} {record.decision}: {record.reason}")


if __name__ == "__main__":
    run(main)
