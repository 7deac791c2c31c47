"""Column types: each kind of real-world column is decided once, recorded, and read back the same.

Given a column as CSV exports hold it, when ingest decides its type, then the decision, the
cleaned values and the features the model sees are what a user expects.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gitops_ml.schema import (
    Schema,
    SchemaError,
    conform,
    infer_schema,
    load_schema,
    parse_booleans,
    read_frame,
    signature_types,
)

from .helpers import project_module


def frame_with(rows: int = 60, seed: int = 0, **columns) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"age": rng.integers(18, 80, rows)})
    for name, values in columns.items():
        frame[name] = values
    frame["target"] = rng.integers(0, 2, rows)
    return frame


def decided(frame: pd.DataFrame, **kwargs) -> dict[str, str]:
    schema = infer_schema(frame, "target", "classification", **kwargs)
    return {name: column.type for name, column in schema.columns.items()}


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["True", "False"] * 30, "boolean"),
        (["yes", "no", None] * 20, "boolean"),
        ([0, 1] * 30, "boolean"),
        ([1.5, 2.5, 3.5] * 20, "numeric"),
        (["12.5", "unknown", "13", "14", "15"] * 12, "numeric"),
        (["2024-01-05", "2024-02-11", "2024-03-20"] * 20, "datetime"),
        (["05/01/2024 10:30", "11/02/2024 08:00"] * 30, "datetime"),
        (["basic", "plus", "pro"] * 20, "categorical"),
        ([f"C-{i:05d}" for i in range(60)], "identifier"),
        (list(range(60)), "identifier"),
        ([None] * 60, "empty"),
        (["same"] * 60, "constant"),
    ],
    ids=[
        "true-false", "yes-no-missing", "zero-one", "floats", "placeholder", "iso-date",
        "day-first-timestamp", "text", "near-unique-text", "row-index", "empty", "constant",
    ],
)  # fmt: skip
def test_each_kind_of_column_is_recognised(values, kind):
    assert decided(frame_with(column=values))["column"] == kind


def test_to_csv_index_column_is_an_identifier(tmp_path: Path):
    # Given a CSV written by DataFrame.to_csv() with its default index=True
    frame = frame_with()
    frame.to_csv(tmp_path / "data.csv")
    # When it is read back, then the unnamed first column is not a feature
    types = decided(pd.read_csv(tmp_path / "data.csv"))
    assert types["Unnamed: 0"] == "identifier"


def test_override_wins_and_unknown_override_is_named():
    frame = frame_with(zip_code=[75001, 69002, 44000] * 20)
    assert decided(frame, overrides={"zip_code": "categorical"})["zip_code"] == "categorical"
    with pytest.raises(SchemaError, match="data.column_types names column.*: nope"):
        decided(frame, overrides={"nope": "numeric"})


def test_placeholders_become_missing_and_are_counted():
    frame = frame_with(income=["12.5", "unknown", "13", "14", "15"] * 12)
    schema = infer_schema(frame, "target", "classification")
    assert schema.columns["income"].placeholders == {"unknown": 12}
    cleaned = conform(frame, schema)
    assert cleaned["income"].dtype == "float64"
    assert cleaned["income"].isna().sum() == 12


def test_booleans_are_read_as_booleans_and_bad_values_are_refused():
    values = pd.Series(["false", "False", "no", "0", 0, False, "yes", True, None, ""])
    parsed = parse_booleans(values, "is_member")
    assert parsed.tolist() == [False] * 6 + [True, True, None, None]
    with pytest.raises(SchemaError, match="column 'is_member' is boolean but got 'maybe'"):
        parse_booleans(pd.Series(["yes", "maybe"]), "is_member")


def test_dates_become_numeric_parts_and_later_dates_read_like_any_other(params):
    dates = pd.date_range("2024-01-01", periods=60, freq="D").strftime("%Y-%m-%d")
    frame = frame_with(signup=list(dates))
    schema = infer_schema(frame, "target", "classification")
    assert schema.columns["signup"].parts == ["month", "dayofweek"]
    # the features the model sees: the project's featurize stage, default settings
    featurize = project_module(params, "stages.featurize")
    settings = project_module(params, "config").FeaturizeParams()
    preprocessor, features = featurize.fit_features(frame, "target", settings, schema)
    names = [n for n in features.columns if n.startswith("signup")]
    assert names == ["signup_month", "signup_dayofweek"]
    # A date after every training date is read like any other: by its month and weekday,
    # never as an "infrequent" category nor as an extrapolated trend.
    saturdays = frame.head(2).drop(columns=["target"]).assign(signup=["2024-06-01", "2027-06-05"])
    out = pd.DataFrame(
        preprocessor.transform(saturdays), columns=preprocessor.get_feature_names_out()
    )
    np.testing.assert_allclose(out[names].iloc[0], out[names].iloc[1])


DAILY = ["month", "dayofweek"]


@pytest.mark.parametrize(
    ("dates", "parts"),
    [
        (pd.date_range("1970-01-01", periods=12, freq="YS"), ["year"]),
        (pd.date_range("2020-01-01", periods=24, freq="MS"), ["month"]),
        (pd.date_range("2024-01-01", periods=60, freq="D"), DAILY),
        (pd.date_range("2024-01-01", periods=60, freq="7h"), [*DAILY, "hour"]),
    ],
    ids=["years-as-dates", "monthly", "daily", "with-time"],
)
def test_date_parts_follow_the_resolution_of_the_dates(dates, parts):
    # A year written as a date (cars' 1970-01-01) is a year, not a constant month plus a
    # weekday of 1 January that varies for no reason.
    frame = frame_with(rows=len(dates), when=list(dates.strftime("%Y-%m-%d %H:%M")))
    assert infer_schema(frame, "target", "classification").columns["when"].parts == parts


def test_ignored_date_column_is_only_ignored():
    frame = frame_with(day=list(pd.date_range("2024-01-01", periods=60).strftime("%Y-%m-%d")))
    column = infer_schema(frame, "target", "classification", overrides={"day": "ignore"})
    assert column.columns["day"].type == "ignore" and column.columns["day"].format is None


def test_a_date_sent_as_a_number_is_refused():
    frame = frame_with(signup=list(pd.date_range("2024-01-01", periods=60).strftime("%Y-%m-%d")))
    schema = infer_schema(frame, "target", "classification")
    with pytest.raises(SchemaError, match="column 'signup' holds dates but got the number"):
        conform(frame.head(1).assign(signup=[20240105]), schema)
    with pytest.raises(SchemaError, match="column 'signup' holds dates but got 'soon'"):
        conform(frame.head(1).assign(signup=["soon"]), schema)


def test_positive_label_defaults_to_the_minority_class_and_can_be_set():
    frame = pd.DataFrame({"x": range(30), "status": ["retained"] * 20 + ["churned"] * 10})
    assert infer_schema(frame, "status", "classification").target.positive_label == "churned"
    chosen = infer_schema(frame, "status", "classification", positive_label="retained")
    assert chosen.target.positive_label == "retained"
    with pytest.raises(SchemaError, match="data.positive_label 'gone' is not a class"):
        infer_schema(frame, "status", "classification", positive_label="gone")


def test_integer_labels_stay_integers_after_missing_targets(tmp_path: Path):
    # pandas reads an integer column with gaps as float: labels must not come back as 1.0
    frame = pd.DataFrame({"x": range(30), "y": [1, 0, None] * 10})
    labelled = frame.dropna(subset=["y"])
    schema = infer_schema(labelled, "y", "classification")
    assert schema.target.dtype == "int64" and schema.target.classes == [0, 1]
    labelled.to_csv(tmp_path / "split.csv", index=False)
    assert read_frame(tmp_path / "split.csv", schema)["y"].dtype == "int64"


def test_schema_round_trips_and_signature_uses_double_for_numbers(tmp_path: Path):
    frame = frame_with(
        flag=["yes", "no"] * 30,
        day=list(pd.date_range("2024-01-01", periods=60).strftime("%Y-%m-%d")),
        plan=["a", "b", "c"] * 20,
    )
    schema = infer_schema(frame, "target", "classification")
    schema.save(tmp_path / "schema.json")
    assert load_schema(tmp_path / "schema.json") == schema
    json.loads((tmp_path / "schema.json").read_text(encoding="utf-8"))  # strict JSON
    assert signature_types(schema) == {
        "age": "double", "flag": "string", "day": "string", "plan": "string",
    }  # fmt: skip


def test_a_schema_from_another_version_says_how_to_rebuild(tmp_path: Path):
    (tmp_path / "schema.json").write_text('{"schema_version": 0}', encoding="utf-8")
    with pytest.raises(SchemaError, match="make expectations"):
        load_schema(tmp_path / "schema.json")


def test_dropped_columns_are_not_features():
    frame = frame_with(notes=[None] * 60, batch=["b1"] * 60, ref=[f"R{i}" for i in range(60)])
    schema: Schema = infer_schema(frame, "target", "classification")
    assert schema.features == ["age"]
    assert list(conform(frame, schema).columns) == ["age", "target"]
