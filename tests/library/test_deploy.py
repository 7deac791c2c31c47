"""The canary checks (canary.py) and the nginx configuration of the local deployment
(serve/local.py).

The real processes (nginx, MLflow scoring servers) are exercised by `gitops-ml deploy`; these tests
pin the decisions: which share goes where, and which numbers fail a canary step.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pandas as pd
import pytest

from gitops_ml.canary import Answer, agreement, check_step
from gitops_ml.errors import PipelineError
from gitops_ml.params import DeployParams, ParamsError, parse_params
from gitops_ml.serve.local import (
    Server,
    compare_variants,
    nginx_config,
    served_by,
    server_error,
)

STABLE, CANDIDATE = Server("1", 8001), Server("2", 8002)


def answers(variant: str, count: int, status: int = 200, seconds: float = 0.01) -> list[Answer]:
    return [Answer(status, seconds, variant) for _ in range(count)]


def test_config_splits_traffic_by_weight_and_names_the_versions(tmp_path):
    conf = nginx_config(tmp_path, 9000, STABLE, CANDIDATE, 10, 3)
    assert "10% candidate;" in conf
    assert "* stable;" in conf
    assert "server 127.0.0.1:8002" in conf
    assert "candidate 2;" in conf and "stable 1;" in conf
    assert "listen 127.0.0.1:9000;" in conf
    assert '"generation": 3' in conf
    assert "@" not in conf


@pytest.mark.parametrize(("weight", "route"), [(0, "* stable;"), (100, "* candidate;")])
def test_config_sends_everything_to_one_side_at_the_ends(tmp_path, weight, route):
    conf = nginx_config(tmp_path, 9000, STABLE, CANDIDATE, weight, 1)
    assert route in conf
    assert "% candidate" not in conf


@pytest.mark.skipif(
    shutil.which("nginx") is None and os.environ.get("CI") != "true",
    reason="nginx is not installed (make deploy needs it; CI must have it)",
)
def test_nginx_accepts_the_generated_config(tmp_path):
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / "tmp" / sub).mkdir(parents=True)
    conf = tmp_path / "nginx.conf"
    conf.write_text(nginx_config(tmp_path, 9000, STABLE, CANDIDATE, 50, 1), encoding="utf-8")
    checked = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-e", str(tmp_path / "e.log"), "-c", str(conf)],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr


def test_healthy_step_passes():
    traffic = answers("stable", 36) + answers("candidate", 4)
    assert check_step(traffic, 1.0, DeployParams(), 10) == []


def test_server_errors_fail_the_step():
    traffic = answers("stable", 36) + answers("candidate", 4, status=502)
    assert check_step(traffic, 1.0, DeployParams(), 10) == ["error rate 10.00% > 0.00%"]


def test_slow_candidate_fails_the_step():
    traffic = answers("stable", 30) + answers("candidate", 10, seconds=2.0)
    failures = check_step(traffic, 1.0, DeployParams(max_p95_latency_ms=500), 10)
    assert failures == ["candidate p95 latency 2000 ms > 500.0 ms"]


def test_disagreeing_candidate_fails_the_step():
    traffic = answers("stable", 30) + answers("candidate", 10)
    failures = check_step(traffic, 0.5, DeployParams(), 50)
    assert failures == ["candidate agrees with the stable model on 50% of probe rows < 90%"]


def test_candidate_that_served_nothing_fails_the_step():
    assert check_step(answers("stable", 40), 1.0, DeployParams(), 50) == [
        "the candidate served none of 40 requests"
    ]


def test_agreement_compares_classes_or_values_within_tolerance():
    assert agreement([0, 1, 1, 0], [0, 1, 0, 0], "classification", 0.1) == 0.75
    stable = [10.0, 20.0, 30.0, 40.0]  # spread (std) about 11.2
    assert agreement(stable, [10.5, 20.5, 35.0, 40.0], "regression", 0.1) == 0.75
    assert agreement([1, 2], [1], "classification", 0.1) == 0.0


def test_canary_steps_must_rise_to_100():
    with pytest.raises(ValueError, match="must end at 100"):
        DeployParams(canary_steps=[10, 50])
    with pytest.raises(ValueError, match="increase strictly"):
        DeployParams(canary_steps=[50, 10, 100])


def test_params_file_deploy_and_promote_sections_are_valid(project):
    import yaml

    raw = yaml.safe_load((project.root / "params.yaml").read_text(encoding="utf-8"))
    params = parse_params(raw)
    assert params.deploy.canary_steps[-1] == 100
    assert params.promote is not None
    raw["promote"]["metric"] = "not_a_metric"
    with pytest.raises(ParamsError, match="promote.metric 'not_a_metric'"):
        parse_params(raw)


def test_server_error_names_the_cause_not_the_wrapper():
    log = (
        "Traceback (most recent call last):\n"
        "RuntimeError: this model cannot be loaded\n"
        "Exception: Command 'uvicorn ...' returned non zero return code. Return code = 1\n"
    )
    assert server_error(log) == "RuntimeError: this model cannot be loaded"
    assert server_error("") == "no output"


ACCESS_LOG = """\
2026-01-01T00:00:00+00:00 200 POST /invocations id=r1 variant=stable version=1 upstream=a rt=0.01
2026-01-01T00:00:01+00:00 200 POST /invocations id=r2 variant=candidate version=2 upstream=b rt=0.01
2026-01-01T00:00:02+00:00 400 POST /invocations id=r3 variant=candidate version=2 upstream=b rt=0.01
2026-01-01T00:00:03+00:00 200 GET /ping id=r4 variant=stable version=1 upstream=a rt=0.00
"""


def test_access_log_tells_which_variant_answered_each_request():
    served = served_by(ACCESS_LOG)
    assert served.to_dict("records") == [
        {"id": "r1", "variant": "stable", "version": "1"},
        {"id": "r2", "variant": "candidate", "version": "2"},
    ]


def test_ab_comparison_scores_each_variant_on_its_own_requests():
    served = pd.DataFrame(
        {
            "id": [f"s{i}" for i in range(20)] + [f"c{i}" for i in range(20)],
            "variant": ["stable"] * 20 + ["candidate"] * 20,
            "version": ["1"] * 20 + ["2"] * 20,
        }
    )
    outcomes = pd.DataFrame(
        {
            "request_id": list(served["id"]) + ["unknown"],
            "prediction": [1] * 10 + [0] * 10 + [1] * 20 + [1],
            "label": [1] * 40 + [0],
            "variant": "whatever the client noted",  # extra columns are ignored
        }
    )
    result = compare_variants(served, outcomes, "classification", resamples=200)
    assert result["stable"] == {"version": "1", "rows": 20, "accuracy": 0.5}
    assert result["candidate"] == {"version": "2", "rows": 20, "accuracy": 1.0}
    assert result["difference"] == 0.5
    assert 0 < result["interval_95"][0] <= 0.5 <= result["interval_95"][1]
    assert result["unmatched"] == 1


def test_ab_comparison_names_the_missing_columns():
    with pytest.raises(PipelineError, match="request_id, prediction, label"):
        compare_variants(pd.DataFrame(), pd.DataFrame({"request_id": []}), "regression")
