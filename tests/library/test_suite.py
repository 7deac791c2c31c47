"""gitops-ml expectations: the suite built from data describes its columns, types and values."""

from __future__ import annotations

from gitops_ml.suite import build_suite


def by_type(suite, kind):
    return {e["kwargs"].get("column"): e for e in suite["expectations"] if e["type"] == kind}


def test_every_expectation_says_why(mixed_frame, params):
    suite = build_suite(mixed_frame, params.data.target, params.problem_type)
    assert all(e["meta"]["why"] for e in suite["expectations"])


def test_columns_types_nulls_ranges_and_sets(mixed_frame, params):
    suite = build_suite(mixed_frame, params.data.target, params.problem_type, margin=0.1)
    columns = by_type(suite, "expect_table_columns_to_match_set")[None]["kwargs"]["column_set"]
    assert columns == list(mixed_frame.columns)
    assert set(by_type(suite, "expect_column_values_to_be_in_type_list")) == set(columns)
    nulls = by_type(suite, "expect_column_values_to_not_be_null")
    assert "mostly" not in nulls["age"]["kwargs"]
    assert 0.8 < nulls["income"]["kwargs"]["mostly"] < 0.925
    ranges = by_type(suite, "expect_column_values_to_be_between")
    low, high = mixed_frame["age"].min(), mixed_frame["age"].max()
    assert ranges["age"]["kwargs"]["min_value"] < low
    assert ranges["age"]["kwargs"]["max_value"] > high
    sets = by_type(suite, "expect_column_values_to_be_in_set")
    assert sets["plan"]["kwargs"]["value_set"] == ["basic", "pro"]
    assert "city" in sets


def test_target_expectations_follow_problem_type(mixed_frame, params):
    suite = build_suite(mixed_frame, params.data.target, params.problem_type)
    target = params.data.target
    assert target in by_type(suite, "expect_column_values_to_not_be_null")
    if params.problem_type == "classification":
        assert by_type(suite, "expect_column_values_to_be_in_set")[target]["kwargs"][
            "value_set"
        ] == [0, 1]
    else:
        assert target in by_type(suite, "expect_column_values_to_be_between")
