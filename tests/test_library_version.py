"""One version number for the gitops-ml library, wherever it is written.

The release workflow publishes src/gitops_ml under the tag's version; generated projects pin
cookiecutter.json's `_gitops_ml_version`. If the two drift, a new project pins a release that
does not exist (or an old one).
"""

from __future__ import annotations

import json
import re
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from .conftest import ROOT, render_project, run

INIT = ROOT / "src" / "gitops_ml" / "__init__.py"


def library_version() -> str:
    found = re.findall(r'^__version__ = "([^"]+)"$', INIT.read_text(encoding="utf-8"), re.M)
    assert len(found) == 1, f"{INIT} must set __version__ once, as a plain string"
    return found[0]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and wheel the release workflow would publish, built from this working tree."""
    out = tmp_path_factory.mktemp("dist")
    run(["uv", "build", "--quiet", "--out-dir", str(out), str(ROOT)], ROOT)
    return out


def test_template_pins_the_library_version():
    config = json.loads((ROOT / "cookiecutter.json").read_text(encoding="utf-8"))
    assert config["_gitops_ml_version"] == library_version()


def test_wheel_metadata_carries_the_version_and_the_command(built: Path):
    version = library_version()
    (wheel,) = built.glob("*.whl")
    assert wheel.name == f"gitops_ml-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        info = f"gitops_ml-{version}.dist-info"
        metadata = Parser().parsestr(archive.read(f"{info}/METADATA").decode())
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
        names = set(archive.namelist())
    assert (metadata["Name"], metadata["Version"]) == ("gitops-ml", version)
    assert "gitops-ml = gitops_ml.cli:main" in entry_points
    # Not Python, easy to lose from a wheel: `gitops-ml deploy` renders it.
    assert "gitops_ml/serve/nginx.conf.in" in names


def test_sdist_carries_the_version_and_the_sources(built: Path):
    version = library_version()
    (sdist,) = built.glob("*.tar.gz")
    assert sdist.name == f"gitops_ml-{version}.tar.gz"
    with tarfile.open(sdist) as archive:
        names = set(archive.getnames())
    top = f"gitops_ml-{version}"
    assert {f"{top}/pyproject.toml", f"{top}/README.md", f"{top}/src/gitops_ml/cli.py"} <= names


def test_rendered_project_pins_the_library_version(tmp_path: Path):
    version = library_version()
    project = render_project(tmp_path)
    makefile = (project / "Makefile").read_text(encoding="utf-8")
    assert re.findall(r"^GITOPS_ML_VERSION := (\S+)$", makefile, re.M) == [version]
    pyproject = (project / "pyproject.toml").read_text(encoding="utf-8")
    assert re.findall(r'"gitops-ml==([^"]+)"', pyproject) == [version]
    # requirements.lock pins everything but the library: the pin above is the only one.
    lock = (project / "requirements.lock").read_text(encoding="utf-8")
    assert not re.search(r"^gitops-ml\b", lock, re.M)


def test_first_run_without_the_release_on_the_index_says_how_to_install_it(tmp_path: Path):
    """Offline, or before the pinned version is published: uv's error alone does not say that
    GITOPS_ML can point at a checkout or a wheel."""
    project = render_project(tmp_path)
    result = run(["make", "env"], project, check=False, UV_OFFLINE="1")
    assert result.returncode == 2
    assert (
        f"If the package index has no gitops-ml=={library_version()} (offline, or not "
        "released yet): run again with GITOPS_ML=/path/to/cookiecutter-gitops-ml or a "
        "gitops-ml wheel (README.md, 'The gitops-ml library')." in result.stderr.splitlines()
    )
    assert not (project / ".venv" / ".installed").exists()
