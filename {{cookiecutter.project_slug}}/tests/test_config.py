"""params.yaml is typed: the shipped file loads, and mistakes fail with the key's name."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package_name }}.config import ParamsError, load_params, parse_params

PARAMS = Path(__file__).resolve().parent.parent / "params.yaml"


def raw_params() -> dict:
    return yaml.safe_load(PARAMS.read_text(encoding="utf-8"))


def test_shipped_params_load():
    params = load_params(PARAMS)
    assert params.train.model in {"logistic_regression", "ridge"}
    assert params.train.hyperparameters()


def test_unknown_key_is_named():
    raw = raw_params()
    raw["train"]["lerning_rate"] = 0.1
    with pytest.raises(ParamsError, match=r"unknown key 'train\.lerning_rate'"):
        parse_params(raw)


def test_missing_key_is_named():
    raw = raw_params()
    del raw["data"]["target"]
    with pytest.raises(ParamsError, match=r"missing key 'data\.target'"):
        parse_params(raw)


def test_bad_value_is_named():
    raw = raw_params()
    raw["data"]["test_size"] = 1.5
    with pytest.raises(ParamsError, match=r"'data\.test_size'"):
        parse_params(raw)


def test_model_must_fit_problem_type():
    raw = raw_params()
    raw["train"]["model"] = (
        "ridge" if raw["problem_type"] == "classification" else ("logistic_regression")
    )
    with pytest.raises(ParamsError, match="does not fit problem_type"):
        parse_params(raw)


def test_missing_file_is_explained(tmp_path: Path):
    with pytest.raises(ParamsError, match="not found"):
        load_params(tmp_path / "params.yaml")
