"""The monitoring dashboard in a real browser: headless Chromium reads Evidently's UI and the
static page after three `gitops-ml monitor check` runs (steady, drifted, labelled).

Evidently's UI is a JavaScript application: the assertions read the DOM Chromium holds after
running it (`--dump-dom`), so they fail if the page does not render the runs. Screenshots are
kept in build/test-artifacts/ (dashboard.png, dashboard-reports.png, dashboard-static.png).

Chromium comes from Debian (`apt-get install -y chromium`); under CI=true its absence is a
failure, not a skip.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from cookiecutter.main import cookiecutter
from sklearn.linear_model import LogisticRegression

from gitops_ml.evaluation import evaluate_model
from gitops_ml.schema import infer_schema
from tests.conftest import QUIET_ENV, ROOT, SHARED_VENV

ARTIFACTS = ROOT / "build" / "test-artifacts"
INSTALL = "apt-get install -y chromium"
FEATURES = ["x1", "x2", "x3"]

pytestmark = pytest.mark.slow


def chromium_binary() -> str:
    """The Chromium to drive; without one: fail under CI=true, else skip (both say how)."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    message = f"headless Chromium is needed for the dashboard tests: {INSTALL}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def frame(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """Three numeric inputs and a binary target that depends on them; x1 shifted by `shift`."""
    rng = np.random.default_rng(seed)
    data = pd.DataFrame({c: rng.normal(size=rows) for c in FEATURES})
    data["target"] = (data["x1"] + data["x2"] + rng.normal(0, 0.5, rows) > 0).astype(int)
    data["x1"] += shift
    return data


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A rendered project after three real `gitops-ml monitor check` runs (steady, drifted,
    labelled), with a model and reference of its own so no pipeline has to run."""
    root = Path(
        cookiecutter(
            str(ROOT),
            no_input=True,
            accept_hooks=False,
            output_dir=str(tmp_path_factory.mktemp("dashboard")),
            extra_context={"project_name": "dash board"},
        )
    )
    reference = frame(1500, 0)
    reference.to_csv(root / "train.csv", index=False)
    model = LogisticRegression().fit(reference[FEATURES], reference["target"])
    joblib.dump(model, root / "model.joblib")
    metrics, _ = evaluate_model(model, reference, "target", "classification")
    (root / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    infer_schema(reference, "target", "classification").save(root / "schema.json")
    frame(1000, 1).drop(columns="target").to_csv(root / "steady.csv", index=False)
    frame(1000, 2, shift=1.5).drop(columns="target").to_csv(root / "drifted.csv", index=False)
    frame(1000, 3).to_csv(root / "labelled.csv", index=False)
    statuses = []
    for current in ("steady.csv", "drifted.csv", "labelled.csv"):
        result = subprocess.run(
            [str(SHARED_VENV / "bin/gitops-ml"), "monitor", "check", "--reference", "train.csv",
             "--schema", "schema.json", "--reference-metrics", "metrics.json",
             "--model", "model.joblib", "--out", "out", "--current", current],
            cwd=root, capture_output=True, text=True, env={**os.environ, **QUIET_ENV},
            timeout=300,
        )  # fmt: skip
        assert result.returncode in (0, 3), result.stdout + result.stderr
        statuses.append(result.returncode)
    assert statuses == [0, 3, 0]  # the drifted batch alone alerts
    return root


def page_text(dom: str) -> str:
    """The visible text of a DOM: scripts and styles dropped, tags as spaces, one space each."""
    text = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", dom, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text)))


def browse(url: str, tmp_path: Path, screenshot: Path | None = None) -> str:
    """The DOM Chromium holds after running the page's scripts; optionally a screenshot."""
    command = [
        chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1400,2800", "--virtual-time-budget=20000", "--hide-scrollbars",
    ]  # fmt: skip
    if screenshot is not None:
        subprocess.run([*command, f"--screenshot={screenshot}", url],
                       capture_output=True, timeout=120, check=True)  # fmt: skip
        assert screenshot.stat().st_size > 10_000, "blank screenshot"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(screenshot, ARTIFACTS / screenshot.name)
    dumped = subprocess.run([*command, "--dump-dom", url], capture_output=True, text=True,
                            timeout=120, check=True)  # fmt: skip
    return dumped.stdout


@pytest.fixture
def ui(monitored: Path):
    """`gitops-ml monitor dashboard` (Evidently's UI) on a free port: its URL line and base URL."""
    port = free_port()
    server = subprocess.Popen(
        [str(SHARED_VENV / "bin/gitops-ml"), "monitor", "dashboard", "--port", str(port)],
        cwd=monitored, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, **QUIET_ENV},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        printed = server.stdout.readline()
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/version", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError as exc:
                if server.poll() is not None or time.monotonic() > deadline:
                    shown = f"{printed}{server.stdout.read()}"
                    raise AssertionError(f"the UI did not start: {shown}") from exc
                time.sleep(0.5)
        yield printed, base
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_evidently_ui_shows_the_three_runs_and_the_drift(ui, tmp_path: Path):
    printed, base = ui
    # The command prints the project's dashboard URL on localhost
    url = re.search(r"http://127\.0\.0\.1:\d+/projects/[0-9a-f-]{36}", printed)
    assert url and url.group(0).startswith(base), printed

    # The dashboard: three checks counted, the drift and quality panels drawn
    text = page_text(browse(url.group(0), tmp_path, tmp_path / "dashboard.png"))
    assert re.search(r"Checks in the history .*? 3 checks", text), text[:2000]
    for panel in ("Alerts", "Drift share over time", "Per-column drift score",
                  "Prediction drift", "Quality on labelled rows"):  # fmt: skip
        assert panel in text, panel
    assert re.search(r"Per-column drift score .*? x1 x2 x3", text), text[:3000]

    # The runs: three reports, exactly one alert, naming the drifted column
    reports = page_text(
        browse(f"{url.group(0)}/reports", tmp_path, tmp_path / "dashboard-reports.png")
    )
    assert "1–3 of 3" in reports, reports[:2000]
    names = re.findall(
        r"\d{4}-\d\d-\d\d \d\d:\d\d UTC: (ALERT|no alert), "
        r"[^{]*?columns drifted[^{]*?(?= [0-9a-f]{8}-)",
        reports,
    )
    assert sorted(names) == ["ALERT", "no alert", "no alert"], reports[:2000]
    assert "ALERT, 1 of 3 columns drifted (x1)" in reports


def test_the_static_page_shows_the_three_runs_and_the_drift(monitored: Path, tmp_path: Path):
    page = tmp_path / "site" / "index.html"
    subprocess.run(
        [str(SHARED_VENV / "bin/gitops-ml"), "monitor", "dashboard", "--static", str(page)],
        cwd=monitored, check=True, capture_output=True, env={**os.environ, **QUIET_ENV},
    )  # fmt: skip
    dom = browse(page.as_uri(), tmp_path, tmp_path / "dashboard-static.png")
    text = page_text(dom)
    assert "3 runs, 1 with an alert" in text
    rows = re.findall(r"<tr class=\"(alert|ok)\">", dom)
    assert rows == ["ok", "alert", "ok"]  # newest first: labelled, drifted, steady
    assert re.search(r"ALERT [0-9.]+ x1 ", text), text[:2000]
    # plotly drew every chart offline (its SVG exists only once its script ran)
    assert dom.count('class="main-svg"') >= 2 * 4, "a chart was not drawn"
    for panel in ("Drift share over time", "Per-column drift score", "Prediction drift",
                  "Quality on labelled rows"):  # fmt: skip
        assert panel in text
