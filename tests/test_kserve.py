"""deploy_target=kserve: the generated InferenceService manifests, validated against the
KServe CRD fields they use (tests/kserve/inferenceservice.schema.json, a hand-written subset:
the CRD cannot be downloaded offline). Applying them needs a cluster (docs/deployment.md)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.conftest import SHARED_VENV, render_project, run

SCHEMA = json.loads((Path(__file__).parent / "kserve" / "inferenceservice.schema.json").read_text())
STORAGE = "s3://models-bucket/mlartifacts/1/models/m-0123/artifacts"


def validate(manifest: dict) -> None:
    jsonschema.validate(manifest, SCHEMA, cls=jsonschema.Draft202012Validator)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_project(tmp_path_factory.mktemp("kserve"), deploy_target="kserve")


def manifest(project: Path, *args: str, check: bool = True):
    python = str(SHARED_VENV / "bin" / "python")
    result = run(
        [python, "-m", "my_ml_project.deploy", "manifest", "--version", "3", *args],
        project,
        check=check,
        PYTHONPATH=str(project / "src"),
    )
    out = project / "kserve" / "rendered.yaml"
    return result, (yaml.safe_load(out.read_text()) if check else None)


def test_template_manifest_is_a_valid_inference_service(project):
    template = yaml.safe_load((project / "kserve" / "inferenceservice.yaml").read_text())
    validate(template)
    assert template["spec"]["predictor"]["model"]["modelFormat"]["name"] == "mlflow"
    assert template["metadata"]["name"] == "my-ml-project"


@pytest.mark.parametrize("canary", [0, 10, 50])
def test_canary_step_manifest_sets_the_traffic_share_and_version(project, canary):
    _, rendered = manifest(project, "--storage-uri", STORAGE, "--canary", str(canary))
    validate(rendered)
    predictor = rendered["spec"]["predictor"]
    assert predictor["canaryTrafficPercent"] == canary
    assert predictor["model"]["storageUri"] == STORAGE
    assert rendered["metadata"]["annotations"]["gitops-ml/model-version"] == "3"


def test_full_rollout_omits_the_canary_field(project):
    _, rendered = manifest(project, "--storage-uri", STORAGE, "--canary", "100")
    validate(rendered)
    assert "canaryTrafficPercent" not in rendered["spec"]["predictor"]


def test_schema_rejects_what_the_cluster_would_reject():
    bad = yaml.safe_load(
        """
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: My_Model}
spec:
  predictor:
    canaryTrafficPercent: 150
    model: {modelFormat: {name: mlflow}, storageUri: s3://b/m}
"""
    )
    errors = sorted(e.message for e in jsonschema.Draft202012Validator(SCHEMA).iter_errors(bad))
    assert any("150 is greater than the maximum of 100" in e for e in errors)
    assert any("does not match" in e for e in errors)


def test_local_model_store_is_refused_with_a_clear_message(project):
    result, _ = manifest(project, "--storage-uri", "/tmp/mlartifacts/1", check=False)
    assert result.returncode == 1
    assert "KServe cannot read the model from '/tmp/mlartifacts/1'" in result.stderr


def test_local_projects_have_no_kserve_files(tmp_path):
    project = render_project(tmp_path, deploy_target="local")
    assert not (project / "kserve").exists()
    release = (project / ".github" / "workflows" / "release.yml").read_text()
    assert "target: local" in release and "kubectl" not in release
