"""Stage 1, ingest: load the raw data, decide each column's type once, split train/test.

Writes the cleaned train and test splits (only the columns the model may use, values typed
as decided) and the schema file that every later step reads (schema.py).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from gitops_ml.errors import PipelineError, run
from gitops_ml.schema import IGNORE, Column, Schema, SchemaError, conform, infer_schema
from gitops_ml.tables import write_csv
from sklearn.model_selection import train_test_split

from ..config import DataParams, ProblemType, load_params
from ..data import load_source

# A numeric target under `classification` with more distinct values than this looks like a
# quantity to predict (regression), not a set of classes.
MAX_NUMERIC_CLASSES = 20


def labelled_rows(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, int]:
    """The rows that have a target value, and how many were dropped for lacking one."""
    present = frame[target].notna()
    if frame[target].dtype == object:
        present &= frame[target].astype(str).str.strip() != ""
    labelled = frame[present]
    if labelled.empty:
        raise PipelineError(f"target column {target!r} has no values")
    return labelled, int((~present).sum())


def check_target(labels: pd.Series, problem_type: ProblemType) -> None:
    """The target fits problem_type, or one sentence says what to change."""
    name = labels.name
    numeric = pd.api.types.is_numeric_dtype(labels) and not pd.api.types.is_bool_dtype(labels)
    if problem_type == "regression" and not numeric:
        examples = ", ".join(repr(v) for v in labels.astype(str).unique()[:3])
        raise PipelineError(
            f"problem_type is regression but target column {name!r} is not numeric (values "
            f"such as {examples}): set problem_type: classification in params.yaml or choose "
            "a numeric target"
        )
    if problem_type == "classification" and numeric:
        distinct = labels.nunique()
        fractional = not (labels == labels.round()).all()
        if fractional or distinct > MAX_NUMERIC_CLASSES:
            raise PipelineError(
                f"target {name!r} has {distinct} distinct numeric values in {len(labels)} rows"
                f"{' (with fractions)' if fractional else ''}: is this a regression target? "
                "set problem_type: regression in params.yaml"
            )


def split(
    frame: pd.DataFrame, params: DataParams, problem_type: ProblemType
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Deterministic train/test split by data.seed, stratified for classification."""
    labelled, _ = labelled_rows(frame, params.target)
    stratify = labelled[params.target] if problem_type == "classification" else None
    if stratify is not None:
        counts = stratify.value_counts()
        small = counts[counts < 2]
        if len(small):
            named = ", ".join(f"class {label!r} has {n} row" for label, n in small.items())
            raise PipelineError(
                f"{named} in {params.target!r}; every class needs at least 2 rows to stratify "
                "the split: add rows or remove that class"
            )
    try:
        train, test = train_test_split(
            labelled, test_size=params.test_size, random_state=params.seed, stratify=stratify
        )
    except ValueError as exc:  # e.g. fewer test rows than classes
        raise PipelineError(f"cannot split {len(labelled)} rows: {exc}") from None
    return train.reset_index(drop=True), test.reset_index(drop=True)


def ingest(
    frame: pd.DataFrame, params: DataParams, problem_type: ProblemType, keep: Sequence[str] = ()
) -> tuple[pd.DataFrame, pd.DataFrame, Schema, list[str]]:
    """Labelled rows only, column types decided, split, cleaned: (train, test, schema, notes).

    ``keep``: columns written unchanged and never used as features (the feature store's
    entity keys and event timestamp); each must be present.
    """
    missing = [name for name in keep if name not in frame.columns]
    if missing:
        raise PipelineError(
            f"the data has no column {missing[0]!r}, which params.yaml feature_store names "
            f"(columns: {', '.join(map(str, frame.columns[:12]))})"
        )
    labelled, dropped = labelled_rows(frame, params.target)
    check_target(labelled[params.target], problem_type)
    train, test = split(labelled, params, problem_type)
    try:
        schema = infer_schema(
            labelled,
            params.target,
            problem_type,
            overrides={**dict.fromkeys(keep, "ignore"), **params.column_types},
            positive_label=params.positive_label,
            train=train,
        )
        kept = Column(IGNORE, "the feature store's entity key or event timestamp, kept as is")
        columns = {
            name: kept if name in keep and name not in params.column_types else column
            for name, column in schema.columns.items()
        }
        schema = Schema(columns, schema.target, {"read": len(frame), "unlabelled": dropped})
        train = conform(train, schema, keep=tuple(keep))
        test = conform(test, schema, keep=tuple(keep))
    except SchemaError as exc:
        raise PipelineError(str(exc)) from None
    return train, test, schema, notes(schema, len(frame), dropped)


def notes(schema: Schema, rows: int, dropped: int) -> list[str]:
    """What ingest did to the data besides splitting it, one line each."""
    found = []
    if dropped:
        found.append(f"dropped {dropped} of {rows} rows without a value for {schema.target.name!r}")
    for name, column in schema.dropped.items():
        found.append(f"column {name!r} is not used as a feature: {column.type}, {column.reason}")
    for name, column in schema.columns.items():
        if column.placeholders:
            tokens = ", ".join(f"{t!r} x{n}" for t, n in column.placeholders.items())
            found.append(f"column {name!r} is numeric; text read as missing: {tokens}")
        if column.type == "datetime":
            found.append(
                f"column {name!r} holds dates ({column.format}): used as " + ", ".join(column.parts)
            )
    return found


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--schema", type=Path, required=True, help="column types (JSON)")
    args = parser.parse_args(argv)

    params = load_params()
    frame = load_source(
        params.data.source, params.problem_type, params.data.target, params.data.read
    )
    store = params.feature_store
    keep = (*store.entity_keys, store.event_timestamp) if store else ()
    train, test, schema, found = ingest(frame, params.data, params.problem_type, keep)
    write_csv(train, args.train)
    write_csv(test, args.test)
    schema.save(args.schema)
    for note in found:
        print(f"ingest: {note}")
    print(
        f"ingest: {len(train)} train rows, {len(test)} test rows, {len(schema.features)} "
        f"feature columns (types in {args.schema})"
    )


if __name__ == "__main__":
    run(main)
