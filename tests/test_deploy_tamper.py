"""Deploy only what was promoted, byte for byte, end to end with deploy_target=local.

A generated project serves version 1 through nginx; its champion is published as release
`model-v1` into the `gh` stand-in's release store (harness/standins/bin/gh with ACT_GH_STATE_DIR),
whose stored `model.joblib` is then changed. The deploy path without an MLflow server
(`make champion-pull`, which actions/deploy runs before `make deploy`) must refuse with one
sentence naming the release and the asset, and version 1 must keep answering.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import make, render_project

pytestmark = pytest.mark.slow

STANDINS = Path(__file__).resolve().parent.parent / "harness" / "standins" / "bin"


def answer(url: str, project: Path) -> tuple[int, str]:
    """POST three test rows through nginx: (status, X-Model-Version)."""
    import pandas as pd

    rows = pd.read_csv(project / "data" / "interim" / "test.csv").drop(columns=["target"]).head(3)
    body = json.dumps({"dataframe_split": json.loads(rows.to_json(orient="split", index=False))})
    request = urllib.request.Request(
        f"{url}/invocations", body.encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.headers["X-Model-Version"]


def test_a_tampered_release_is_refused_and_the_serving_version_keeps_answering(tmp_path):
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.skip("nginx is not installed (apt-get install nginx)")
    # Given version 1 serving behind nginx, published as release model-v1
    project = render_project(tmp_path / "out")
    state, records = tmp_path / "gh-state", tmp_path / "records"
    state.mkdir()
    records.mkdir()
    gh = {
        "PATH": f"{STANDINS}{os.pathsep}{os.environ['PATH']}",
        "ACT_GH_STATE_DIR": str(state),
        "ACT_RECORD_DIR": str(records),
    }
    make(project, "repro")
    make(project, "promote")
    try:
        url = make(project, "deploy").stdout.strip().splitlines()[-1]
        assert answer(url, project) == (200, "1")
        make(project, "champion-push", **gh)
        stored = state / "releases" / "model-v1"
        recorded = json.loads((stored / "record.json").read_text())["sha256"]["model.joblib"]
        assert recorded == hashlib.sha256((stored / "model.joblib").read_bytes()).hexdigest()
        # When the stored asset is changed and the deploy path restores the release
        (stored / "model.joblib").write_bytes((stored / "model.joblib").read_bytes() + b"x")
        pulled = make(project, "champion-pull", check=False, **gh)
        # Then it refuses with one sentence naming the release and the asset
        actual = hashlib.sha256((stored / "model.joblib").read_bytes()).hexdigest()
        sentence = (
            f"release model-v1 asset model.joblib has SHA-256 {actual}, but its audit record "
            f"says {recorded}: refusing to serve it; version 1 keeps serving as 'champion'"
        )
        print(f"\n[tamper] make champion-pull: exit {pulled.returncode}\n{pulled.stderr.strip()}")
        assert pulled.returncode != 0
        assert f"error: {sentence}" in pulled.stderr
        # And version 1 keeps answering through nginx, still the registry's champion
        assert answer(url, project) == (200, "1")
        state_file = json.loads((project / ".deploy" / "state.json").read_text())
        assert state_file["stable"]["version"] == "1" and state_file["candidate"] is None
    finally:
        make(project, "undeploy", check=False)
