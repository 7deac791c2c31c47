"""`make promote` in a generated project: the gate decides, the `champion` alias follows.

One project goes through a realistic history: a weak first model, a better one, a worse one,
then an unreachable registry. Each test asserts one step; the gate's numbers are printed
(`pytest -s`) so they can be reported. A second project (a CSV whose positive class has 3 of
240 rows, cases bug-04 and bug-12) checks the evidence the gate rests on.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import socket
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import SHARED_VENV, make, render_project, run

pytestmark = pytest.mark.slow


def set_model(project: Path, model: str, **hyperparameters: object) -> None:
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text(encoding="utf-8"))
    params["train"]["model"] = model
    params["train"].setdefault(model, {}).update(hyperparameters)
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")


def aliases(project: Path) -> dict[str, str]:
    with sqlite3.connect(project / "mlflow.db") as db:
        rows = db.execute("SELECT alias, version FROM registered_model_aliases").fetchall()
    return {alias: str(version) for alias, version in rows}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def promote_step(project: Path, *env: str) -> dict:
    """`make promote`; `env` (NAME=value) reaches it through env(1), because the shared
    test environment drops MLFLOW_TRACKING_URI on purpose."""
    result = run(["env", *env, "make", "promote", f"VENV={SHARED_VENV}"], project, check=False)
    step = {"returncode": result.returncode, "stdout": result.stdout, "stderr": result.stderr}
    record = project / "reports" / "promotion" / "record.json"
    step["record_text"] = record.read_text(encoding="utf-8") if record.exists() else None
    step["record"] = None if step["record_text"] is None else json.loads(step["record_text"])
    card = project / "reports" / "promotion" / "model_card.md"
    step["card"] = card.read_text(encoding="utf-8") if card.exists() else ""
    step["aliases"] = aliases(project)
    print(f"\n[promote] {result.stdout.strip().splitlines()[-1] if result.stdout else ''}")
    print(f"[promote] stderr tail: {result.stderr.strip()[-400:]}")
    print(f"[promote] aliases: {step['aliases']}")
    return step


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    project = render_project(tmp_path_factory.mktemp("promote"))
    steps = {}
    # A single decision stump: weak, but above the roc_auc floor of 0.75.
    set_model(project, "random_forest", n_estimators=1, max_depth=1)
    make(project, "repro")
    steps["first"] = promote_step(project)
    set_model(project, "logistic_regression")
    make(project, "repro")
    steps["better"] = promote_step(project)
    set_model(project, "random_forest", n_estimators=2, max_depth=1)
    make(project, "repro")
    steps["worse"] = promote_step(project)
    (project / "reports" / "promotion" / "record.json").unlink()
    steps["unreachable"] = promote_step(
        project,
        f"MLFLOW_TRACKING_URI=http://ci:secret-token@127.0.0.1:{free_port()}",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES=0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT=5",
    )
    steps["unreachable"]["local_aliases"] = aliases(project)
    return steps


def test_first_model_is_promoted_when_it_reaches_the_floor(history):
    step = history["first"]
    assert step["returncode"] == 0, step["stderr"]
    assert step["record"]["decision"] == "promoted"
    assert step["record"]["reason"].startswith("first model: roc_auc")
    assert step["aliases"] == {"champion": "1"}


def test_better_candidate_becomes_champion_and_old_one_is_kept(history):
    step = history["better"]
    assert step["returncode"] == 0, step["stderr"]
    record = step["record"]
    assert record["decision"] == "promoted"
    assert record["candidate_metric"] > record["champion_metric"]
    assert record["interval"][0] > 0
    assert step["aliases"] == {"champion": "2", "previous-champion": "1"}


def test_worse_candidate_is_not_promoted_and_the_card_says_why(history):
    step = history["worse"]
    assert step["returncode"] == 0, step["stderr"]
    record = step["record"]
    assert record["decision"] == "not promoted"
    assert record["candidate_metric"] < record["champion_metric"]
    assert step["aliases"] == {"champion": "2", "previous-champion": "1"}
    assert "**Decision: not promoted.**" in step["card"]
    assert "champion unchanged" in step["card"]
    assert f"{record['champion_metric']:.4f}" in step["card"]
    assert "version 3 not promoted" in step["stdout"]


def test_model_card_records_the_lineage(history):
    card = history["better"]["card"]
    record = history["better"]["record"]
    assert f"`{record['commit']}`" in card
    assert record["run_id"] in card
    assert record["data"]["test"] in card
    assert "Trigger: local run by" in card


def test_unreachable_registry_fails_loudly_and_leaves_the_alias(history):
    step = history["unreachable"]
    assert step["returncode"] != 0
    assert "is unreachable or failed" in step["stderr"]
    assert "'champion' was not moved" in step["stderr"]
    assert "secret-token" not in step["stderr"] + step["stdout"]
    assert step["record"] is None
    assert step["local_aliases"] == {"champion": "2", "previous-champion": "1"}


# --- a rare class: the test split holds a single positive row ----------------------------------

# The CSV of cases bug-04-extreme-imbalance-recall-zero-promoted and
# bug-12-bootstrap-interval-nan-rare-class (the same file): 237 rows of class 0, 3 of class 1.
RARE_CLASS_CSV = (
    Path(__file__).parent
    / "data/real_data/bug-04-extreme-imbalance-recall-zero-promoted/dataset.csv"
)


def strict_json(text: str) -> Any:
    """json.loads that refuses NaN and Infinity tokens, as strict JSON parsers do."""

    def refuse(token: str) -> None:
        raise ValueError(f"{token} is not JSON")

    return json.loads(text, parse_constant=refuse)


def set_param(project: Path, pattern: str, replacement: str) -> None:
    path = project / "params.yaml"
    text, count = re.subn(pattern, replacement, path.read_text(encoding="utf-8"), flags=re.M)
    assert count == 1, pattern
    path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def rare_class(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    project = render_project(tmp_path_factory.mktemp("rare-class"), dataset="csv")
    shutil.copy(RARE_CLASS_CSV, project / "data" / "raw" / "dataset.csv")
    make(project, "expectations")
    make(project, "repro")
    steps = {"default": promote_step(project)}
    # The user lowers the setting the refusal names, then trains a second candidate.
    set_param(project, r"^  min_class_rows: 5$", "  min_class_rows: 1")
    make(project, "repro")
    steps["lowered"] = promote_step(project)
    set_param(project, r"^    C: 1\.0$", "    C: 100.0")
    make(project, "repro")
    steps["second"] = promote_step(project)
    return steps


def test_a_single_positive_test_row_is_not_enough_to_promote_the_first_model(rare_class):
    # bug-04: the model never predicts class 1, its roc_auc 0.89 rests on one positive row
    step = rare_class["default"]
    assert step["returncode"] == 0, step["stderr"]
    refusal = (
        "promote: version 1 not promoted: the test split holds 1 row of class 1 "
        "(< evaluate.min_class_rows 5): too few examples to judge roc_auc; add data or lower "
        "the setting"
    )
    assert refusal in step["stdout"]
    record = strict_json(step["record_text"])
    assert record["decision"] == "not promoted"
    assert record["test_rows_per_class"] == {"0": 47, "1": 1}
    assert step["aliases"] == {}  # no champion on that evidence
    assert "(47 of class 0, 1 of class 1; evaluate.min_class_rows 5)" in step["card"]


def test_lowered_min_class_rows_promotes_the_first_model_on_the_floor(rare_class):
    step = rare_class["lowered"]
    assert step["record"]["reason"].startswith("first model: roc_auc 0.8936")
    assert step["aliases"] == {"champion": "1"}


def test_rare_class_bootstrap_interval_is_finite_and_counts_its_resamples(rare_class):
    # bug-12: resamples missing the positive row made the interval [nan, nan]
    step = rare_class["second"]
    assert step["returncode"] == 0, step["stderr"]
    record = strict_json(step["record_text"])
    assert all(math.isfinite(bound) for bound in record["interval"])
    assert (record["resamples_requested"], record["resamples_scored"]) == (1000, 1000)
    assert "UndefinedMetricWarning" not in step["stderr"]
    assert "nan" not in record["reason"].lower()
    assert "1000 of 1000 resamples scored, stratified by class" in step["card"]
    assert step["aliases"]["champion"] in {"1", "2"}
