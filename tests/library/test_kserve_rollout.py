"""The KServe rollout driver (serve/kserve.py), run in-process against a fake cluster.

kubectl is a recording fake that keeps an InferenceService's state the way KServe's Knative
reconciler does (a new revision per spec change, `latest`/`prev` traffic tags during a canary,
promotion when canaryTrafficPercent is omitted), or, for Standard mode, the way KServe 0.20+'s
raw reconciler handles `spec.canary` (one Deployment and Service per named predictor, the
`CanaryReady` condition and `status.canaryStatuses`, as kserve/kserve#5672 describes them).
Predictions come from a real HTTP endpoint speaking the Open Inference Protocol (v2) as
MLServer's MLflow runtime does, answering with the real MLflow pyfunc model of each revision.

Why not MLServer itself: mlserver 1.7.1 and mlserver-mlflow 1.7.1 install beside mlflow 3.17
only in a separate environment, because MLServer requires fastapi<0.116 and this project's
lock pins a newer fastapi for mlflow. In such a scratch environment MLServer served an MLflow
sklearn model and answered {"parameters": {"content_type": "pd"}, "inputs": [{"name": col,
"shape": [n, 1], "datatype": "FP64", "data": [...]}, ...]} with {"model_name": ...,
"outputs": [{"name": "output-1", "shape": [n, 1], "datatype": "INT64", "data": [...]}]},
a schema violation with 500 and an unknown model with 404: the server below reproduces that.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from gitops_ml import tracking
from gitops_ml.errors import PipelineError
from gitops_ml.params import LibraryParams
from gitops_ml.serve import kserve
from gitops_ml.serve.kserve import Result, Rollout
from gitops_ml.tables import split_target

from .helpers import Project, fit_pipeline

NAME = "isvc-under-test"


def storage(version: str) -> str:
    return f"s3://models-bucket/{NAME}/v{version}"


# --- a V2 endpoint answering with real pyfunc models ------------------------------------------


def decode_pandas(request: dict[str, Any]) -> pd.DataFrame:
    """MLServer's pandas codec: one column per input, `shape` [n, 1]."""
    if request.get("parameters", {}).get("content_type") != "pd":
        raise ValueError("expected content_type pd")
    return pd.DataFrame({i["name"]: list(i["data"]) for i in request["inputs"]})


class V2Server(ThreadingHTTPServer):
    """Routes /r/<revision>/v2/... to one revision and /svc/v2/... to the canary split
    (every request n goes to the candidate when n % 100 < its share)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.models: dict[str, Any] = {}  # revision -> pyfunc model
        self.split: tuple[str, str | None, int] = ("", None, 0)  # latest, prev, share
        self.counter = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def revision_for(self, prefix: str) -> str | None:
        if prefix.startswith("/r/"):
            return prefix[3:]
        latest, prev, share = self.split
        with self.lock:
            self.counter += 1
            n = self.counter
        return latest if prev is None or n % 100 < share else prev


class Handler(BaseHTTPRequestHandler):
    server: V2Server

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def route(self) -> tuple[Any, str]:
        prefix, _, rest = self.path.partition("/v2/")
        revision = self.server.revision_for(prefix)
        return self.server.models.get(revision or ""), "/v2/" + rest

    def answer(self, status: int, body: dict[str, Any] | str = "") -> None:
        data = (json.dumps(body) if isinstance(body, dict) else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        model, path = self.route()
        if model is None:
            self.answer(503, "revision not running")
        elif path in ("/v2/health/ready", f"/v2/models/{NAME}/ready"):
            self.answer(200)
        else:
            self.answer(404, {"error": f"Model {path} not found"})

    def do_POST(self) -> None:  # noqa: N802
        model, path = self.route()
        length = int(self.headers.get("Content-Length", 0))
        request = json.loads(self.rfile.read(length))
        if model is None:
            self.answer(503, "revision not running")
            return
        if path != f"/v2/models/{NAME}/infer":
            self.answer(404, {"error": f"Model {path} not found"})
            return
        try:
            predicted = pd.Series(model.predict(decode_pandas(request))).tolist()
        except Exception as exc:  # MLServer answers a failed predict with 500
            self.answer(500, {"error": str(exc)})
            return
        datatype = "INT64" if all(isinstance(v, int) for v in predicted) else "FP64"
        self.answer(
            200,
            {
                "model_name": NAME,
                "parameters": {"content_type": "np"},
                "outputs": [
                    {"name": "output-1", "shape": [len(predicted), 1], "datatype": datatype,
                     "parameters": {"content_type": "np"}, "data": predicted}
                ],
            },
        )  # fmt: skip


# --- a fake kubectl keeping KServe's state ----------------------------------------------------


class FakeCluster:
    """`kubectl apply|wait|get|delete` for one InferenceService; records every call."""

    def __init__(self, server: V2Server, models: dict[str, Any], broken: set[str]) -> None:
        self.server, self.models, self.broken = server, models, broken
        self.calls: list[list[str]] = []
        self.applied: list[dict[str, Any]] = []  # the manifests, in order
        self.isvc: dict[str, Any] | None = None
        self.generation = 0
        self.revisions: list[dict[str, Any]] = []  # name, uri, version, ready
        self.rolled_out: str | None = None
        self.previous: str | None = None

    def __call__(self, args: list[str]) -> Result:
        self.calls.append(list(args))
        verb = args[0]
        if verb == "apply":
            return self.apply(yaml.safe_load(Path(args[args.index("-f") + 1]).read_text()))
        if verb == "wait":
            latest = self.revisions[-1] if self.revisions else None
            if latest and latest["ready"]:
                return Result(0, f"inferenceservice.serving.kserve.io/{NAME} condition met\n")
            return Result(1, "", f"error: timed out waiting for the condition on {NAME}\n")
        if verb == "get" and args[1] == "inferenceservice":
            if self.isvc is None:
                return Result(1, "", f'Error from server (NotFound): "{NAME}" not found\n')
            return Result(0, json.dumps(self.status()))
        if verb == "get" and args[1].startswith("revisions"):
            revision = next(r for r in self.revisions if r["name"] == args[2])
            annotations = {kserve.VERSION_ANNOTATION: revision["version"]}
            return Result(0, json.dumps({"metadata": {"annotations": annotations}}))
        if verb == "get" and args[1] == "configmap":
            return config_map("Serverless")
        if verb == "delete":
            existed, self.isvc = self.isvc is not None, None
            return Result(0, f'inferenceservice "{NAME}" deleted\n' if existed else "")
        raise AssertionError(f"unexpected kubectl call {args}")

    def apply(self, manifest: dict[str, Any]) -> Result:
        assert manifest["metadata"]["annotations"][kserve.TAG_ROUTING] == "true"
        self.applied.append(manifest)
        self.isvc = manifest
        self.generation += 1
        uri = manifest["spec"]["predictor"]["model"]["storageUri"]
        version = manifest["metadata"]["annotations"][kserve.VERSION_ANNOTATION]
        if not self.revisions or self.revisions[-1]["uri"] != uri:
            name = f"{NAME}-predictor-{len(self.revisions) + 1:05d}"
            ready = uri not in self.broken
            self.revisions.append({"name": name, "uri": uri, "version": version, "ready": ready})
            if ready:
                self.server.models[name] = self.models[uri]
        latest = self.revisions[-1]
        canary = manifest["spec"]["predictor"].get("canaryTrafficPercent")
        promoted = latest["ready"] and (canary is None or self.rolled_out is None)
        if promoted and self.rolled_out != latest["name"]:
            self.previous, self.rolled_out = self.rolled_out, latest["name"]
        return Result(0, f"inferenceservice.serving.kserve.io/{NAME} configured\n")

    def latest_ready(self) -> str:
        return next(r["name"] for r in reversed(self.revisions) if r["ready"])

    def status(self) -> dict[str, Any]:
        assert self.isvc is not None
        canary = self.isvc["spec"]["predictor"].get("canaryTrafficPercent")
        latest = self.latest_ready()  # Knative's latestRevision: true is the latest READY one
        url = self.server.url
        traffic = [{"tag": "latest", "latestRevision": True, "revisionName": latest,
                    "percent": 100, "url": f"{url}/r/{latest}"}]  # fmt: skip
        if canary is not None and self.rolled_out and canary < 100:
            traffic[0]["percent"] = canary
            prev = self.rolled_out
            traffic.append({"tag": "prev", "latestRevision": False, "revisionName": prev,
                            "percent": 100 - canary, "url": f"{url}/r/{prev}"})  # fmt: skip
            self.server.split = (latest, self.rolled_out, canary)
        else:
            self.server.split = (latest, None, 100)
        created = self.revisions[-1]
        ready = "True" if created["ready"] else "False"
        conditions = [{"type": "Ready", "status": ready}]
        if not created["ready"]:
            failed = {"reason": "RevisionFailed", "message": "model failed to load"}
            conditions.append({"type": "PredictorReady", "status": "False", **failed})
        return {
            "metadata": {**self.isvc["metadata"], "generation": self.generation},
            "spec": self.isvc["spec"],
            "status": {
                "observedGeneration": self.generation,
                "url": f"{url}/svc",
                "conditions": conditions,
                "components": {
                    "predictor": {
                        "latestCreatedRevision": created["name"],
                        "latestReadyRevision": latest,
                        "latestRolledoutRevision": self.rolled_out,
                        "previousRolledoutRevision": self.previous,
                        "traffic": traffic,
                    }
                },
            },
        }

    def canaries(self) -> list[int | None]:
        return [m["spec"]["predictor"].get("canaryTrafficPercent") for m in self.applied]


def config_map(mode: str) -> Result:
    """`kubectl get configmap inferenceservice-config -o json` of a cluster defaulting to mode."""
    deploy = json.dumps({"defaultDeploymentMode": mode})
    return Result(0, json.dumps({"data": {"deploy": deploy}}))


class FakeStandardCluster:
    """KServe >= 0.20 in Standard mode: `spec.canary` gets one Deployment per named predictor.

    Traffic: the canary entry's `trafficPercent` to its predictor, the rest to the stable one
    (Gateway API weights); status: `Ready` (stable), `CanaryReady` and `canaryStatuses`.
    Variants answer at http://<isvc>-<name>-predictor.ml.svc.cluster.local (see `routed`).
    """

    def __init__(self, server: V2Server, models: dict[str, Any], broken: set[str]) -> None:
        self.server, self.models, self.broken = server, models, broken
        self.calls: list[list[str]] = []
        self.applied: list[dict[str, Any]] = []
        self.isvc: dict[str, Any] | None = None
        self.generation = 0
        self.deployments: dict[str, dict[str, Any]] = {}  # predictor name -> uri, ready

    def __call__(self, args: list[str]) -> Result:
        self.calls.append(list(args))
        verb = args[0]
        if verb == "apply":
            return self.apply(yaml.safe_load(Path(args[args.index("-f") + 1]).read_text()))
        if verb == "wait":
            return Result(0, f"inferenceservice.serving.kserve.io/{NAME} condition met\n")
        if verb == "get" and args[1] == "inferenceservice":
            if self.isvc is None:
                return Result(1, "", f'Error from server (NotFound): "{NAME}" not found\n')
            return Result(0, json.dumps(self.status()))
        if verb == "get" and args[1] == "configmap":
            return config_map("Standard")
        raise AssertionError(f"unexpected kubectl call {args}")

    def predictors(self, manifest: dict[str, Any]) -> list[dict[str, Any]]:
        spec = manifest["spec"]
        return [spec["predictor"]] + [c["predictor"] for c in spec.get("canary", [])]

    def apply(self, manifest: dict[str, Any]) -> Result:
        assert manifest["metadata"]["annotations"][kserve.MODE_ANNOTATION] == "Standard"
        assert kserve.TAG_ROUTING not in manifest["metadata"]["annotations"]
        assert "canaryTrafficPercent" not in manifest["spec"]["predictor"]  # ignored here
        self.applied.append(manifest)
        self.isvc, self.generation = manifest, self.generation + 1
        for predictor in self.predictors(manifest):
            name, uri = predictor["name"], predictor["model"]["storageUri"]
            if self.deployments.get(name, {}).get("uri") != uri:
                ready = uri not in self.broken
                self.deployments[name] = {"uri": uri, "ready": ready}
                self.server.models.pop(deployment(name), None)
                if ready:
                    self.server.models[deployment(name)] = self.models[uri]
        return Result(0, f"inferenceservice.serving.kserve.io/{NAME} configured\n")

    def status(self) -> dict[str, Any]:
        assert self.isvc is not None
        stable = self.isvc["spec"]["predictor"]["name"]
        canaries = self.isvc["spec"].get("canary", [])
        statuses = [{"name": c["predictor"]["name"], "trafficPercent": c["trafficPercent"],
                     "ready": self.deployments[c["predictor"]["name"]]["ready"]}
                    for c in canaries]  # fmt: skip
        if canaries:
            first = statuses[0]
            share = first["trafficPercent"] if first["ready"] else 0  # kserve/kserve#5984
            self.server.split = (deployment(first["name"]), deployment(stable), share)
        else:
            self.server.split = (deployment(stable), None, 100)
        ready = "True" if self.deployments[stable]["ready"] else "False"
        conditions = [{"type": "Ready", "status": ready}]
        if canaries:
            canary_ready = all(c["ready"] for c in statuses)
            conditions.append({"type": "CanaryReady", "status": str(canary_ready)})
        return {
            "metadata": {
                **self.isvc["metadata"],
                "namespace": "ml",
                "generation": self.generation,
            },  # fmt: skip
            "spec": self.isvc["spec"],
            "status": {
                "observedGeneration": self.generation,
                "deploymentMode": "Standard",
                "url": f"{self.server.url}/svc",
                "conditions": conditions,
                "canaryStatuses": statuses,
            },
        }

    def steps(self) -> list[tuple[str, int | None]]:
        """Each applied manifest as (stable predictor name, canary share or None)."""
        return [
            (m["spec"]["predictor"]["name"],
             m["spec"]["canary"][0]["trafficPercent"] if m["spec"].get("canary") else None)
            for m in self.applied
        ]  # fmt: skip


def deployment(predictor: str) -> str:
    """The Deployment (and Service) KServe names after a Standard-mode predictor."""
    return f"{NAME}-{predictor}-predictor"


def routed(server: V2Server) -> kserve.Http:
    """HTTP where each predictor's cluster-local Service answers as that predictor."""
    real = kserve.http_client()
    service = re.compile(rf"^({NAME}-v\d+-predictor)\.ml\.svc\.cluster\.local$")

    def http(method: str, url: str, body: bytes | None) -> tuple[int, str]:
        parts = urllib.parse.urlsplit(url)
        if match := service.match(parts.hostname or ""):
            url = f"{server.url}/r/{match[1]}{parts.path}"
        return real(method, url, body)

    return http


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pyfunc_models(tmp_path_factory: pytest.TempPathFactory, demo_frame, params: LibraryParams):
    """Real MLflow models: v1 and v2 trained on the demo data (v2: a retrain that predicts
    the same), v3 on reversed targets (it disagrees with them), each saved and loaded back
    through mlflow.pyfunc."""
    import mlflow.pyfunc
    import mlflow.sklearn
    from mlflow.models import infer_signature

    target = params.data.target
    reversed_frame = demo_frame.copy()
    reversed_frame[target] = reversed_frame[target].max() - reversed_frame[target]
    frames = {"1": demo_frame, "2": demo_frame, "3": reversed_frame}
    models = {}
    for version, frame in frames.items():
        model = fit_pipeline(frame, params)
        features = split_target(frame, target)[0]
        path = tmp_path_factory.mktemp("models") / f"v{version}"
        signature = infer_signature(features, model.predict(features))
        trusted = tracking.pipeline_types(model)
        # Declared requirements: MLflow would otherwise infer them in a subprocess (seconds each).
        mlflow.sklearn.save_model(
            model,
            path,
            signature=signature,
            skops_trusted_types=trusted,
            pip_requirements=["scikit-learn"],
        )
        models[storage(version)] = mlflow.pyfunc.load_model(str(path))
    return models


@pytest.fixture
def server():
    v2 = V2Server()
    thread = threading.Thread(target=v2.serve_forever, daemon=True)
    thread.start()
    yield v2
    v2.shutdown()
    v2.server_close()


@pytest.fixture
def rows(demo_frame, params: LibraryParams) -> pd.DataFrame:
    return split_target(demo_frame, params.data.target)[0].head(60)


def make_rollout(
    project: Project, cluster: Any, tmp_path: Path, mode: str = "detect", http: Any = None
) -> Rollout:
    """The driver on the project's own manifest template, with short steps and timeouts."""
    params = project.params
    template = yaml.safe_load((project.root / "kserve" / "inferenceservice.yaml").read_text())
    template["metadata"]["name"] = NAME
    deploy = params.deploy.model_copy(update={"requests_per_step": 6, "kserve_mode": mode})
    fast = params.model_copy(update={"deploy": deploy})
    return Rollout(
        name=NAME,
        template=template,
        params=fast,
        kubectl=cluster,
        http=http or kserve.http_client(),
        storage_uri=storage,
        manifest_path=tmp_path / "rendered.yaml",
        timeout=5,
        poll=0.01,
    )


@pytest.fixture
def deployed(server, pyfunc_models, project, tmp_path, rows):
    """Version 1 rolled out (first revision), as after a first release."""

    def _deployed(broken: set[str] = frozenset()) -> tuple[FakeCluster, Rollout]:
        cluster = FakeCluster(server, pyfunc_models, set(broken))
        rollout = make_rollout(project, cluster, tmp_path)
        rollout.deploy("1", rows)
        cluster.calls.clear()
        cluster.applied.clear()
        return cluster, rollout

    return _deployed


# --- tests ------------------------------------------------------------------------------------


def test_payload_is_a_v2_pandas_request(rows):
    request = json.loads(kserve.v2_payload(rows.head(3)))
    assert request["parameters"] == {"content_type": "pd"}
    first = request["inputs"][0]
    assert first["name"] == rows.columns[0]
    assert first["shape"] == [3, 1]
    assert first["datatype"] in {"FP64", "INT64", "BOOL", "BYTES"}
    assert [i["name"] for i in request["inputs"]] == list(rows.columns)


def test_first_deploy_goes_to_100_without_canary(
    server, pyfunc_models, project, tmp_path, rows, capsys
):
    cluster = FakeCluster(server, pyfunc_models, set())
    url = make_rollout(project, cluster, tmp_path).deploy("1", rows)
    assert cluster.canaries() == [None]
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("deploy: first revision")
    assert out[-1].startswith("canary 100%: ")
    assert out[-1].endswith("agreement n/a (no previous revision): ok")
    assert url == f"{server.url}/svc"


def test_healthy_rollout_applies_every_step_and_promotes(deployed, rows, capsys, params):
    cluster, rollout = deployed()
    capsys.readouterr()
    url = rollout.deploy("2", rows)
    # Then: one manifest per step (10, 50, then 100 without the field), all of version 2
    assert cluster.canaries() == [10, 50, None]
    versions = {m["metadata"]["annotations"][kserve.VERSION_ANNOTATION] for m in cluster.applied}
    assert versions == {"2"}
    assert [c[0] for c in cluster.calls].count("wait") == 3
    assert cluster.rolled_out == cluster.revisions[-1]["name"]
    lines = capsys.readouterr().out.splitlines()
    steps = [line for line in lines if line.startswith("canary ")]
    assert [s.split(":")[0] for s in steps] == ["canary 10%", "canary 50%", "canary 100%"]
    assert all(s.endswith(": ok") for s in steps)
    assert "agreement" in steps[0] and "n/a" not in steps[-1]
    assert lines[-1].startswith("deploy: version 2 serves 100%")
    assert url == f"{cluster.server.url}/svc"


def test_cli_prints_the_url_last(deployed, rows, capsys, monkeypatch, project):
    cluster, rollout = deployed()
    monkeypatch.setattr(kserve, "Rollout", lambda **kw: rollout)
    monkeypatch.setattr(kserve, "probe_rows", lambda params: rows)
    monkeypatch.setattr(kserve, "load_template", lambda path: rollout.template)
    monkeypatch.chdir(project.root)
    capsys.readouterr()
    kserve.main(["deploy", "--version", "2"])
    assert capsys.readouterr().out.splitlines()[-1] == f"{cluster.server.url}/svc"


def test_disagreeing_candidate_is_rolled_back_with_the_reason(deployed, rows, capsys, params):
    cluster, rollout = deployed()
    with pytest.raises(PipelineError) as failure:
        rollout.deploy("3", rows)
    # Then: the 10% step fails on agreement and canary 0 is applied: all traffic on v1
    assert cluster.canaries() == [10, 0]
    assert str(failure.value).startswith("version 3 rolled back: canary at 10%: candidate agrees")
    assert f"< {params.deploy.min_agreement:.0%}" in str(failure.value)
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2].startswith("canary 10%: ")
    assert ": FAILED (candidate agrees with the stable model" in lines[-2]
    assert lines[-1] == (
        f"deploy: rolled back: 100% of traffic on revision {cluster.rolled_out} (version 1)"
    )
    assert cluster.revisions[0]["name"] == cluster.rolled_out


def test_unready_revision_is_rolled_back(deployed, rows, capsys):
    cluster, rollout = deployed(broken={storage("2")})
    with pytest.raises(PipelineError) as failure:
        rollout.deploy("2", rows)
    assert str(failure.value) == (
        "version 2 rolled back: canary at 10%: not ready within 5 s (error: timed out waiting "
        f"for the condition on {NAME}): PredictorReady RevisionFailed: model failed to load"
    )
    assert cluster.canaries() == [10, 0]
    assert capsys.readouterr().out.splitlines()[-1].endswith("(version 1)")


def test_cluster_without_tag_routing_fails_and_says_the_return_is_unconfirmed(deployed, rows):
    # Given: a cluster whose status has no tagged targets (raw deployment mode, tags off)
    cluster, rollout = deployed()
    rollout.timeout = 0.2
    tagged_status = cluster.status

    def untagged() -> dict[str, Any]:
        status = tagged_status()
        for target in status["status"]["components"]["predictor"]["traffic"]:
            del target["tag"], target["url"]
        return status

    cluster.status = untagged
    with pytest.raises(PipelineError) as failure:
        rollout.deploy("2", rows)
    # Then: canary 0 was applied, and the error keeps the cause and names what is unconfirmed
    assert cluster.canaries() == [10, 0]
    assert str(failure.value).startswith(
        "version 2 failed (canary at 10%: no 'latest' tag URL in the status: is "
        "serving.kserve.io/enable-tag-routing honoured?) and canaryTrafficPercent 0 is applied, "
        "but the status does not show the previous revision at 100% after 0.2 s"
    )


def test_rollback_restores_the_previous_version(deployed, rows, capsys):
    cluster, rollout = deployed()
    rollout.deploy("2", rows)
    capsys.readouterr()
    url, before = rollout.rollback("1", rows)
    assert before == "2"
    assert cluster.canaries()[-1] is None
    assert cluster.applied[-1]["spec"]["predictor"]["model"]["storageUri"] == storage("1")
    assert cluster.revisions[-1]["version"] == "1"
    assert cluster.rolled_out == cluster.revisions[-1]["name"]
    assert capsys.readouterr().out.splitlines()[-1].endswith(": ok")
    assert url == f"{cluster.server.url}/svc"


def test_rollback_command_serves_previous_champion_and_moves_the_alias(
    deployed, rows, capsys, in_tmp_project, params
):
    from gitops_ml import registry

    # Given: a registry where version 2 is champion and version 1 previous-champion (the
    # project's registry, as the command opens it: an earlier test's mlflow.set_tracking_uri
    # must not redirect a bare MlflowClient() elsewhere)
    client = registry.registry_client()
    name = params.mlflow.registered_model
    client.create_registered_model(name)
    for _ in range(2):
        client.create_model_version(name, str(in_tmp_project))
    client.set_registered_model_alias(name, registry.PREVIOUS, "1")
    client.set_registered_model_alias(name, registry.CHAMPION, "2")
    cluster, rollout = deployed()
    rollout.deploy("2", rows)
    capsys.readouterr()
    # When
    url = kserve.rollback_command(rollout, None, rows)
    # Then: version 1 serves at 100% and champion points at it again
    assert cluster.applied[-1]["metadata"]["annotations"][kserve.VERSION_ANNOTATION] == "1"
    assert registry.alias_version(client, name, registry.CHAMPION) == "1"
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("rollback: version 1 serves 100% (was 2) after ")
    assert last.endswith(f"registry '{registry.CHAMPION}' is version 1")
    assert url == f"{cluster.server.url}/svc"


def test_same_version_is_not_redeployed(deployed, rows, capsys):
    cluster, rollout = deployed()
    capsys.readouterr()
    rollout.deploy("1", rows)
    assert cluster.applied == []
    assert capsys.readouterr().out.startswith("deploy: version 1 is already serving")


def test_undeploy_deletes_the_inference_service(deployed, capsys):
    cluster, rollout = deployed()
    rollout.undeploy()
    rollout.undeploy()
    assert capsys.readouterr().out.splitlines()[-2:] == [
        f"undeploy: deleted inferenceservice {NAME}",
        f"undeploy: inferenceservice {NAME} was not deployed",
    ]


# --- Standard mode (spec.canary, KServe >= 0.20) -----------------------------------------------


@pytest.fixture
def standard(server, pyfunc_models, project, tmp_path, rows):
    """Version 1 deployed on a Standard-mode cluster, its mode detected from the ConfigMap."""
    cluster = FakeStandardCluster(server, pyfunc_models, set())
    rollout = make_rollout(project, cluster, tmp_path, http=routed(server))
    rollout.deploy("1", rows)
    assert cluster.steps() == [("v1", None)]
    cluster.calls.clear()
    cluster.applied.clear()
    return cluster, rollout


def test_standard_mode_rolls_out_through_spec_canary_and_promotes(standard, rows, capsys):
    cluster, rollout = standard
    capsys.readouterr()
    url = rollout.deploy("2", rows)
    # Then: v1 stays the predictor while v2 is the canary entry at 10 then 50; at 100 the
    # predictor is renamed to v2 and the entry removed (KServe's zero-restart promotion)
    assert rollout.mode == "standard"
    assert cluster.steps() == [("v1", 10), ("v1", 50), ("v2", None)]
    assert cluster.applied[0]["spec"]["canary"][0]["predictor"]["model"]["storageUri"] == (
        storage("2")
    )
    assert cluster.applied[0]["spec"]["predictor"]["model"]["storageUri"] == storage("1")
    lines = capsys.readouterr().out.splitlines()
    steps = [line for line in lines if line.startswith("canary ")]
    assert [s.split(":")[0] for s in steps] == ["canary 10%", "canary 50%", "canary 100%"]
    assert all(s.endswith(": ok") for s in steps) and "agreement 100%" in steps[0]
    assert lines[0] == "deploy: canary of version 2 beside version 1 (predictor v1, standard mode)"
    assert lines[-1].startswith("deploy: version 2 serves 100% (predictor v2) after ")
    assert url == f"{cluster.server.url}/svc"


def test_standard_mode_failed_step_removes_the_canary_entry(standard, rows, capsys, params):
    cluster, rollout = standard
    with pytest.raises(PipelineError) as failure:
        rollout.deploy("3", rows)
    # Then: the 10% step fails on agreement; the entry is removed: v1 alone, unchanged
    assert cluster.steps() == [("v1", 10), ("v1", None)]
    assert cluster.applied[-1]["spec"]["predictor"]["model"]["storageUri"] == storage("1")
    assert str(failure.value).startswith("version 3 rolled back: canary at 10%: candidate agrees")
    lines = capsys.readouterr().out.splitlines()
    assert ": FAILED (candidate agrees with the stable model" in lines[-2]
    assert lines[-1] == "deploy: rolled back: canary removed, 100% of traffic on predictor v1 " \
        "(version 1)"  # fmt: skip
    assert cluster.server.split == (deployment("v1"), None, 100)


def test_standard_mode_unready_canary_is_removed(server, pyfunc_models, project, tmp_path, rows):
    cluster = FakeStandardCluster(server, pyfunc_models, {storage("2")})
    rollout = make_rollout(project, cluster, tmp_path, mode="standard", http=routed(server))
    rollout.deploy("1", rows)
    with pytest.raises(PipelineError) as failure:
        rollout.deploy("2", rows)
    assert str(failure.value) == (
        "version 2 rolled back: canary at 10%: not ready within 5 s (CanaryReady is not True): "
        "CanaryReady"
    )
    assert cluster.steps()[-2:] == [("v1", 10), ("v1", None)]


def test_mode_mismatch_is_refused_before_traffic_moves(deployed, rows):
    # Given: version 1 serving on a Serverless cluster, params.yaml asking for Standard mode
    cluster, rollout = deployed()
    rollout.params = rollout.params.model_copy(
        update={"deploy": rollout.params.deploy.model_copy(update={"kserve_mode": "standard"})}
    )
    with pytest.raises(PipelineError) as failure:
        rollout.deploy("2", rows)
    # Then: one sentence, and nothing applied
    assert str(failure.value) == (
        "refusing to deploy: params.yaml deploy.kserve_mode asks for standard mode but "
        f"inferenceservice {NAME} runs in serverless mode; nothing was applied (set "
        "deploy.kserve_mode to serverless or detect)"
    )
    assert cluster.applied == []
    assert [c[0] for c in cluster.calls] == ["get"]


def test_template_pinning_serverless_is_refused_on_a_standard_cluster(
    server, pyfunc_models, project, tmp_path, rows
):
    cluster = FakeStandardCluster(server, pyfunc_models, set())
    rollout = make_rollout(project, cluster, tmp_path, http=routed(server))
    rollout.template["metadata"]["annotations"] = {kserve.MODE_ANNOTATION: "Serverless"}
    with pytest.raises(PipelineError) as failure:
        rollout.deploy("1", rows)
    assert str(failure.value) == (
        "refusing to deploy: the template's serving.kserve.io/deploymentMode asks for "
        "serverless mode but the cluster's default (inferenceservice-config "
        "defaultDeploymentMode) is standard mode; nothing was applied (set deploy.kserve_mode "
        "to standard or detect)"
    )
    assert cluster.applied == []
