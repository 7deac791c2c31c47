"""ingest: the demo data, CSV sources and a deterministic, stratified split."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from gitops_ml.errors import PipelineError
from gitops_ml.schema import load_schema

from {{ cookiecutter.package_name }}.data import load_source
from {{ cookiecutter.package_name }}.stages import ingest

from ..helpers import feature_store_columns


def test_split_is_deterministic_and_sized(demo_frame, params):
    train, test = ingest.split(demo_frame, params.data, params.problem_type)
    again, _ = ingest.split(demo_frame, params.data, params.problem_type)
    assert len(train) + len(test) == len(demo_frame)
    assert len(test) == pytest.approx(len(demo_frame) * params.data.test_size, abs=1)
    pd.testing.assert_frame_equal(train, again)


{% if cookiecutter.problem_type == 'classification' -%}
def test_classification_split_is_stratified(demo_frame, params):
    train, test = ingest.split(demo_frame, params.data, params.problem_type)
    target = params.data.target
    share_train = train[target].value_counts(normalize=True).sort_index()
    share_test = test[target].value_counts(normalize=True).sort_index()
    assert (share_train - share_test).abs().max() < 0.02


{% endif -%}

def test_demo_has_the_target_column(demo_frame, params):
    assert params.data.target in demo_frame.columns
    assert demo_frame[params.data.target].notna().all()


def test_csv_source_is_read_as_is(tmp_path: Path, mixed_frame, params):
    path = tmp_path / "data.csv"
    mixed_frame.to_csv(path, index=False)
    loaded = load_source(str(path), params.problem_type, params.data.target)
    assert list(loaded.columns) == list(mixed_frame.columns)
    assert len(loaded) == len(mixed_frame)


def test_missing_file_is_a_clear_error(tmp_path: Path, params):
    with pytest.raises(PipelineError, match="does not exist"):
        load_source(str(tmp_path / "nope.csv"), params.problem_type, params.data.target)


def test_empty_file_is_a_clear_error(tmp_path: Path, params):
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(PipelineError, match="is empty"):
        load_source(str(path), params.problem_type, params.data.target)


def test_header_only_file_is_a_clear_error(tmp_path: Path, params):
    path = tmp_path / "header.csv"
    path.write_text(f"a,b,{params.data.target}\n", encoding="utf-8")
    with pytest.raises(PipelineError, match="no rows"):
        load_source(str(path), params.problem_type, params.data.target)


def test_missing_target_column_is_named(tmp_path: Path, mixed_frame, params):
    path = tmp_path / "data.csv"
    mixed_frame.drop(columns=[params.data.target]).to_csv(path, index=False)
    with pytest.raises(PipelineError, match=f"no target column '{params.data.target}'"):
        load_source(str(path), params.problem_type, params.data.target)


def test_main_writes_both_splits(in_tmp_project: Path, params):
    ingest.main(["--train", "out/train.csv", "--test", "out/test.csv", "--schema", "s.json"])
    assert len(pd.read_csv("out/train.csv")) > len(pd.read_csv("out/test.csv")) > 0
    assert set(load_schema(in_tmp_project / "s.json").features) == set(
        pd.read_csv("out/test.csv").columns
    ) - {params.data.target, *feature_store_columns(params)}


def test_semicolon_csv_with_decimal_commas_is_read_as_numbers(tmp_path: Path, params):
    # Given a European export: ';' between fields, ',' as the decimal mark
    path = tmp_path / "data.csv"
    path.write_text(
        f"surface;city;{params.data.target}\n"
        + "".join(f"{12 + i},5;{'paris' if i % 2 else 'lyon'};{i % 2}\n" for i in range(30)),
        encoding="utf-8",
    )
    loaded = load_source(str(path), params.problem_type, params.data.target)
    assert list(loaded.columns) == ["surface", "city", params.data.target]
    assert loaded["surface"].dtype == "float64" and loaded["surface"].iloc[0] == 12.5


def test_a_file_read_as_one_column_names_the_separator_it_saw(tmp_path: Path, params):
    from {{ cookiecutter.package_name }}.config import ReadParams

    path = tmp_path / "data.csv"
    path.write_text(f"a;b;{params.data.target}\n1;2;0\n3;4;1\n", encoding="utf-8")
    with pytest.raises(PipelineError, match="header contains ';': set data.read.sep"):
        load_source(str(path), params.problem_type, params.data.target, ReadParams(sep=","))


def test_a_batch_exported_like_the_data_is_read_the_same_as_text(tmp_path: Path):
    # make monitor reads production batches as text (the schema types them): ';' and decimal
    # commas are sniffed there too, and "007" stays "007"
    from gitops_ml.tables import read_text_csv

    path = tmp_path / "batch.csv"
    path.write_text("surface;code;member\n12,5;007;yes\n3;010;no\n", encoding="utf-8")
    batch = read_text_csv(path)
    assert batch.to_dict("list") == {
        "surface": ["12.5", "3"], "code": ["007", "010"], "member": ["yes", "no"],
    }  # fmt: skip
