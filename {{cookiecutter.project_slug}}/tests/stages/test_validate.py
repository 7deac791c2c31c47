"""validate: failures are reported per expectation, with the column and bad examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gitops_ml.errors import PipelineError
from gitops_ml.suite import build_suite

from {{ cookiecutter.package_name }}.stages import validate

from ..helpers import model_columns, schema_of


@pytest.fixture
def model_frame(mixed_frame, params):
    """The rows as validation reads them (no feature-store keys or timestamps)."""
    return model_columns(mixed_frame, params)


@pytest.fixture
def suite(model_frame, params):
    return build_suite(model_frame, params.data.target, params.problem_type)


def test_good_data_passes(model_frame, suite):
    summary = validate.validate_splits({"train": model_frame}, suite)
    assert summary["success"]
    assert summary["splits"]["train"]["failed"] == []


def test_failure_names_column_and_examples(model_frame, suite):
    broken = model_frame.copy()
    broken.loc[0, "age"] = 999
    summary = validate.validate_splits({"train": broken}, suite)
    assert not summary["success"]
    [failure] = summary["splits"]["train"]["failed"]
    assert failure["column"] == "age"
    assert failure["expectation"] == "expect_column_values_to_be_between"
    assert failure["examples"] == [999]
    line = validate.describe_failure("train", failure)
    assert "column 'age'" in line and "999" in line


def test_main_writes_reports_and_exits_nonzero(tmp_path: Path, mixed_frame, suite, params):
    suite_path = tmp_path / "suite.json"
    suite_path.write_text(json.dumps(suite), encoding="utf-8")
    broken = mixed_frame.drop(columns=["plan"])
    broken.to_csv(tmp_path / "train.csv", index=False)
    mixed_frame.to_csv(tmp_path / "test.csv", index=False)
    (tmp_path / "schema.json").write_text(
        schema_of(mixed_frame, params).to_json(), encoding="utf-8"
    )
    args = [
        "--suite", str(suite_path), "--schema", str(tmp_path / "schema.json"),
        "--train", str(tmp_path / "train.csv"), "--test", str(tmp_path / "test.csv"),
        "--summary", str(tmp_path / "validation.json"), "--html", str(tmp_path / "v.html"),
    ]  # fmt: skip
    with pytest.raises(PipelineError, match=r"missing columns \['plan'\]"):
        validate.main(args)
    summary = json.loads((tmp_path / "validation.json").read_text(encoding="utf-8"))
    assert summary["success"] is False
    assert summary["splits"]["test"]["success"] is True
    assert "FAILED" in (tmp_path / "v.html").read_text(encoding="utf-8")


def test_missing_suite_says_how_to_create_it(tmp_path: Path):
    with pytest.raises(PipelineError, match="make expectations"):
        validate.load_suite(tmp_path / "suite.json")
