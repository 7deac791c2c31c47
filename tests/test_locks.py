"""The shared test environment has exactly the versions a generated project installs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import render_project

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;]+)\s*(?:;\s*(.+))?$")


def pins(text: str) -> dict[tuple[str, str], str]:
    found = {}
    for line in text.splitlines():
        match = PIN.match(line.strip())
        if match:
            name, version, marker = match.groups()
            found[(name.lower().replace("_", "-"), marker or "")] = version
    return found


@pytest.mark.parametrize("remote", ["local", "s3", "gcs", "azure"])
def test_generated_lock_pins_the_remote_plugin(tmp_path: Path, remote: str):
    url = {"local": "../x", "s3": "s3://b/p", "gcs": "gs://b/p", "azure": "azure://b/p"}[remote]
    project = render_project(tmp_path, dvc_remote=remote, dvc_remote_url=url)
    locked = {name for name, _ in pins((project / "requirements.lock").read_text())}
    plugins = {"dvc-s3", "dvc-gs", "dvc-azure"}
    expected = {"local": set(), "s3": {"dvc-s3"}, "gcs": {"dvc-gs"}, "azure": {"dvc-azure"}}
    assert locked & plugins == expected[remote]
    assert {"dvc", "mlflow", "great-expectations", "evidently", "pandas"} <= locked


@pytest.mark.parametrize("feature_store", ["none", "feast"])
def test_dev_environment_matches_the_generated_lock(tmp_path: Path, feature_store: str):
    # The shared environment holds Feast; both choices lock the same version of every package
    # they share (markers may differ: Feast needs gunicorn on every platform).
    project = render_project(tmp_path, feature_store=feature_store)
    generated = pins((project / "requirements.lock").read_text())
    dev: dict[str, set[str]] = {}
    for (name, _), version in pins((ROOT / "requirements-dev.lock").read_text()).items():
        dev.setdefault(name, set()).add(version)
    different = {
        key: (version, dev.get(key[0]))
        for key, version in generated.items()
        if version not in dev.get(key[0], set())
    }
    assert different == {}, "run `make lock`"
    assert ("feast" in {name for name, _ in generated}) == (feature_store == "feast")


def test_pandas_stays_below_3_for_evidently():
    assert re.search(r"^pandas==2\.", (ROOT / "requirements-dev.lock").read_text(), re.M)
