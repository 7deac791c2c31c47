"""Data tests: the committed suite accepts good data and rejects each kind of breakage.

Each broken fixture stands for a real failure seen in production pipelines.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from gitops_ml.suite import build_suite

from {{ cookiecutter.package_name }}.stages.validate import validate_splits

from ..helpers import model_columns

SUITE = Path(__file__).resolve().parents[2] / "expectations" / "suite.json"


@pytest.fixture
def suite(demo_frame, mixed_frame, params):
    """The committed suite for the demo data; built from the fixture for a CSV project."""
    if params.data.source == "demo":
        return json.loads(SUITE.read_text(encoding="utf-8")), model_columns(demo_frame, params)
    frame = model_columns(mixed_frame, params)
    return build_suite(frame, params.data.target, params.problem_type), frame


def failures(frame, suite_json):
    summary = validate_splits({"batch": frame}, suite_json)
    return {(f["expectation"], f["column"]) for f in summary["splits"]["batch"]["failed"]}


def test_good_data_passes(suite):
    suite_json, frame = suite
    assert failures(frame, suite_json) == set()


def test_dropped_column_fails(suite):
    # An upstream export silently dropping a column must stop the pipeline.
    suite_json, frame = suite
    column = frame.columns[0]
    assert ("expect_table_columns_to_match_set", None) in failures(
        frame.drop(columns=[column]), suite_json
    )


def test_out_of_range_values_fail(suite, params):
    # A unit change (metres -> millimetres) shows up as values far outside the range.
    suite_json, frame = suite
    numeric = [c for c in frame.select_dtypes("number").columns if c != params.data.target][0]
    broken = frame.copy()
    broken[numeric] = broken[numeric] * 1000 + 1000
    assert ("expect_column_values_to_be_between", numeric) in failures(broken, suite_json)


def test_missing_target_fails(suite, params):
    # Unlabelled rows must not reach training.
    suite_json, frame = suite
    broken = frame.copy()
    broken[params.data.target] = broken[params.data.target].astype(float)
    broken.loc[broken.index[:5], params.data.target] = np.nan
    assert ("expect_column_values_to_not_be_null", params.data.target) in failures(
        broken, suite_json
    )
