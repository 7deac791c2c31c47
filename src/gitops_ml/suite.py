"""Build a Great Expectations suite from the current data, for a human to review and commit.

`make expectations` runs this after `dvc repro ingest`. Every expectation carries a
`meta.why` saying why it exists, so the committed suite documents itself.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from pandas.api import types

from .errors import run
from .params import ProblemType, load_params
from .schema import decisions_table, load_schema, plain, read_frame

NUMERIC_TYPES = ["int8", "int16", "int32", "int64", "float16", "float32", "float64"]
TEXT_TYPES = ["object", "str", "string", "category"]
BOOL_TYPES = ["bool", "boolean"]
DATETIME_TYPES = ["datetime64[ns]", "datetime64[us]", "datetime64[ms]", "datetime64[s]"]


def _expectation(kind: str, why: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": kind, "kwargs": kwargs, "meta": {"why": why}}


def column_expectations(
    series: pd.Series, *, margin: float, max_categories: int, is_target: bool, is_label: bool
) -> list[dict[str, Any]]:
    """Type, missing values, and either a value set (categories, class labels) or a range."""
    name = str(series.name)
    found: list[dict[str, Any]] = []
    if types.is_bool_dtype(series):
        type_list = BOOL_TYPES
    elif types.is_datetime64_any_dtype(series):
        type_list = DATETIME_TYPES
    elif types.is_numeric_dtype(series):
        type_list = NUMERIC_TYPES
    else:
        type_list = TEXT_TYPES
    found.append(
        _expectation(
            "expect_column_values_to_be_in_type_list",
            "a changed type means the producer changed the meaning or encoding of the column",
            column=name,
            type_list=type_list,
        )
    )
    null_fraction = float(series.isna().mean())
    if is_target or null_fraction == 0:
        found.append(
            _expectation(
                "expect_column_values_to_not_be_null",
                "the target must be known for every row"
                if is_target
                else "the column had no missing values when the suite was built",
                column=name,
            )
        )
    else:
        mostly = max(0.0, round(1 - null_fraction - margin, 3))
        found.append(
            _expectation(
                "expect_column_values_to_not_be_null",
                f"about {null_fraction:.1%} missing when the suite was built; far more means "
                "a broken extract",
                column=name,
                mostly=mostly,
            )
        )
    values = series.dropna()
    distinct = values.nunique()
    categorical = not (
        types.is_numeric_dtype(series) or types.is_datetime64_any_dtype(series)
    ) or types.is_bool_dtype(series)
    if is_label or (categorical and 0 < distinct <= max_categories):
        found.append(
            _expectation(
                "expect_column_values_to_be_in_set",
                "an unseen category would be silently ignored by the one-hot encoder"
                if not is_label
                else "an unknown class label means mislabelled or mixed data",
                column=name,
                value_set=sorted(plain(value) for value in values.unique()),
            )
        )
    elif types.is_numeric_dtype(series) and not types.is_bool_dtype(series) and distinct:
        low, high = float(values.min()), float(values.max())
        pad = margin * (high - low if high > low else max(abs(high), 1.0))
        found.append(
            _expectation(
                "expect_column_values_to_be_between",
                f"observed range [{low:g}, {high:g}] widened by {margin:.0%}; values far outside "
                "it are unit or sensor errors",
                column=name,
                min_value=round(low - pad, 6),
                max_value=round(high + pad, 6),
            )
        )
    return found


def build_suite(
    frame: pd.DataFrame,
    target: str,
    problem_type: ProblemType,
    *,
    name: str = "data",
    margin: float = 0.1,
    max_categories: int = 20,
) -> dict[str, Any]:
    """A suite (GX 1.x JSON) describing `frame`: columns, types, nulls, ranges and sets."""
    expectations = [
        _expectation(
            "expect_table_columns_to_match_set",
            "a dropped or renamed column breaks featurization and the model signature",
            column_set=[str(column) for column in frame.columns],
            exact_match=True,
        ),
        _expectation(
            "expect_table_row_count_to_be_between",
            "an empty split means the extract failed",
            min_value=1,
        ),
    ]
    for column in frame.columns:
        is_target = column == target
        expectations += column_expectations(
            frame[column],
            margin=margin,
            max_categories=max_categories,
            is_target=is_target,
            is_label=is_target and problem_type == "classification",
        )
    return {
        "name": name,
        "expectations": expectations,
        "meta": {
            "built_by": "make expectations",
            "review": "Edit ranges and sets to what is valid, not just what was seen; commit.",
        },
    }


def main(argv: Sequence[str] | None = None) -> None:
    """``gitops-ml expectations DATA... --schema S --out SUITE``: write the suite for review.

    Reads the CSV splits with the schema's types, concatenates their rows, builds the suite
    with :func:`build_suite` (``--margin``: share the observed ranges and null rates are
    widened by, default 0.1 = 10%; ``--max-categories``: largest value set written, default
    20), writes it as JSON to ``--out`` and prints the column-type decisions.

    Raises:
        SystemExit: 2 on a wrong command line (argparse).
        ParamsError: params.yaml is missing or invalid.
        SchemaError: the schema file is missing or from another version, or a value does not
            fit its column's type.
    """
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data", type=Path, nargs="+", help="CSV files to describe")
    parser.add_argument("--schema", type=Path, required=True, help="column types (ingest)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--margin", type=float, default=0.1)
    parser.add_argument("--max-categories", type=int, default=20)
    args = parser.parse_args(argv)

    params = load_params()
    schema = load_schema(args.schema)
    frame = pd.concat([read_frame(path, schema) for path in args.data], ignore_index=True)
    suite = build_suite(
        frame,
        params.data.target,
        params.problem_type,
        name=params.mlflow.experiment,
        margin=args.margin,
        max_categories=args.max_categories,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(suite, indent=2) + "\n", encoding="utf-8")
    print("Column types (decided at ingest; override in params.yaml data.column_types):")
    print(decisions_table(schema))
    print(f"wrote {len(suite['expectations'])} expectations to {args.out}: review, then commit it")


if __name__ == "__main__":
    run(main)
