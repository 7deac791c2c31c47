"""Roll the registry's champion out to KServe as a checked canary; roll back; undeploy.

One InferenceService (kserve/inferenceservice.yaml) serves the model with MLServer's MLflow
runtime over the Open Inference Protocol (v2). `deploy` applies it once per
`deploy.canary_steps` value of params.yaml with `canaryTrafficPercent` set to the step, waits
until KServe reports it ready, then checks the step through the cluster: health of the
service and of both revisions, real requests (error rate, the candidate's p95 latency) and the
agreement of the candidate's predictions with the previous revision's on probe rows. The
revisions are addressed through KServe's tag routing (`latest-` and `prev-` URLs in the
status). A failed step re-applies the manifest with `canaryTrafficPercent: 0`, which sends all
traffic back to the previous revision, and fails with the reasons; at 100 the field is omitted
and KServe promotes the new revision. The checks are deploy.py's, unchanged.

Two deployment modes (`deploy.kserve_mode`: serverless | standard | detect). The above is
Serverless (Knative). In Standard mode (KServe >= 0.20, where canaryTrafficPercent is ignored)
each step renders the stable model as `spec.predictor` (named `v<version>`) and the candidate
as the one `spec.canary` entry (`trafficPercent` = the step, predictor named `v<version>`);
readiness adds the `CanaryReady` condition, the routed share is read from
`status.canaryStatuses`, and the two variants are addressed through their Services
(`<isvc>-v<version>-predictor.<namespace>.svc.cluster.local`). At 100 the stable predictor is
renamed to the candidate's name and the entry removed (KServe's zero-restart promotion); a
failed step removes the entry (all traffic on the stable predictor). `detect` takes the mode
of the existing InferenceService, else the cluster's default (the `deploy` key of the
inferenceservice-config ConfigMap); a mode asked for (params.yaml, or the template's
`serving.kserve.io/deploymentMode`) that the cluster does not run is refused before anything
is applied.

kubectl and HTTP are injected (`Rollout`), so the whole rollout runs in tests without a cluster.
Output for people: `canary <N>%: <details>: ok|FAILED (<reasons>)` per step, notes starting
with `deploy: ` / `rollback: ` / `undeploy: `, and on success the endpoint URL as the last line.
For programs (the deploy action): the `deployment` result file `--result` (results.py),
written whether the command succeeded or not.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .. import tracking
from ..canary import (
    Answer,
    CanaryFailed,
    Measurement,
    StepResult,
    agreement,
    judge,
    p95,
    report,
    roll_out,
)
from ..errors import PipelineError, UserError, run
from ..params import LibraryParams, load_params
from ..results import PATHS, Deployment
from .local import probe_rows, registry_version

REMOTE_STORAGE = ("s3://", "gs://", "wasbs://", "https://", "pvc://", "hdfs://", "webhdfs://")
VERSION_ANNOTATION = "gitops-ml/model-version"
TAG_ROUTING = "serving.kserve.io/enable-tag-routing"
MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
# KServe's spellings of each mode (newer releases call RawDeployment "Standard").
MODE_NAMES = {"serverless": "serverless", "knative": "serverless", "standard": "standard",
              "rawdeployment": "standard"}  # fmt: skip
ANNOTATED = {"serverless": "Serverless", "standard": "Standard"}
CONFIG_MAP = "inferenceservice-config"


def mode_of(value: str | None) -> str | None:
    """``serverless`` or ``standard`` for one of KServe's mode names; None if unknown/empty."""
    return MODE_NAMES.get((value or "").strip().lower())


def variant(version: str) -> str:
    """The Standard-mode predictor name of a registry version (its Deployment's infix)."""
    return f"v{version}"


def variant_version(name: str | None) -> str | None:
    """The registry version a Standard-mode predictor name stands for; None if not ours."""
    return name[1:] if name and name.startswith("v") and name[1:] else None


# --- the manifest -----------------------------------------------------------------------------


def kserve_manifest(
    template: dict[str, Any],
    storage_uri: str,
    version: str,
    canary: int,
    mode: str = "serverless",
    stable: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The InferenceService for one rollout step, a deep copy of ``template``.

    It carries the model's storage URI, its registry version (annotation
    ``gitops-ml/model-version``) and ``serving.kserve.io/deploymentMode``. Serverless: tag
    routing on (the checks address each revision) and ``canaryTrafficPercent`` = ``canary``
    (omitted at 100: the new revision is rolled out). Standard: at 100 the predictor is the
    version (named ``v<version>``); below, the predictor is ``stable`` (version, storage URI)
    and ``spec.canary`` holds the version with ``trafficPercent`` = ``canary``.

    Raises:
        PipelineError: ``storage_uri`` is not cloud storage KServe can read, ``canary``
            is not within 0..100 (%), or a Standard-mode canary lacks ``stable``.
        KeyError: ``template`` lacks ``metadata`` or ``spec.predictor.model``.
    """
    if not storage_uri.startswith(REMOTE_STORAGE):
        raise PipelineError(
            f"KServe cannot read the model from {storage_uri!r}: it needs cloud storage "
            f"({', '.join(REMOTE_STORAGE)}); use an MLflow server whose artifact store is a "
            "bucket (MLFLOW_TRACKING_URI)"
        )
    if not 0 <= canary <= 100:
        raise PipelineError(f"canary must be between 0 and 100, got {canary}")
    manifest = json.loads(json.dumps(template))
    annotations = manifest["metadata"].setdefault("annotations", {})
    annotations[VERSION_ANNOTATION] = str(version)
    annotations[MODE_ANNOTATION] = ANNOTATED[mode]
    predictor = manifest["spec"]["predictor"]
    predictor["model"]["storageUri"] = storage_uri
    predictor.pop("canaryTrafficPercent", None)
    manifest["spec"].pop("canary", None)
    if mode == "serverless":
        annotations[TAG_ROUTING] = "true"
        if canary < 100:
            predictor["canaryTrafficPercent"] = canary
        return manifest
    annotations.pop(TAG_ROUTING, None)  # Knative's; Standard mode addresses Services
    predictor["name"] = variant(version)
    if canary == 100:
        return manifest
    if stable is None:
        raise PipelineError(
            f"a Standard-mode canary at {canary}% needs the stable version it runs beside"
        )
    candidate = {"name": variant(version), "model": json.loads(json.dumps(predictor["model"]))}
    predictor["name"], predictor["model"]["storageUri"] = variant(stable[0]), stable[1]
    manifest["spec"]["canary"] = [{"trafficPercent": canary, "predictor": candidate}]
    return manifest


def model_storage_uri(name: str, version: str) -> str:
    """Where the registry stores version ``version`` of model ``name`` (its artifact URI).

    Raises:
        mlflow.exceptions.MlflowException: the registry cannot be read or has no such version.
    """
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking.tracking_uri())
    return client.get_model_version_download_uri(name, version)


def load_template(path: Path) -> dict[str, Any]:
    """The InferenceService template (YAML) at ``path``, parsed.

    Raises:
        PipelineError: ``path`` does not exist.
        yaml.YAMLError: the file is not valid YAML.
    """
    import yaml

    if not path.exists():
        raise PipelineError(f"{path} not found: run from the project root")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def write_manifest(args: argparse.Namespace) -> None:
    """``gitops-ml kserve manifest``: write the rendered InferenceService to ``--out``.

    The version is ``--version`` or the registry's champion, the storage URI
    ``--storage-uri`` or the registry's, the traffic share ``--canary`` (%).

    Raises:
        ParamsError: params.yaml is missing or invalid.
        PipelineError: the template is missing, the champion is not set, or the manifest is
            refused (see :func:`kserve_manifest`).
    """
    import yaml

    params = load_params()
    name = params.mlflow.registered_model
    version = args.version or registry_version(name, "champion")
    uri = args.storage_uri or model_storage_uri(name, version)
    template = load_template(args.template)
    mode = params.deploy.kserve_mode
    if mode == "detect":  # no cluster asked: the template's mode, else Serverless
        mode = mode_of(template["metadata"].get("annotations", {}).get(MODE_ANNOTATION))
    mode = mode or "serverless"
    if mode == "standard" and args.canary < 100:
        raise PipelineError(
            "a Standard-mode canary manifest needs the stable version beside it: "
            "'make kserve-deploy' renders each step; here only --canary 100 is rendered"
        )
    manifest = kserve_manifest(template, uri, version, args.canary, mode)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    print(f"manifest: version {version} at {args.canary}% canary ({mode}) -> {args.out}")


# --- the Open Inference Protocol (v2) as MLServer's MLflow runtime speaks it ----------------


def v2_datatype(dtype: Any) -> str:
    """The Open Inference Protocol datatype of a pandas dtype: BOOL, INT64, FP64 or BYTES."""
    if pd.api.types.is_bool_dtype(dtype):
        return "BOOL"
    if pd.api.types.is_integer_dtype(dtype):
        return "INT64"
    if pd.api.types.is_float_dtype(dtype):
        return "FP64"
    return "BYTES"


def v2_payload(rows: pd.DataFrame) -> bytes:
    """The v2 inference request (JSON bytes) whose inputs are the columns of ``rows``.

    Each column is one input of shape [rows, 1]; text goes as ``BYTES`` (``content_type:
    str``), NaN as null. MLServer's pandas codec (``content_type: pd``) decodes it into the
    DataFrame the MLflow model expects.
    """
    inputs = []
    for column in rows.columns:
        datatype = v2_datatype(rows[column].dtype)
        values = [
            None if isinstance(value, float) and math.isnan(value) else value
            for value in rows[column].tolist()
        ]
        entry: dict[str, Any] = {
            "name": str(column),
            "shape": [len(rows), 1],
            "datatype": datatype,
            "data": [str(v) if datatype == "BYTES" and v is not None else v for v in values],
        }
        if datatype == "BYTES":
            entry["parameters"] = {"content_type": "str"}
        inputs.append(entry)
    return json.dumps({"parameters": {"content_type": "pd"}, "inputs": inputs}).encode()


def v2_predictions(text: str) -> list[Any]:
    """The first output's values, one per row (MLServer answers `outputs[0]` of shape [n, 1]).

    Raises:
        ValueError: ``text`` is not JSON or has no outputs.
        KeyError: the answer has no ``outputs`` or ``data``.
    """
    outputs = json.loads(text)["outputs"]
    if not outputs:
        raise ValueError("the response has no outputs")
    data = outputs[0]["data"]
    return [value[0] if isinstance(value, list) else value for value in data]


# --- injected effects: kubectl and HTTP -------------------------------------------------------


@dataclass
class Result:
    """What an injected ``kubectl`` call returns: exit status, stdout and stderr (text)."""

    returncode: int
    stdout: str = ""
    stderr: str = ""


Kubectl = Callable[[Sequence[str]], Result]
Http = Callable[[str, str, bytes | None], tuple[int, str]]


def kubectl_binary(namespace: str | None) -> Kubectl:
    """Run the real `kubectl` (credentials: KUBECONFIG or the current context)."""

    def kubectl(args: Sequence[str]) -> Result:
        command = ["kubectl", *(["--namespace", namespace] if namespace else []), *args]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
        except FileNotFoundError:
            raise PipelineError("kubectl is not installed or not on PATH") from None
        return Result(done.returncode, done.stdout, done.stderr)

    return kubectl


def http_client(ingress: str | None = None, timeout: float = 30.0) -> Http:
    """HTTP through urllib: ``http(method, url, body) -> (status, body text)``, never raising.

    With ``ingress`` (http://IP:PORT) every request goes to the ingress gateway with the
    service's host name in the Host header, as KServe's docs curl it. Status 0 means no
    answer (refused, or no answer within ``timeout`` seconds).
    """

    def http(method: str, url: str, body: bytes | None) -> tuple[int, str]:
        headers = {"Content-Type": "application/json"}
        if ingress:
            parts = urllib.parse.urlsplit(url)
            headers["Host"] = parts.netloc
            url = ingress.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")
        request = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")
        except (urllib.error.URLError, OSError) as error:
            return 0, str(error)

    return http


# --- the rollout --------------------------------------------------------------------------------


def condition(resource: dict[str, Any], kind: str) -> dict[str, Any]:
    """The status condition of type ``kind`` (e.g. ``Ready``) of a resource, or {}."""
    conditions = resource.get("status", {}).get("conditions", [])
    return next((c for c in conditions if c.get("type") == kind), {})


def predictor_status(resource: dict[str, Any]) -> dict[str, Any]:
    """The InferenceService's ``status.components.predictor`` (revisions, traffic), or {}."""
    return resource.get("status", {}).get("components", {}).get("predictor", {})


def tagged(resource: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The predictor's traffic targets by tag.

    The tags are ``latest`` (the new revision) and, during a canary, ``prev`` (the last
    rolled-out revision); each target has ``url``, ``percent`` and ``revisionName``.
    """
    return {t["tag"]: t for t in predictor_status(resource).get("traffic", []) if t.get("tag")}


@dataclass
class Rollout:
    """One InferenceService and the effects a rollout needs."""

    name: str
    template: dict[str, Any]
    params: LibraryParams
    kubectl: Kubectl
    http: Http
    storage_uri: Callable[[str], str]
    manifest_path: Path = Path("kserve/rendered.yaml")
    timeout: float = 600.0
    poll: float = 2.0
    history: list[str] = field(default_factory=list)
    steps: list[StepResult] = field(default_factory=list)  # the last command's judged steps
    resource: dict[str, Any] = field(default_factory=dict)  # the last status read when ready
    # the `deployment` result (results.py) of the command running: notes, versions, outcome
    result: Deployment = field(default_factory=lambda: Deployment("kserve", "deploy"))
    mode: str = "serverless"  # set by resolve_mode before a command touches the cluster
    stable: str | None = None  # Standard mode: the version serving beside the canary
    config_namespace: str = "kserve"  # where KServe's inferenceservice-config lives

    # cluster ---------------------------------------------------------------------------

    def apply(self, version: str, canary: int) -> None:
        """Render the manifest for ``version`` at ``canary`` % and ``kubectl apply`` it.

        The manifest is also written to ``manifest_path``.

        Raises:
            PipelineError: the manifest is refused (see :func:`kserve_manifest`) or
                ``kubectl apply`` fails.
        """
        import yaml

        stable = None
        if self.mode == "standard" and canary < 100 and self.stable is not None:
            stable = (self.stable, self.storage_uri(self.stable))
        manifest = kserve_manifest(
            self.template, self.storage_uri(version), version, canary, self.mode, stable
        )
        self.manifest_path.parent.mkdir(parents=True, exist_ok=True)
        self.manifest_path.write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
        done = self.kubectl(["apply", "-f", str(self.manifest_path)])
        if done.returncode != 0:
            raise PipelineError(f"kubectl apply failed: {last_line(done.stderr)}")
        self.history.append(f"{version}@{canary}")

    def get(self) -> dict[str, Any] | None:
        """The InferenceService as ``kubectl get -o json`` returns it; None when not found.

        Raises:
            PipelineError: ``kubectl get`` fails for another reason.
        """
        done = self.kubectl(["get", "inferenceservice", self.name, "-o", "json"])
        if done.returncode != 0:
            if "NotFound" in done.stderr or "not found" in done.stderr:
                return None
            raise PipelineError(f"kubectl get inferenceservice failed: {last_line(done.stderr)}")
        return json.loads(done.stdout)

    def cluster_mode(self, current: dict[str, Any] | None) -> tuple[str | None, str]:
        """The mode the cluster runs this service in, and where that was read; (None, "").

        An existing InferenceService keeps its mode (``status.deploymentMode``, else its
        annotation); otherwise the cluster's default: ``defaultDeploymentMode`` in the
        ``deploy`` key of KServe's inferenceservice-config ConfigMap.
        """
        if current is not None:
            found = mode_of(current.get("status", {}).get("deploymentMode")) or mode_of(
                current.get("metadata", {}).get("annotations", {}).get(MODE_ANNOTATION)
            )
            if found:
                return found, f"inferenceservice {self.name} runs in {found} mode"
        done = self.kubectl(["get", "configmap", CONFIG_MAP, "--namespace",
                             self.config_namespace, "-o", "json"])  # fmt: skip
        if done.returncode != 0:
            return None, ""
        try:
            deploy = json.loads(json.loads(done.stdout).get("data", {}).get("deploy") or "{}")
        except ValueError:
            return None, ""
        found = mode_of(deploy.get("defaultDeploymentMode"))
        where = f"the cluster's default ({CONFIG_MAP} defaultDeploymentMode) is {found} mode"
        return found, where if found else ""

    def resolve_mode(self, current: dict[str, Any] | None) -> str:
        """Set and return ``mode``: the one asked for, checked against the cluster's.

        Asked for: ``deploy.kserve_mode`` unless ``detect``, else the template's
        ``serving.kserve.io/deploymentMode`` annotation, else the cluster's mode.

        Raises:
            PipelineError: the mode asked for is not the cluster's, params.yaml and the
                template disagree, or no mode is asked for and none can be read.
        """
        configured = self.params.deploy.kserve_mode
        annotated = self.template.get("metadata", {}).get("annotations", {}).get(MODE_ANNOTATION)
        declared = mode_of(annotated)
        if configured != "detect" and declared and declared != configured:
            raise PipelineError(
                f"refusing to deploy: params.yaml deploy.kserve_mode is {configured} but the "
                f"template's {MODE_ANNOTATION} is {annotated}; make them agree"
            )
        wanted, source = (
            (configured, f"params.yaml deploy.kserve_mode asks for {configured} mode")
            if configured != "detect"
            else (declared, f"the template's {MODE_ANNOTATION} asks for {declared} mode")
        )
        found, where = self.cluster_mode(current)
        if wanted and found and wanted != found:
            raise PipelineError(
                f"refusing to deploy: {source} but {where}; nothing was applied (set "
                f"deploy.kserve_mode to {found} or detect)"
            )
        mode = wanted or found
        if mode is None:
            raise PipelineError(
                f"cannot tell KServe's deployment mode: {CONFIG_MAP} is not readable in "
                f"namespace {self.config_namespace}; set deploy.kserve_mode in params.yaml"
            )
        self.mode = mode
        return mode

    def serving(self, resource: dict[str, Any] | None) -> tuple[str | None, str | None]:
        """(what serves all but the canary's share, its registry version), None if nothing.

        Serverless: the last rolled-out revision; Standard: the stable predictor's name.
        """
        if self.mode == "standard":
            name = (resource or {}).get("spec", {}).get("predictor", {}).get("name")
            return (f"predictor {name}", variant_version(name)) if name else (None, None)
        revision = predictor_status(resource or {}).get("latestRolledoutRevision")
        return (f"revision {revision}", self.revision_version(revision)) if revision else (
            None, None)  # fmt: skip

    def revision_version(self, revision: str | None) -> str | None:
        """The registry version a Knative revision serves, or None when unknown.

        KServe copies the InferenceService's annotations (VERSION_ANNOTATION included) onto
        each revision; None when ``revision`` is empty, cannot be read or lacks it.
        """
        if not revision:
            return None
        done = self.kubectl(["get", "revisions.serving.knative.dev", revision, "-o", "json"])
        if done.returncode != 0:
            return None
        return json.loads(done.stdout)["metadata"].get("annotations", {}).get(VERSION_ANNOTATION)

    def wait_ready(self) -> tuple[dict[str, Any] | None, str]:
        """Wait until the applied generation is reconciled and its newest revision is ready.

        Waits with ``kubectl wait`` then polls every ``poll`` seconds, ``timeout`` seconds
        at most.

        Returns:
            (status, "") when ready, else (last status, the reason it is not ready).
        """
        deadline = time.monotonic() + self.timeout
        done = self.kubectl(
            ["wait", "--for=condition=Ready", f"inferenceservice/{self.name}",
             f"--timeout={int(self.timeout)}s"]
        )  # fmt: skip
        while True:
            resource = self.get()
            reason = (
                not_ready(resource, self.mode) if done.returncode == 0 else "kubectl wait failed"
            )
            if not reason:
                return resource, ""
            if done.returncode != 0 or time.monotonic() > deadline:
                detail = last_line(done.stderr) if done.returncode != 0 else reason
                return resource, f"not ready within {self.timeout:.0f} s ({detail}){why(resource)}"
            time.sleep(self.poll)

    # checks ----------------------------------------------------------------------------

    def send(self, url: str, rows: pd.DataFrame, count: int, variant: str) -> list[Answer]:
        """``count`` single-row v2 inference requests to ``url``, timed (seconds).

        Rows are taken in turn from ``rows``; each answer is labelled ``variant``.
        """
        answers = []
        infer = f"{url.rstrip('/')}/v2/models/{self.name}/infer"
        for i in range(count):
            started = time.perf_counter()
            status, _ = self.http("POST", infer, v2_payload(rows.iloc[[i % len(rows)]]))
            answers.append(Answer(status, time.perf_counter() - started, variant))
        return answers

    def healthy(self, urls: dict[str, str]) -> list[str]:
        """The failed v2 health checks (server and model ready) of each role -> URL; [] if none."""
        failures = []
        for role, url in urls.items():
            for path in ("/v2/health/ready", f"/v2/models/{self.name}/ready"):
                status, _ = self.http("GET", url.rstrip("/") + path, None)
                if status != 200:
                    failures.append(f"health check {path} of the {role} answered {status}")
        return failures

    def predict(self, url: str, rows: pd.DataFrame) -> list[Any]:
        """One revision's predictions for ``rows``, one per row, in one v2 request.

        Raises:
            PipelineError: the answer is not 200, not a v2 answer, or has the wrong length.
        """
        status, text = self.http("POST", f"{url.rstrip('/')}/v2/models/{self.name}/infer",
                                 v2_payload(rows))  # fmt: skip
        if status != 200:
            raise PipelineError(f"probe request answered {status}: {text[:200]}")
        try:
            values = v2_predictions(text)
        except (ValueError, KeyError, TypeError) as exc:
            raise PipelineError(f"probe response is not a v2 answer: {exc}") from None
        if len(values) != len(rows):
            raise PipelineError(f"probe response has {len(values)} predictions for {len(rows)}")
        return values

    def measure(
        self, weight: int, rows: pd.DataFrame, baseline: list[Any] | None
    ) -> tuple[Measurement, list[Any] | None]:
        """Wait for the applied spec to be ready, then :meth:`check` it at ``weight`` %."""
        resource, reason = self.wait_ready()
        if reason:
            return Measurement(None, None, "revision not ready", [reason]), baseline
        self.resource = resource
        return self.check(resource, weight, rows, baseline)

    def at_full_traffic(self, version: str, rows: pd.DataFrame) -> StepResult:
        """Apply ``version`` at 100% (no canary), wait, check and report it as one step."""
        self.apply(version, 100)
        step = judge(
            self.measure(100, rows, None)[0], 100, self.params.deploy, target="kserve",
            version=str(version), problem_type=self.params.problem_type,
        )  # fmt: skip
        report(step)
        self.steps = [step]
        return step

    def check(
        self,
        resource: dict[str, Any],
        weight: int,
        rows: pd.DataFrame,
        baseline: list[Any] | None,
    ) -> tuple[Measurement, list[Any] | None]:
        """One step's measurement through the cluster, and the stable model's predictions."""
        settings = self.params.deploy
        service = resource.get("status", {}).get("url", "")
        latest, prev, failures = self.targets(resource, weight)
        if not latest:
            return Measurement(None, None, "", failures), baseline
        urls = {"service": service, "candidate": latest}
        if prev:
            urls["previous revision" if self.mode == "serverless" else "stable predictor"] = prev
        failures += self.healthy(urls)
        answers = self.send(service, rows, settings.requests_per_step, "service")
        answers += self.send(latest, rows, settings.requests_per_step, "candidate")
        probes = rows.head(settings.probe_rows)
        stable = baseline
        try:
            if prev:
                stable = self.predict(prev, probes)
            candidate = self.predict(latest, probes)
            agreed = (
                1.0
                if stable is None
                else agreement(stable, candidate, self.params.problem_type,
                               settings.agreement_tolerance)
            )  # fmt: skip
        except PipelineError as exc:
            failures.append(str(exc))
            agreed = 0.0
        served = [a for a in answers if a.variant == "candidate"]
        details = (
            f"candidate answered {sum(a.status == 200 for a in served)}/{len(served)} requests, "
            f"service {sum(a.status == 200 for a in answers if a.variant == 'service')}/"
            f"{len(answers) - len(served)}, p95 {p95([a.seconds * 1000 for a in served]):.0f} ms, "
            + (
                "agreement n/a (no previous revision)"
                if stable is None
                else f"agreement {agreed:.0%}"
            )
        )
        return Measurement(answers, None if stable is None else agreed, details, failures), stable

    def targets(self, resource: dict[str, Any], weight: int) -> tuple[str, str, list[str]]:
        """(the candidate's URL, the stable one's or "", failures) of one step's status.

        Serverless: the ``latest``/``prev`` tag URLs and the ``latest`` share. Standard: the
        Services of the canary entry's predictor and of the stable predictor, and the
        canary's share in ``status.canaryStatuses``. No candidate URL: "" and why.
        """
        if self.mode == "serverless":
            tags = tagged(resource)
            latest, prev = tags.get("latest", {}), tags.get("prev", {})
            if not latest.get("url"):
                return "", "", [f"no 'latest' tag URL in the status: is {TAG_ROUTING} honoured?"]
            failures = []
            if prev and weight < 100 and latest.get("percent") != weight:
                failures.append(
                    f"KServe routes {latest.get('percent')}% to the candidate, not {weight}%"
                )
            return latest["url"], prev.get("url", ""), failures
        spec = resource.get("spec", {})
        stable = spec.get("predictor", {}).get("name")
        canaries = [c.get("predictor", {}).get("name") for c in spec.get("canary") or []]
        if not stable:
            return "", "", ["the stable predictor has no name: it was not deployed by gitops-ml"]
        if not canaries:
            return self.variant_url(resource, stable), "", []
        routed = {c.get("name"): c for c in resource.get("status", {}).get("canaryStatuses", [])}
        share = routed.get(canaries[0], {}).get("trafficPercent")
        failures = [] if share == weight else [
            f"KServe routes {share}% to the candidate, not {weight}%"]  # fmt: skip
        return (
            self.variant_url(resource, canaries[0]),
            self.variant_url(resource, stable),
            failures,
        )

    def variant_url(self, resource: dict[str, Any], name: str) -> str:
        """The cluster-local URL of a Standard-mode predictor's Service."""
        namespace = resource.get("metadata", {}).get("namespace") or "default"
        return f"http://{self.name}-{name}-predictor.{namespace}.svc.cluster.local"

    # commands --------------------------------------------------------------------------

    def first_revision(self, version: str, rows: pd.DataFrame) -> str:
        """Deploy the first revision: ``version`` at 100% at once, checked there.

        With no rolled-out revision yet KServe ignores canaryTrafficPercent, so there is no
        canary.

        Returns:
            The service's URL.

        Raises:
            PipelineError: the revision fails its checks (there is nothing to return to).
        """
        self.result.say(f"deploy: first revision of {self.name}: version {version} (no canary "
                        "without a previous revision)")  # fmt: skip
        step = self.at_full_traffic(version, rows)
        if step.failures:
            raise PipelineError(
                f"version {version} is not healthy: {'; '.join(step.failures)}; there is no "
                "previous revision to return to: fix it and deploy again, or 'make kserve-undeploy'"
            )
        self.result.version = str(version)
        return self.resource["status"]["url"]

    def deploy(self, version: str, rows: pd.DataFrame) -> str:
        """Roll ``version`` out as a checked canary through ``deploy.canary_steps`` (%).

        The first revision goes to 100% at once (:meth:`first_revision`); a version already
        serving and ready is left alone. ``rows`` (the test split's inputs) feed the
        requests and the probe rows. A failed step sends all traffic back to the previous
        revision (:meth:`back_to_previous`); ``result`` records the outcome.

        Returns:
            The service's URL.

        Raises:
            PipelineError: a step failed (after the traffic went back), the first revision
                is unhealthy, or kubectl fails.
        """
        started = time.perf_counter()
        current = self.get()
        self.resolve_mode(current)
        rolled_out, serving = self.serving(current)
        if current is None or not rolled_out:
            return self.first_revision(version, rows)
        self.result.previous_version = self.stable = serving
        if serving == str(version) and not not_ready(current, self.mode):
            self.result.say(f"deploy: version {version} is already serving ({rolled_out})")
            self.result.version = serving
            return current["status"]["url"]
        if self.mode == "standard" and serving is None:
            raise PipelineError(
                f"inferenceservice {self.name} serves {rolled_out}, not a 'v<version>' "
                "predictor of gitops-ml: there is no stable version to run the canary beside"
            )
        self.result.say(
            f"deploy: canary of version {version} beside version {serving or '?'} "
            f"({rolled_out}, {self.mode} mode)"
        )
        baseline: list[list[Any] | None] = [None]

        def measure(weight: int) -> Measurement:
            self.apply(version, weight)
            measured, baseline[0] = self.measure(weight, rows, baseline[0])
            return measured

        try:
            self.steps = roll_out(
                self.params.deploy.canary_steps, measure, self.params.deploy, target="kserve",
                version=str(version), problem_type=self.params.problem_type,
            )  # fmt: skip
        except CanaryFailed as failure:
            self.steps = failure.steps
            self.result.say(f"deploy: {self.back_to_previous(version, str(failure))}")
            self.result.outcome, self.result.version = "rolled back", serving
            self.result.url = current.get("status", {}).get("url")
            raise PipelineError(f"version {version} rolled back: {failure}") from None
        final = self.get() or {}
        promoted = self.serving(final)[0]
        self.result.say(
            f"deploy: version {version} serves 100% ({promoted}) after "
            f"{time.perf_counter() - started:.1f} s"
        )
        self.result.version = str(version)
        return final["status"]["url"]

    def back_to_previous(self, version: str, reason: str) -> str:
        """Send all traffic back to the last rolled-out revision (``canaryTrafficPercent: 0``).

        The same spec is applied (no new revision); the move is confirmed from the status
        (the ``prev`` tag at 100%), not assumed.

        Returns:
            The progress line naming the revision and version now serving.

        Raises:
            PipelineError: the status does not show it within ``timeout`` seconds, or
                kubectl fails.
        """
        if self.mode == "standard":
            return self.back_to_stable(version, reason)
        self.apply(version, 0)
        deadline = time.monotonic() + self.timeout
        while True:
            resource = self.get() or {}
            prev = tagged(resource).get("prev", {})
            reconciled = resource.get("status", {}).get("observedGeneration") == resource.get(
                "metadata", {}
            ).get("generation")
            if reconciled and prev.get("percent") == 100:
                return (
                    f"rolled back: 100% of traffic on revision {prev.get('revisionName')} "
                    f"(version {self.revision_version(prev.get('revisionName')) or '?'})"
                )
            if time.monotonic() > deadline:
                raise PipelineError(
                    f"version {version} failed ({reason}) and canaryTrafficPercent 0 is applied, "
                    f"but the status does not show the previous revision at 100% after "
                    f"{self.timeout:g} s: check 'kubectl get isvc {self.name}'"
                )
            time.sleep(self.poll)

    def back_to_stable(self, version: str, reason: str) -> str:
        """Standard mode: remove the canary entry, so all traffic is on the stable predictor.

        The stable predictor is unchanged (no restart); the move is confirmed from the status
        (no canary left with a traffic share, stable predictor ready), not assumed.

        Raises:
            PipelineError: the status does not show it within ``timeout`` seconds, or
                kubectl fails.
        """
        assert self.stable is not None
        self.apply(self.stable, 100)
        deadline = time.monotonic() + self.timeout
        while True:
            resource = self.get() or {}
            routed = [c for c in resource.get("status", {}).get("canaryStatuses") or []
                      if c.get("trafficPercent")]  # fmt: skip
            if not routed and not not_ready(resource, "standard"):
                return (
                    f"rolled back: canary removed, 100% of traffic on predictor "
                    f"{variant(self.stable)} (version {self.stable})"
                )
            if time.monotonic() > deadline:
                raise PipelineError(
                    f"version {version} failed ({reason}) and its canary entry is removed, "
                    f"but the status does not show the stable predictor alone and ready after "
                    f"{self.timeout:g} s: check 'kubectl get isvc {self.name}'"
                )
            time.sleep(self.poll)

    def rollback(self, version: str, rows: pd.DataFrame) -> tuple[str, str | None]:
        """Serve ``version`` at 100% at once, then run the health and probe checks.

        It is a new revision with that version's storage URI.

        Returns:
            (the service's URL, the version served before, None when unknown).

        Raises:
            PipelineError: the checks fail, or kubectl fails.
        """
        current = self.get()
        self.resolve_mode(current)
        before = self.serving(current)[1]
        step = self.at_full_traffic(version, rows)
        if step.failures:
            raise PipelineError(
                f"rollback to version {version} failed: " + "; ".join(step.failures)
            )
        return self.resource["status"]["url"], before

    def undeploy(self) -> None:
        """Delete the InferenceService (waiting for it); ``result`` says whether one existed.

        Raises:
            PipelineError: ``kubectl delete`` fails.
        """
        done = self.kubectl(
            ["delete", "inferenceservice", self.name, "--ignore-not-found", "--wait=true"]
        )
        if done.returncode != 0:
            raise PipelineError(f"kubectl delete failed: {last_line(done.stderr)}")
        if done.stdout.strip():
            self.result.outcome = "undeployed"
            self.result.say(f"undeploy: deleted inferenceservice {self.name}")
        else:
            self.result.outcome = "not deployed"
            self.result.say(f"undeploy: inferenceservice {self.name} was not deployed")


def not_ready(resource: dict[str, Any] | None, mode: str = "serverless") -> str:
    """Why the InferenceService's applied spec is not served yet ("" when it is).

    Standard mode: with a canary entry, ``CanaryReady`` must be True and every canary ready.
    """
    if resource is None:
        return "the inferenceservice does not exist"
    status = resource.get("status", {})
    if status.get("observedGeneration") != resource.get("metadata", {}).get("generation"):
        return "the controller has not reconciled the new spec yet"
    if condition(resource, "Ready").get("status") != "True":
        return "Ready is not True"
    if mode == "standard":
        if not resource.get("spec", {}).get("canary"):
            return ""
        if condition(resource, "CanaryReady").get("status") != "True":
            return "CanaryReady is not True"
        waiting = [c.get("name") for c in status.get("canaryStatuses") or [] if not c.get("ready")]
        return f"canary {', '.join(map(str, waiting))} is not ready" if waiting else ""
    predictor = predictor_status(resource)
    if predictor.get("latestCreatedRevision") != predictor.get("latestReadyRevision"):
        return f"revision {predictor.get('latestCreatedRevision')} is not ready"
    return ""


def why(resource: dict[str, Any] | None) -> str:
    """The telling failed condition, as KServe reports it: ": <type> <reason>: <message>".

    A failed condition with a message (e.g. PredictorReady) is preferred; "" when no
    condition failed.
    """
    conditions = (resource or {}).get("status", {}).get("conditions", [])
    failing = [c for c in conditions if c.get("status") == "False"]
    failing.sort(key=lambda c: not c.get("message"))
    if not failing:
        return ""
    first = failing[0]
    text = " ".join(filter(None, (first.get("type"), first.get("reason"))))
    return f": {text}: {first['message']}" if first.get("message") else f": {text}"


def last_line(text: str) -> str:
    """The last non-blank line of ``text`` (a command's stderr), or ``"no output"``."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


# --- entry point ------------------------------------------------------------------------------


def rollback_command(rollout: Rollout, version: str | None, rows: pd.DataFrame) -> str:
    """Serve VERSION (default: the registry's `previous-champion`) and move `champion` to it.

    Moving ``champion`` means the next release does not bring the bad version back. When
    the InferenceService is not deployed, only the alias moves.

    Returns:
        The service's URL, or "" when nothing is deployed.

    Raises:
        PipelineError: no version given and ``previous-champion`` unset, the version fails
            its checks, kubectl fails, or the alias cannot move (see ``registry.restore``).
    """
    from .. import registry

    client = registry.registry_client()
    name = rollout.params.mlflow.registered_model
    target = version or registry.alias_version(client, name, registry.PREVIOUS)
    if target is None:
        raise PipelineError(
            f"no version to roll back to: '{registry.PREVIOUS}' is not set; pass VERSION=<n>"
        )
    if rollout.get() is None:
        old, new = registry.restore(client, name, target)
        rollout.result.champion = str(new)
        rollout.result.say(
            f"rollback: {rollout.name} is not deployed; registry '{registry.CHAMPION}' moved "
            f"from version {old} to {new}, which the next 'make kserve-deploy' serves"
        )
        return ""
    started = time.perf_counter()
    url, before = rollout.rollback(target, rows)
    rollout.result.previous_version, rollout.result.version = before, str(target)
    if registry.alias_version(client, name, registry.CHAMPION) != target:
        registry.restore(client, name, target)
    rollout.result.champion = str(target)
    rollout.result.say(
        f"rollback: version {target} serves 100% (was {before or '?'}) after "
        f"{time.perf_counter() - started:.1f} s; registry '{registry.CHAMPION}' is version {target}"
    )
    return url


def main(argv: Sequence[str] | None = None) -> None:
    """``gitops-ml kserve deploy|rollback|undeploy|manifest``: run one command on the cluster.

    Except for ``manifest``, the ``deployment`` result (``--result``, see results.py) is
    written whether the command succeeds or fails, and a served URL is printed last.

    Raises:
        SystemExit: 2 on a wrong command line (argparse).
        ParamsError: params.yaml is missing or invalid.
        PipelineError: the command fails (see :meth:`Rollout.deploy`,
            :func:`rollback_command`, :meth:`Rollout.undeploy`, :func:`write_manifest`);
            other errors propagate after the result is written.
    """
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["deploy", "rollback", "undeploy", "manifest"])
    parser.add_argument("--version", default=None, help="registered version (default: champion)")
    parser.add_argument("--template", type=Path, default=Path("kserve/inferenceservice.yaml"))
    parser.add_argument("--namespace", default=None, help="default: the kubectl context's")
    parser.add_argument("--ingress", default=None, help="http://IP:PORT of the ingress gateway")
    parser.add_argument("--timeout", type=float, default=600.0, help="readiness, per step (s)")
    parser.add_argument("--canary", type=int, default=100, help="manifest: traffic share")
    parser.add_argument("--storage-uri", default="", help="manifest: model location override")
    parser.add_argument("--out", type=Path, default=Path("kserve/rendered.yaml"))
    parser.add_argument(
        "--result",
        type=Path,
        default=Path(PATHS["deployment"]),
        help="deploy|rollback|undeploy: the deployment result (JSON) to write, failed or not",
    )
    args = parser.parse_args(argv)
    if args.command == "manifest":
        write_manifest(args)
        return
    params = load_params()
    template = load_template(args.template)
    registered = params.mlflow.registered_model
    rollout = Rollout(
        name=template["metadata"]["name"],
        template=template,
        params=params,
        kubectl=kubectl_binary(args.namespace),
        http=http_client(args.ingress),
        storage_uri=lambda version: model_storage_uri(registered, version),
        manifest_path=args.out,
        timeout=args.timeout,
    )
    result = rollout.result = Deployment("kserve", args.command)
    rollout.steps = []
    endpoint = ""
    try:
        if args.command == "undeploy":
            rollout.undeploy()
        elif args.command == "deploy":
            rows = probe_rows(params)
            version = args.version or registry_version(registered, "champion")
            endpoint = rollout.deploy(version, rows)
            result.outcome = "deployed"
        else:
            endpoint = rollback_command(rollout, args.version, probe_rows(params))
            result.outcome = "rolled back"
    except Exception as exc:
        result.failed(str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}")
        raise
    finally:
        result.url = endpoint or result.url
        if rollout.steps:
            result.checked(params.deploy, rollout.steps)
        result.write(args.result)
    if endpoint:
        sys.stdout.flush()
        print(endpoint)


if __name__ == "__main__":
    run(main)
