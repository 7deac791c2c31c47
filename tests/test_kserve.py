"""deploy_target=kserve: the generated InferenceService manifests, validated against KServe's
published API types (the kserve SDK's OpenAPI models, tests/kserve_api.py), and the Makefile
targets of the rollout. The rollout driver itself (gitops_ml.serve.kserve) is unit-tested by
tests/library/test_kserve_rollout.py; applying the manifests needs a cluster
(docs/deployment.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from gitops_ml.serve.kserve import MODE_ANNOTATION, TAG_ROUTING, kserve_manifest
from tests.conftest import ROOT, SHARED_VENV, make, render_project, run
from tests.kserve_api import KSERVE_VERSION, validate

STORAGE = "s3://models-bucket/mlartifacts/1/models/m-0123/artifacts"
STABLE = "s3://models-bucket/mlartifacts/1/models/m-0042/artifacts"
API = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService"}
# Where the rollout commands write their outcome for the deploy action (the Makefile's default).
RESULT = "--result reports/deploy/result.json"


def assert_valid(manifest: dict) -> None:
    assert {key: manifest.get(key) for key in API} == API
    assert validate(manifest) == []


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_project(tmp_path_factory.mktemp("kserve"), deploy_target="kserve")


def manifest(project: Path, *args: str, check: bool = True):
    gitops_ml = str(SHARED_VENV / "bin" / "gitops-ml")
    result = run([gitops_ml, "kserve", "manifest", "--version", "3", *args], project, check=check)
    out = project / "kserve" / "rendered.yaml"
    return result, (yaml.safe_load(out.read_text()) if check else None)


def test_template_manifest_is_a_valid_inference_service(project):
    template = yaml.safe_load((project / "kserve" / "inferenceservice.yaml").read_text())
    assert_valid(template)
    assert template["spec"]["predictor"]["model"]["modelFormat"]["name"] == "mlflow"
    assert template["metadata"]["name"] == "my-ml-project"


@pytest.mark.parametrize("canary", [0, 10, 50])
def test_canary_step_manifest_sets_the_traffic_share_and_version(project, canary):
    _, rendered = manifest(project, "--storage-uri", STORAGE, "--canary", str(canary))
    assert_valid(rendered)
    predictor = rendered["spec"]["predictor"]
    assert predictor["canaryTrafficPercent"] == canary
    assert predictor["model"]["storageUri"] == STORAGE
    assert rendered["metadata"]["annotations"]["gitops-ml/model-version"] == "3"


def test_full_rollout_omits_the_canary_field(project):
    _, rendered = manifest(project, "--storage-uri", STORAGE, "--canary", "100")
    assert_valid(rendered)
    assert "canaryTrafficPercent" not in rendered["spec"]["predictor"]


def test_rendered_manifest_turns_on_tag_routing(project):
    _, rendered = manifest(project, "--storage-uri", STORAGE, "--canary", "10")
    assert rendered["metadata"]["annotations"]["serving.kserve.io/enable-tag-routing"] == "true"
    # detect, without a cluster to ask and no mode in the template: Serverless
    assert rendered["metadata"]["annotations"][MODE_ANNOTATION] == "Serverless"


def template_of(project: Path) -> dict:
    return yaml.safe_load((project / "kserve" / "inferenceservice.yaml").read_text())


@pytest.mark.parametrize("canary", [0, 10, 50])
def test_standard_canary_step_is_a_valid_spec_canary_entry(project, canary):
    # KServe >= 0.20, Standard mode: the stable version stays the predictor, the candidate is
    # the one spec.canary entry (V1beta1CanarySpec: predictor with a name, trafficPercent)
    rendered = kserve_manifest(template_of(project), STORAGE, "3", canary, "standard",
                               ("2", STABLE))  # fmt: skip
    assert_valid(rendered)
    annotations = rendered["metadata"]["annotations"]
    assert annotations[MODE_ANNOTATION] == "Standard" and TAG_ROUTING not in annotations
    predictor = rendered["spec"]["predictor"]
    assert "canaryTrafficPercent" not in predictor  # ignored in Standard mode (kserve#5335)
    assert (predictor["name"], predictor["model"]["storageUri"]) == ("v2", STABLE)
    [entry] = rendered["spec"]["canary"]
    assert entry["trafficPercent"] == canary
    assert entry["predictor"]["name"] == "v3"
    assert entry["predictor"]["model"] == {**predictor["model"], "storageUri": STORAGE}


def test_standard_full_rollout_renames_the_predictor_and_drops_the_canary(project):
    rendered = kserve_manifest(template_of(project), STORAGE, "3", 100, "standard", ("2", STABLE))
    assert_valid(rendered)
    assert "canary" not in rendered["spec"]
    assert rendered["spec"]["predictor"]["name"] == "v3"
    assert rendered["spec"]["predictor"]["model"]["storageUri"] == STORAGE


def test_validator_checks_the_canary_entries():
    spec = {"predictor": {"model": {"modelFormat": {"name": "mlflow"}}},
            "canary": [{"traffic": 10, "predictor": {"name": "v2"}}]}  # fmt: skip
    errors = validate({**API, "metadata": {"name": "m"}, "spec": spec})
    assert errors == [
        "spec.canary[0].traffic: unknown field (not in V1beta1CanarySpec)",
        "spec.canary[0]: required field trafficPercent is missing",
    ]


BAD = """
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: m, annotation: {a: b}}
spec:
  predictor:
    canaryTrafficPercentage: 10
    minReplicas: "1"
    model:
      storageUri: s3://b/m
      resources: {limits: {cpu: 1}}
"""


def test_validator_names_a_misspelled_field_with_its_path():
    errors = validate(yaml.safe_load(BAD))
    assert (
        "spec.predictor.canaryTrafficPercentage: unknown field (not in V1beta1PredictorSpec)"
        in (errors)
    )
    assert "metadata.annotation: unknown field (not in V1ObjectMeta)" in errors


def test_validator_rejects_wrong_types_and_missing_required_fields():
    errors = validate(yaml.safe_load(BAD))
    assert "spec.predictor.minReplicas: expected int, got str '1'" in errors
    assert "spec.predictor.model.resources.limits.cpu: expected str, got int 1" in errors
    assert "spec.predictor.model: required field modelFormat is missing" in errors
    assert len(errors) == 5, errors


def test_validator_checks_nested_kubernetes_types():
    pod = {"containers": [{"image": "x", "ports": [{"containerPort": "8080"}]}]}
    errors = validate({**API, "metadata": {"name": "m"}, "spec": {"predictor": pod}})
    assert errors == [
        "spec.predictor.containers[0].ports[0].containerPort: expected int, got str '8080'",
        "spec.predictor.containers[0]: required field name is missing",
    ]


def test_kserve_sdk_is_pinned_by_hash_where_make_env_installs_it():
    pinned = (ROOT / "requirements-nodeps.txt").read_text()
    assert re.search(
        rf"^kserve=={re.escape(KSERVE_VERSION)} \\\n\s+--hash=sha256:[0-9a-f]{{64}}$", pinned, re.M
    )
    assert "requirements-nodeps.txt" in (ROOT / "Makefile").read_text()


@pytest.mark.parametrize(
    ("target", "command"),
    [
        ("kserve-deploy", f"gitops-ml kserve deploy --namespace ml {RESULT} --version 3"),
        ("kserve-rollback", f"gitops-ml kserve rollback --namespace ml {RESULT} --version 3"),
        ("kserve-undeploy", f"gitops-ml kserve undeploy --namespace ml {RESULT}"),
    ],
)
def test_make_targets_run_the_rollout_driver(project, target, command):
    dry = make(project, "-n", target, "VERSION=3", "NAMESPACE=ml")
    assert re.sub(r'["\s]+', " ", dry.stdout).strip().endswith(command)


def test_local_model_store_is_refused_with_a_clear_message(project):
    result, _ = manifest(project, "--storage-uri", "/tmp/mlartifacts/1", check=False)
    assert result.returncode == 1
    assert "KServe cannot read the model from '/tmp/mlartifacts/1'" in result.stderr


def test_local_projects_have_no_kserve_files(tmp_path):
    project = render_project(tmp_path, deploy_target="local")
    assert not (project / "kserve").exists()
    assert "kserve" not in (project / "Makefile").read_text()
    release = (project / ".github" / "workflows" / "release.yml").read_text()
    assert "target: local" in release and "kubectl" not in release
