"""The pinned stack imports together (Evidently 0.7 breaks with pandas 3: keep pandas<3) and
still fits pyproject.toml."""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

PROJECT = Path(__file__).resolve().parent.parent


def test_pandas_major_version_supported_by_evidently():
    import pandas

    assert int(pandas.__version__.split(".")[0]) < 3, (
        "pandas 3 breaks `import evidently` (0.7): keep the pandas<3 pin"
    )


def test_stack_imports():
    for module in ("evidently", "great_expectations", "mlflow", "dvc", "sklearn"):
        importlib.import_module(module)
    from evidently import DataDefinition, Dataset, Report  # noqa: F401  (the 0.7 API we use)


def test_installed_versions_satisfy_pyproject():
    """requirements.lock must still fit pyproject.toml: a Dependabot pull request raises the
    ranges there (it cannot read the lock), and fails here until `make lock` re-pins."""
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["dev"]
    stale = []
    for requirement in map(Requirement, wanted):
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        try:
            installed = version(requirement.name)
        except PackageNotFoundError:
            stale.append(f"{requirement.name} is not installed (pyproject.toml: {requirement})")
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            stale.append(f"{requirement.name} {installed} (pyproject.toml: {requirement})")
    assert not stale, "run `make lock` and commit requirements.lock: " + "; ".join(stale)
