"""Serve the champion locally behind nginx, roll out new versions as a canary, roll back.

`make deploy` starts MLflow's scoring server (`mlflow models serve --env-manager local`) for
the registry's `champion` and puts nginx in front of it. When a deployment is already running
and the champion changed, the new version starts beside the stable one and receives the
traffic shares of params.yaml `deploy.canary_steps` in turn; each step sends real requests
through nginx and checks health, error rate, p95 latency and the agreement of the candidate's
predictions with the stable model's on probe rows. A failed check sends all traffic back to
the stable model (an nginx graceful reload: no request is dropped) and fails with the reason.
Every process started is recorded in the state directory, so `make undeploy` stops them all.
Responses carry `X-Model-Variant`, `X-Model-Version` and `X-Request-Id`; the access log records
them. `--ab SHARE` runs a fixed-split A/B test instead of a canary; `ab-compare` scores the
variants on labelled outcomes. With `deploy.prediction_log` set, each server also appends what
it serves (timestamp, version, inputs, prediction) to a CSV log `make monitor` reads
(serving.py). `deploy`, `rollback` and `undeploy` write what they did, failed or not, to the
`deployment` result file `--result` (results.py), which the deploy action reads.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import signal
import socket
import string
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import metrics, tracking
from ..canary import Answer, CanaryFailed, Measurement, agreement, p95, roll_out
from ..errors import PipelineError, UserError, run
from ..params import DeployParams, ProblemType, load_params
from ..prediction_log import PROBE, TRAFFIC_PARAM
from ..results import PATHS, Deployment
from ..tables import split_target

HOST = "127.0.0.1"
CONTENT_JSON = {"Content-Type": "application/json"}
log = logging.getLogger(__name__)


class NginxTemplate(string.Template):
    """nginx.conf.in uses @name placeholders: `$` belongs to nginx variables."""

    delimiter = "@"


# --- pure parts: nginx configuration and the checks -------------------------------------------


def nginx_config(
    prefix: Path,
    port: int,
    stable: Server,
    candidate: Server | None,
    weight: int,
    generation: int,
) -> str:
    """nginx.conf for `weight` % of requests to the candidate, the rest to the stable model."""
    if candidate is None or weight <= 0:
        split = "    * stable;"
    elif weight >= 100:
        split = "    * candidate;"
    else:
        split = f"    {weight}% candidate;\n    * stable;"
    candidate_port = candidate.port if candidate else stable.port
    candidate_version = candidate.version if candidate else stable.version
    values = {
        "prefix": str(prefix),
        "host": HOST,
        "port": port,
        "split": split,
        "stable_port": stable.port,
        "stable_version": stable.version,
        "candidate_port": candidate_port,
        "candidate_version": candidate_version,
        "generation": generation,
        "weight": weight,
    }
    template = (Path(__file__).parent / "nginx.conf.in").read_text(encoding="utf-8")
    return NginxTemplate(template).substitute(values)


# --- processes ----------------------------------------------------------------------------


@dataclass
class Server:
    """One scoring server: the registered ``version`` it serves, its local ``port`` and ``pid``."""

    version: str
    port: int
    pid: int = 0


@dataclass
class State:
    """What runs now; saved as JSON in the state directory after every change."""

    port: int
    nginx_pid: int = 0
    stable: Server | None = None
    candidate: Server | None = None
    previous_version: str | None = None
    weight: int = 0
    generation: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> State | None:
        """The state saved at ``path``, or None when there is no file (nothing deployed).

        Raises:
            json.JSONDecodeError: the file is not JSON.
            TypeError: the file holds unknown fields.
        """
        if not path.exists():
            return None
        raw = json.loads(path.read_text(encoding="utf-8"))
        for key in ("stable", "candidate"):
            raw[key] = Server(**raw[key]) if raw.get(key) else None
        return cls(**raw)

    def save(self, path: Path) -> None:
        """Write the state to ``path`` as indented JSON (its folder must exist)."""
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (signal 0); a zombie or a pid <= 0 is not alive.

    A process of another user counts as alive (PermissionError).
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited child not yet reaped) is not alive
        with Path(f"/proc/{pid}/stat").open(encoding="utf-8") as handle:
            return handle.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return True


def stop(pid: int, timeout: float = 15.0) -> None:
    """Stop a process group started by this module: TERM, then KILL."""
    if not alive(pid):
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not alive(pid):
                return
            time.sleep(0.1)


def spawn(command: list[str], log_path: Path) -> int:
    """Start a detached process (own session, survives `make`) logging to `log_path`."""
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process.pid


def served_model(
    state_dir: Path,
    name: str,
    version: str,
    prediction_log: str | None,
    feature_repo: Path | None = None,
) -> str:
    """What the scoring server loads, as a model URI or path.

    Without ``prediction_log`` and ``feature_repo`` it is the registered version itself
    (``models:/name/version``); otherwise the model logger.py builds under
    ``state_dir/models/``, which appends every prediction to the log in that folder (resolved
    against the current directory) and, for a model trained on a feature store, looks the
    features of key-only requests up in ``feature_repo``.

    Raises:
        PipelineError: the logging model cannot be built (registry, disk, or input columns
            that clash with the log's own).
    """
    uri = f"models:/{name}/{version}"
    if not prediction_log and feature_repo is None:
        return uri
    with warnings.catch_warnings():
        # MLflow advises type hints on `predict` when PredictionLogger is defined, under its
        # own warning filter; the signature validates the input instead (serving.py).
        warnings.showwarning = lambda *args, **kwargs: None
        from .logger import build_logging_model

    path = state_dir / "models" / f"v{version}"
    try:
        build_logging_model(
            uri,
            path,
            version,
            Path(prediction_log).resolve() if prediction_log else None,
            tracking.tracking_uri(),
            feature_repo,
        )
    except Exception as exc:  # MlflowException, OSError, a column clash (ValueError)
        from ..tracking import public_uri

        raise PipelineError(
            f"cannot build the logging model of version {version}: {public_uri(str(exc))}"
        ) from None
    return str(path)


def start_server(state_dir: Path, name: str, version: str) -> Server:
    """Start ``mlflow models serve`` for ``version`` on a free port, detached, one worker.

    Its output goes to ``state_dir/server-v<version>.log``; it is not yet healthy when this
    returns (see :func:`wait_healthy`).

    Raises:
        PipelineError: ``mlflow`` is not on PATH, or the served model cannot be built.
        ParamsError: params.yaml is missing or invalid.
    """
    mlflow = shutil.which("mlflow")
    if mlflow is None:
        raise PipelineError("'mlflow' is not on PATH: run through 'make deploy'")
    params = load_params()
    repo = Path(params.feature_store.repo) if params.feature_store else None
    model = served_model(state_dir, name, version, params.deploy.prediction_log, repo)
    port = free_port()
    command = [
        mlflow, "models", "serve", "-m", model, "--env-manager", "local",
        "-h", HOST, "-p", str(port), "-w", "1",
    ]  # fmt: skip
    pid = spawn(command, state_dir / f"server-v{version}.log")
    return Server(version=version, port=port, pid=pid)


def http(
    method: str, url: str, body: bytes | None = None, timeout: float = 30.0
) -> tuple[int, str, dict[str, str]]:
    """One HTTP request with a JSON content type; never raises.

    Args:
        method: ``"GET"`` or ``"POST"``.
        url: the full URL.
        body: the request body, if any.
        timeout: seconds to wait for the answer.

    Returns:
        (status, body text, headers); status 0 and the error's text when there was no
        answer (refused, timed out).
    """
    request = urllib.request.Request(url, data=body, method=method, headers=CONTENT_JSON)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace"), dict(error.headers)
    except (urllib.error.URLError, OSError) as error:
        return 0, str(error), {}


def server_error(log_text: str) -> str:
    """The most telling line of a server log.

    That is the last ``...Error: ...`` line (the cause), else the last line, else
    ``"no output"``.
    """
    lines = [line.strip() for line in log_text.strip().splitlines() if line.strip()]
    causes = [line for line in lines if re.match(r"^[A-Za-z_.]*Error: ", line)]
    return (causes or lines or ["no output"])[-1]


def wait_healthy(server: Server, state_dir: Path, timeout: float) -> None:
    """Wait until ``server`` answers ``GET /ping`` with 200, polling every 0.5 s.

    Args:
        server: the scoring server just started.
        state_dir: where its log is (``server-v<version>.log``).
        timeout: seconds to wait at most.

    Raises:
        PipelineError: the server exited first (its log's telling line is quoted), or did
            not answer within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(server.pid):
            log_text = (state_dir / f"server-v{server.version}.log").read_text(errors="replace")
            raise PipelineError(
                f"the server for version {server.version} exited before answering /ping: "
                f"{server_error(log_text)}"
            )
        if http("GET", f"http://{HOST}:{server.port}/ping", timeout=2)[0] == 200:
            return
        time.sleep(0.5)
    raise PipelineError(f"the server for version {server.version} was not healthy in {timeout}s")


def nginx_binary() -> str:
    """The path of nginx: on PATH, else /usr/sbin/nginx or /usr/local/sbin/nginx.

    Raises:
        PipelineError: nginx is not installed (the message says how to install it).
    """
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )
    if found is None:
        raise PipelineError(
            "nginx is not installed: 'sudo apt-get install nginx' (Debian/Ubuntu) or "
            "'brew install nginx' (macOS), then run 'make deploy' again"
        )
    return found


def apply_config(state: State, state_dir: Path, weight: int) -> None:
    """Send ``weight`` % of traffic to the candidate: write nginx.conf, test it, apply it.

    nginx is started, or reloaded gracefully (SIGHUP, no request dropped), and this waits
    up to 30 s until ``/deployment`` answers with the new configuration's generation; the
    state is then saved.

    Raises:
        PipelineError: nginx is not installed, rejects the configuration, stops, or does not
            load it within 30 s.
    """
    assert state.stable is not None
    state.weight = weight
    state.generation += 1
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (state_dir / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    conf = state_dir / "nginx.conf"
    conf.write_text(
        nginx_config(
            state_dir, state.port, state.stable, state.candidate, weight, state.generation
        ),
        encoding="utf-8",
    )
    nginx = nginx_binary()
    base = [nginx, "-p", str(state_dir), "-e", str(state_dir / "nginx-error.log"), "-c", str(conf)]
    test = subprocess.run([*base, "-t"], capture_output=True, text=True)
    if test.returncode != 0:
        raise PipelineError(f"nginx rejected its configuration: {test.stderr.strip()}")
    if alive(state.nginx_pid):
        os.kill(state.nginx_pid, signal.SIGHUP)
    else:
        state.nginx_pid = spawn([*base, "-g", "daemon off;"], state_dir / "nginx.out")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, body, _ = http("GET", f"http://{HOST}:{state.port}/deployment", timeout=2)
        if status == 200 and json.loads(body)["generation"] == state.generation:
            state.save(state_dir / "state.json")
            return
        if not alive(state.nginx_pid):
            error = (state_dir / "nginx-error.log").read_text(errors="replace").strip()
            raise PipelineError(f"nginx stopped: {error.splitlines()[-1] if error else '?'}")
        time.sleep(0.1)
    raise PipelineError("nginx did not load its new configuration within 30 s")


# --- traffic ------------------------------------------------------------------------------


def payload(rows: pd.DataFrame) -> bytes:
    """The JSON body of a request of make deploy's own for ``rows`` (``dataframe_split``).

    It is marked as a probe (``params: {traffic: probe}``), so the prediction log
    (serving.py) keeps client traffic only. A server without the log ignores the parameter.
    """
    return json.dumps(
        {
            "dataframe_split": json.loads(rows.to_json(orient="split", index=False)),
            "params": {TRAFFIC_PARAM: PROBE},
        }
    ).encode()


def send(url: str, rows: pd.DataFrame, count: int) -> list[Answer]:
    """`count` single-row prediction requests through the load balancer."""
    answers = []
    for i in range(count):
        body = payload(rows.iloc[[i % len(rows)]])
        start = time.perf_counter()
        status, text, headers = http("POST", f"{url}/invocations", body)
        answers.append(
            Answer(status, time.perf_counter() - start, headers.get("X-Model-Variant", ""), text)
        )
    return answers


def predictions(port: int, rows: pd.DataFrame) -> list[Any]:
    """One server's predictions for ``rows`` (one per row), asked directly, not via nginx.

    Raises:
        PipelineError: the server does not answer 200.
    """
    status, text, _ = http("POST", f"http://{HOST}:{port}/invocations", payload(rows))
    if status != 200:
        raise PipelineError(f"probe request to port {port} answered {status}: {text[:300]}")
    return json.loads(text)["predictions"]


class Load(threading.Thread):
    """Steady traffic through the load balancer while it switches versions."""

    def __init__(self, url: str, rows: pd.DataFrame) -> None:
        """Prepare single-row requests of ``rows`` to ``url`` (a daemon thread, not started)."""
        super().__init__(daemon=True)
        self.url, self.rows = url, rows
        self.answers: list[Answer] = []
        self.halt = threading.Event()

    def run(self) -> None:
        """Send one request after another until :meth:`finish` is called."""
        while not self.halt.is_set():
            self.answers += send(self.url, self.rows, 1)

    def finish(self) -> tuple[int, int]:
        """Stop the traffic and wait for the thread; (requests sent, those not answered 200)."""
        self.halt.set()
        self.join()
        failed = sum(1 for a in self.answers if a.status != 200)
        return len(self.answers), failed


# --- commands -------------------------------------------------------------------------------


def registry_version(name: str, alias: str) -> str:
    """The version the registry's ``alias`` of model ``name`` points at.

    Raises:
        PipelineError: the registry cannot be read, or the alias is not set.
    """
    from mlflow import MlflowClient

    try:
        aliases = (
            MlflowClient(tracking_uri=tracking.tracking_uri()).get_registered_model(name).aliases
        )
    except Exception as exc:  # MlflowException, connection errors
        from ..tracking import public_uri

        raise PipelineError(
            f"cannot read model '{name}' from the registry: {public_uri(str(exc))}"
        ) from None
    if alias not in aliases:
        raise PipelineError(f"model '{name}' has no '{alias}' alias: run 'make promote' first")
    return str(aliases[alias])


def url(state: State) -> str:
    """The load balancer's base URL, ``http://127.0.0.1:<port>``."""
    return f"http://{HOST}:{state.port}"


def switch_back(state: State, state_dir: Path, rows: pd.DataFrame) -> str:
    """All traffic to the stable model, then stop the candidate; measured under load."""
    load = Load(url(state), rows) if state.stable and alive(state.nginx_pid) else None
    started = time.perf_counter()
    if load:
        load.start()
    candidate = state.candidate
    if alive(state.nginx_pid):
        apply_config(state, state_dir, 0)
        time.sleep(0.5)  # let the old nginx worker finish its in-flight requests
    if candidate:
        stop(candidate.pid)
    state.candidate = None
    state.weight = 0
    state.save(state_dir / "state.json")
    served, failed = load.finish() if load else (0, 0)
    return (
        f"rolled back to version {state.stable.version if state.stable else '?'} in "
        f"{time.perf_counter() - started:.1f} s: {served} requests served, {failed} failed "
        "during the switch"
    )


def canary(
    state: State,
    state_dir: Path,
    params: DeployParams,
    problem_type: ProblemType,
    rows: pd.DataFrame,
) -> list[Any]:
    """Roll the candidate out through ``params.canary_steps`` behind nginx (canary.roll_out).

    Raises:
        CanaryFailed: a step failed; traffic is still split (the caller switches back).
    """
    assert state.stable and state.candidate
    stable, candidate = state.stable, state.candidate
    probes = rows.head(params.probe_rows)

    def measure(weight: int) -> Measurement:
        apply_config(state, state_dir, weight)
        answers = send(url(state), rows, params.requests_per_step)
        healthy = all(
            http("GET", f"http://{HOST}:{server.port}/ping", timeout=5)[0] == 200
            for server in (stable, candidate)
        )
        agreed = agreement(
            predictions(stable.port, probes),
            predictions(candidate.port, probes),
            problem_type,
            params.agreement_tolerance,
        )
        served = [a for a in answers if a.variant == "candidate"]
        details = (
            f"candidate served {len(served)}/{len(answers)} requests, "
            f"errors {sum(a.status != 200 for a in answers)}, "
            f"p95 {p95([a.seconds * 1000 for a in served]):.0f} ms, agreement {agreed:.0%}"
        )
        failures = [] if healthy else ["a health check (/ping) failed"]
        return Measurement(answers, agreed, details, failures)

    steps: list[Any] = []
    try:
        steps = roll_out(
            params.canary_steps, measure, params, target="local", version=candidate.version,
            problem_type=problem_type,
        )  # fmt: skip
    except CanaryFailed as failure:
        steps = failure.steps
        raise
    finally:
        state.history += [
            {"version": candidate.version, "weight": step.weight, "ok": step.passed}
            for step in steps
        ]
    return steps


def deploy(
    state_dir: Path,
    version: str | None,
    health_timeout: float,
    ab: int | None = None,
    result: Deployment | None = None,
) -> str:
    """Serve ``version`` (default: the registry's champion) and return the URL.

    Started alone when nothing serves here, else as a checked canary beside the stable one
    (or an A/B test, ``ab`` %). ``result`` gets the notes, the judged steps and, when
    traffic went back, the outcome ``rolled back``.
    """
    result = result or Deployment("local", "deploy")
    params = load_params()
    name = params.mlflow.registered_model
    target = version or registry_version(name, "champion")
    rows = probe_rows(params)
    state_dir.mkdir(parents=True, exist_ok=True)
    state = State.load(state_dir / "state.json")
    if (
        state is None
        or not alive(state.nginx_pid)
        or not state.stable
        or not alive(state.stable.pid)
    ):
        if state is not None:
            undeploy(state_dir, quiet=True)
        state = State(port=free_port())
        state.stable = start_server(state_dir, name, target)
        state.save(state_dir / "state.json")
        started = time.perf_counter()
        try:
            wait_healthy(state.stable, state_dir, health_timeout)
            apply_config(state, state_dir, 0)
            answers = send(url(state), rows, 3)
        except PipelineError:
            undeploy(state_dir, quiet=True)
            raise
        if any(a.status != 200 for a in answers):
            undeploy(state_dir, quiet=True)
            raise PipelineError(f"version {target} answered {answers[0].status}: {answers[0].body}")
        result.say(f"deploy: version {target} serving in {time.perf_counter() - started:.1f} s")
        return url(state)
    if state.candidate is not None:  # an A/B test was running: it ends here
        result.say(f"deploy: {switch_back(state, state_dir, rows)} (A/B test ended)")
    if state.stable.version == target:
        result.say(f"deploy: version {target} is already serving")
        return url(state)
    if ab is not None:
        return start_ab(state, state_dir, name, target, ab, health_timeout, rows, result)

    result.say(f"deploy: canary of version {target} beside version {state.stable.version}")
    started = time.perf_counter()
    state.candidate = start_server(state_dir, name, target)
    state.save(state_dir / "state.json")
    try:
        wait_healthy(state.candidate, state_dir, health_timeout)
        steps = canary(state, state_dir, params.deploy, params.problem_type, rows)
        result.checked(params.deploy, steps)
    except PipelineError as failure:
        if isinstance(failure, CanaryFailed):
            result.checked(params.deploy, failure.steps)
        result.say(f"deploy: {switch_back(state, state_dir, rows)}")
        result.outcome = "rolled back"
        raise PipelineError(f"version {target} rolled back: {failure}") from None
    retire_stable(state, state_dir)
    result.say(f"deploy: version {target} serves 100% after {time.perf_counter() - started:.1f} s")
    return url(state)


def retire_stable(state: State, state_dir: Path) -> None:
    """The candidate becomes stable (100 % of traffic); the old stable server stops."""
    old = state.stable
    state.previous_version, state.stable, state.candidate = old.version, state.candidate, None
    apply_config(state, state_dir, 0)
    time.sleep(0.5)  # let nginx's reloaded workers take over before the old server goes
    stop(old.pid)
    state.save(state_dir / "state.json")


def start_ab(
    state: State,
    state_dir: Path,
    name: str,
    target: str,
    share: int,
    health_timeout: float,
    rows: pd.DataFrame,
    result: Deployment | None = None,
) -> str:
    """Start an A/B test: ``target`` gets a fixed ``share`` % beside the stable version.

    The split lasts until the next ``make deploy`` (or rollback) ends it; ``make
    ab-compare`` compares the variants' outcomes.

    Returns:
        The load balancer's URL.

    Raises:
        PipelineError: ``share`` is not within 1..99, or the candidate's server does not
            become healthy (traffic stays on the stable version).
    """
    result = result or Deployment("local", "deploy")
    if not 0 < share < 100:
        raise PipelineError(f"AB must be a share between 1 and 99, got {share}")
    assert state.stable is not None
    state.candidate = start_server(state_dir, name, target)
    state.save(state_dir / "state.json")
    try:
        wait_healthy(state.candidate, state_dir, health_timeout)
    except PipelineError as failure:
        result.say(f"deploy: {switch_back(state, state_dir, rows)}")
        raise PipelineError(f"A/B test of version {target} not started: {failure}") from None
    apply_config(state, state_dir, share)
    result.say(
        f"deploy: A/B test, version {target} (candidate) gets {share}% beside version "
        f"{state.stable.version} (stable); responses carry X-Model-Variant and X-Request-Id"
    )
    return url(state)


# --- A/B comparison ---------------------------------------------------------------------------

LOG_LINE = re.compile(
    r" (?P<status>\d{3}) POST /invocations id=(?P<id>\S+) variant=(?P<variant>\S+) "
    r"version=(?P<version>\S+)"
)


def served_by(access_log: str) -> pd.DataFrame:
    """request_id -> variant and version, for the predictions nginx answered with 200."""
    rows = [
        match.groupdict()
        for match in map(LOG_LINE.search, access_log.splitlines())
        if match and match["status"] == "200"
    ]
    return pd.DataFrame(rows, columns=["status", "id", "variant", "version"]).drop(columns="status")


def compare_variants(
    served: pd.DataFrame,
    outcomes: pd.DataFrame,
    problem_type: ProblemType,
    resamples: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Per variant, the metric on the labelled outcomes, and the difference's interval.

    The metric is accuracy, or rmse for regression (``metrics.scorer``). The interval is a
    95% percentile bootstrap interval of candidate - stable, unpaired (the variants answered
    different requests, so each is resampled on its own: Efron & Tibshirani, An
    Introduction to the Bootstrap, 1993, two-sample bootstrap ch. 8, percentile interval
    ch. 13), ``resamples`` times with ``numpy.random.default_rng(seed)``.

    Args:
        served: request id -> ``variant`` and ``version`` (:func:`served_by`).
        outcomes: rows x ``request_id``, ``prediction``, ``label``.
        problem_type: ``"classification"`` or ``"regression"``.
        resamples: bootstrap resamples.
        seed: the random seed.

    Returns:
        ``metric``, ``unmatched`` (outcome rows no served request matches), one entry per
        variant (``version``, ``rows``, the metric) and, with both variants, ``difference``
        and ``interval_95`` ([low, high], in the metric's unit).

    Raises:
        PipelineError: ``outcomes`` lacks one of its three columns.
    """
    missing = {"request_id", "prediction", "label"} - set(outcomes.columns)
    if missing:
        raise PipelineError(f"outcomes need the columns request_id, prediction, label: {missing}")
    joined = outcomes[["request_id", "prediction", "label"]].merge(
        served, left_on="request_id", right_on="id", how="inner"
    )
    metric = "accuracy" if problem_type == "classification" else "rmse"
    kind = str if problem_type == "classification" else float
    measure = metrics.scorer(metric)  # the one metric table (metrics.py)

    def score(frame: pd.DataFrame) -> float:
        return measure(
            frame["label"].astype(kind).to_numpy(), frame["prediction"].astype(kind).to_numpy()
        )

    result: dict[str, Any] = {"metric": metric, "unmatched": len(outcomes) - len(joined)}
    groups = dict(iter(joined.groupby("variant")))
    for variant, frame in groups.items():
        result[variant] = {
            "version": ",".join(sorted(frame["version"].unique())),
            "rows": len(frame),
            metric: round(score(frame), 6),
        }
    if {"stable", "candidate"} <= set(groups):
        rng = np.random.default_rng(seed)
        a, b = groups["stable"].reset_index(drop=True), groups["candidate"].reset_index(drop=True)
        differences = [
            score(b.iloc[rng.integers(0, len(b), len(b))])
            - score(a.iloc[rng.integers(0, len(a), len(a))])
            for _ in range(resamples)
        ]
        low, high = np.percentile(differences, [2.5, 97.5])
        result["difference"] = round(result["candidate"][metric] - result["stable"][metric], 6)
        result["interval_95"] = [round(float(low), 6), round(float(high), 6)]
    return result


def ab_compare(state_dir: Path, outcomes_path: Path) -> None:
    """``gitops-ml ab-compare``: print :func:`compare_variants` of nginx's log and the outcomes.

    Raises:
        PipelineError: the access log or the outcomes CSV is missing, or lacks columns.
        ParamsError: params.yaml is missing or invalid.
    """
    params = load_params()
    log_path = state_dir / "access.log"
    if not log_path.exists():
        raise PipelineError(f"{log_path} not found: nothing was served here")
    if not outcomes_path.exists():
        raise PipelineError(
            f"{outcomes_path} not found: write a CSV with request_id (the X-Request-Id "
            "header), prediction and label"
        )
    result = compare_variants(
        served_by(log_path.read_text(encoding="utf-8")),
        pd.read_csv(outcomes_path, dtype={"request_id": str}),
        params.problem_type,
    )
    print(json.dumps(result, indent=2))


def rollback(
    state_dir: Path, version: str | None, health_timeout: float, result: Deployment | None = None
) -> str:
    """Serve the previous version (or `version`) again, at once; return the URL.

    The registry's `champion` alias moves back too, so the next `make deploy` does not bring
    the bad version back. ``result`` gets the notes and the champion's version. The URL is ""
    when nothing serves here (only the alias moved).
    """
    from .. import registry

    result = result or Deployment("local", "rollback")

    params = load_params()
    state = State.load(state_dir / "state.json")
    client = registry.registry_client()
    name = params.mlflow.registered_model
    if state is None or not state.stable or not alive(state.nginx_pid):
        old, new = registry.restore(client, name, version)
        result.champion = str(new)
        result.say(
            f"rollback: nothing is deployed here; registry '{registry.CHAMPION}' moved from "
            f"version {old} to {new}, which the next 'make deploy' serves"
        )
        return ""
    target = version or state.previous_version
    if target is None:
        raise PipelineError("no previous version to roll back to: pass VERSION=<n>")
    started = time.perf_counter()
    rows = probe_rows(params)
    state.candidate = start_server(state_dir, name, target)
    try:
        wait_healthy(state.candidate, state_dir, health_timeout)
    except PipelineError:
        stop(state.candidate.pid)
        state.candidate = None
        state.save(state_dir / "state.json")
        raise
    load = Load(url(state), rows)
    load.start()
    apply_config(state, state_dir, 100)
    retire_stable(state, state_dir)
    served, failed = load.finish()
    if registry.alias_version(client, name, registry.CHAMPION) != target:
        registry.restore(client, name, target)
    result.champion = str(target)
    result.say(
        f"rollback: version {target} serves 100% (was {state.previous_version}) after "
        f"{time.perf_counter() - started:.1f} s; {served} requests served, {failed} failed "
        f"during the switch; registry '{registry.CHAMPION}' is version {target}"
    )
    return url(state)


def undeploy(state_dir: Path, quiet: bool = False, result: Deployment | None = None) -> None:
    """Stop every process a deployment started (outcome ``undeployed`` or ``not deployed``)."""
    result = result or Deployment("local", "undeploy")
    state = State.load(state_dir / "state.json")
    if state is None:
        result.outcome = "not deployed"
        if not quiet:
            result.say("undeploy: nothing is deployed")
        return
    stopped = []
    for server in (state.candidate, state.stable):
        if server:
            stop(server.pid)
            stopped.append(f"server v{server.version} (pid {server.pid})")
    if state.nginx_pid:
        stop(state.nginx_pid)
        stopped.append(f"nginx (pid {state.nginx_pid})")
    (state_dir / "state.json").unlink()
    result.outcome = "undeployed"
    if not quiet:
        result.say("undeploy: stopped " + ", ".join(stopped))


def probe_rows(params: Any, path: Path = Path("data/interim/test.csv")) -> pd.DataFrame:
    """The test split's input columns (rows x features, the target dropped) for requests.

    Raises:
        PipelineError: ``path`` does not exist.
    """
    if not path.exists():
        raise PipelineError(f"{path} not found: run 'make repro' first")
    return split_target(pd.read_csv(path), params.data.target)[0]


def serving_state(state_dir: Path) -> State | None:
    """The deployment serving here (nginx and the stable server alive), or None."""
    state = State.load(state_dir / "state.json")
    if state is None or not state.stable or not alive(state.nginx_pid):
        return None
    return state if alive(state.stable.pid) else None


def record_serving(result: Deployment, state: State | None) -> None:
    """What serves after the command: URL, the version with all traffic, or the A/B split."""
    if state is None or state.stable is None:
        return
    result.url = url(state)
    if state.candidate is None:
        result.version = state.stable.version
        return
    result.ab = {
        "stable": state.stable.version,
        "candidate": state.candidate.version,
        "share": state.weight,
    }
    if result.outcome == "deployed":
        result.outcome = "ab test"


def main(argv: Sequence[str] | None = None) -> None:
    """``gitops-ml deploy|rollback|undeploy|ab-compare``: run one command on this machine.

    Except for ``ab-compare``, the ``deployment`` result (``--result``, see results.py) is
    written whether the command succeeds or fails, and a served URL is printed last.

    Raises:
        SystemExit: 2 on a wrong command line (argparse).
        PipelineError: the command fails (see :func:`deploy`, :func:`rollback`,
            :func:`ab_compare`); other errors propagate after the result is written.
    """
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["deploy", "rollback", "undeploy", "ab-compare"])
    parser.add_argument("--ab", type=int, default=None, help="deploy: A/B test at this share")
    parser.add_argument("--outcomes", type=Path, help="ab-compare: request_id,prediction,label")
    parser.add_argument("--state", type=Path, default=Path(".deploy"), help="state directory")
    parser.add_argument("--version", default=None, help="registered version (default: champion)")
    parser.add_argument("--health-timeout", type=float, default=180.0)
    parser.add_argument(
        "--result",
        type=Path,
        default=Path(PATHS["deployment"]),
        help="deploy|rollback|undeploy: the deployment result (JSON) to write, failed or not",
    )
    args = parser.parse_args(argv)
    state_dir = args.state.resolve()
    if args.command == "ab-compare":
        ab_compare(state_dir, args.outcomes or Path("outcomes.csv"))
        return
    result = Deployment("local", args.command)
    before = serving_state(state_dir)
    result.previous_version = before.stable.version if before and before.stable else None
    endpoint = ""
    try:
        if args.command == "undeploy":
            undeploy(state_dir, result=result)
        elif args.command == "deploy":
            endpoint = deploy(state_dir, args.version or None, args.health_timeout, args.ab, result)
            result.outcome = "deployed"
        else:
            endpoint = rollback(state_dir, args.version or None, args.health_timeout, result)
            result.outcome = "rolled back"
    except Exception as exc:
        result.failed(str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}")
        record_serving(result, serving_state(state_dir))
        result.write(args.result)
        raise
    record_serving(result, serving_state(state_dir))
    result.write(args.result)
    if endpoint:
        sys.stdout.flush()
        print(endpoint)


if __name__ == "__main__":
    run(main)
