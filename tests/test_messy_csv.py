"""One messy CSV, as exports really look, from `make expectations` to an answer over HTTP.

The CSV was written by pandas with its index, and holds an identifier, a True/False column, a
date, an integer column without gaps, an income with 'unknown' placeholders, a category and a
label whose positive class ("churned", the minority) is not the alphabetically last one.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from .conftest import make, render_project

pytestmark = pytest.mark.slow


def messy_frame(rows: int = 400, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    member = rng.random(rows) < 0.4
    tenure = rng.integers(1, 72, rows)
    income = rng.normal(50, 12, rows).round(2).astype(object)
    income[rng.choice(rows, 12, replace=False)] = "unknown"
    score = -1.2 * member + (36 - tenure) / 20 + rng.normal(0, 0.6, rows)
    return pd.DataFrame(
        {
            "customer_id": [f"C-{10_000 + i}" for i in rng.permutation(rows)],
            "is_member": np.where(member, "True", "False"),
            "signup_date": (
                pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 700, rows), "D")
            ).strftime("%Y-%m-%d"),
            "tenure": tenure,
            "income": income,
            "plan": rng.choice(["basic", "plus", "pro"], rows),
            "status": np.where(score > 0.6, "churned", "stayed"),
        }
    )


def post(url: str, row: dict) -> tuple[int, dict]:
    body = json.dumps({"dataframe_records": [row]}).encode()
    request = urllib.request.Request(
        f"{url}/invocations", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_messy_csv_from_expectations_to_http(tmp_path: Path):
    # Given a CSV project holding the messy export (written with DataFrame.to_csv's index)
    project = render_project(tmp_path, dataset="csv", target_column="status")
    frame = messy_frame()
    assert (frame["status"] == "churned").mean() < 0.5
    frame.to_csv(project / "data/raw/dataset.csv")

    # When the user builds the suite, then every column gets the type a person would give it
    out = make(project, "expectations").stdout
    for line in (
        "Unnamed: 0   identifier (dropped)",
        "customer_id  identifier (dropped)",
        "is_member    boolean",
        "signup_date  datetime",
        "tenure       numeric",
        "income       numeric",
        "plan         categorical",
    ):
        assert line in out, out
    assert "ingest: column 'income' is numeric; text read as missing: 'unknown' x12" in out

    # and the pipeline runs on the unchanged data, naming the positive class
    make(project, "repro")
    values = json.loads((project / "reports/metrics.json").read_text(encoding="utf-8"))
    assert values["positive_label"] == "churned"
    assert values["roc_auc"] > 0.75

    # When the model is promoted and deployed, then the endpoint reads what clients send
    make(project, "promote")
    try:
        url = make(project, "deploy").stdout.strip().splitlines()[-1]
        row = {
            "is_member": True, "signup_date": "2024-05-02", "tenure": 12,
            "income": 48.5, "plan": "basic",
        }  # fmt: skip
        status, member = post(url, row)
        assert status == 200
        _, not_member = post(url, {**row, "is_member": False})
        assert member["predictions"] != not_member["predictions"]
        for text, expected in (("false", not_member), ("no", not_member), ("yes", member)):
            assert post(url, {**row, "is_member": text}) == (200, expected)
        status, refused = post(url, {**row, "is_member": "maybe"})
        assert status == 400
        assert "column 'is_member' is boolean but got 'maybe'" in refused["message"]
        # a null in tenure (integers without gaps in training) is imputed, not refused
        status, answer = post(url, {**row, "tenure": None})
        assert status == 200 and answer["predictions"][0] in {"churned", "stayed"}
        # a later date than any in training is a valid input
        assert post(url, {**row, "signup_date": "2031-01-01"})[0] == 200
    finally:
        make(project, "undeploy", check=False)
