"""This repository's release workflow, executed with act: a published vX.Y.Z release builds
the gitops-ml library X.Y.Z, publishes it (through a recording stand-in of PyPI's publish
action), then moves the vX tag that generated projects use (through a recording `gh`)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from harness import run_act

from .conftest import ROOT

SHA = "0123456789abcdef0123456789abcdef01234567"
WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"
JOBS = ("build-library", "publish-library", "move-major-tag")


def library_version() -> str:
    init = (ROOT / "src" / "gitops_ml" / "__init__.py").read_text(encoding="utf-8")
    return re.search(r'^__version__ = "([^"]+)"$', init, re.M).group(1)


VERSION = library_version()
MAJOR = f"v{VERSION.split('.')[0]}"


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """The workflow, its script and what the library is built from; nothing else."""
    path = tmp_path_factory.mktemp("template-repo")
    shutil.copytree(ROOT / ".github", path / ".github")
    shutil.copytree(ROOT / "src" / "gitops_ml", path / "src" / "gitops_ml",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, path / name)
    for command in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "remote", "add", "origin", "https://github.com/acme/cookiecutter-gitops-ml.git"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "-m", "x"],
    ):
        subprocess.run(command, cwd=path, check=True, capture_output=True)
    return path


def release(repo: Path, tmp_path: Path, tag: str, prerelease: bool = False):
    event = {"action": "published", "release": {"tag_name": tag, "prerelease": prerelease}}
    return run_act(
        repo,
        "release",
        event,
        workflow="release.yml",
        tmp_path=tmp_path,
        template_repo="acme/cookiecutter-gitops-ml",
        template_ref="v1",
        env={"ACT_FAKE_GH_STDOUT": SHA},
    )


def test_a_release_publishes_the_library_then_moves_the_major_tag(repo, tmp_path):
    result = release(repo, tmp_path, f"v{VERSION}")
    assert result.job_results == dict.fromkeys(JOBS, "success"), result.tail()
    (published,) = result.calls("pypi-publish")
    assert published["files"] == [
        f"gitops_ml-{VERSION}-py3-none-any.whl",
        f"gitops_ml-{VERSION}.tar.gz",
    ]
    assert published["repository_url"] == "https://upload.pypi.org/legacy/"
    calls = [call["argv"] for call in result.calls("gh")]
    assert calls[0][:2] == ["api", f"repos/acme/cookiecutter-gitops-ml/commits/v{VERSION}"]
    assert calls[-1] == [
        "api", "--method", "PATCH", f"repos/acme/cookiecutter-gitops-ml/git/refs/tags/{MAJOR}",
        "-f", f"sha={SHA}", "-F", "force=true",
    ]  # fmt: skip
    assert f"- `gitops_ml-{VERSION}-py3-none-any.whl`" in result.summary
    assert f"`{MAJOR}` now points at `v{VERSION}` (`{SHA}`)." in result.summary


def test_a_tag_that_is_not_the_library_version_publishes_nothing(repo, tmp_path):
    other = f"v{int(VERSION.split('.')[0]) + 1}.0.0"
    result = release(repo, tmp_path, other)
    assert result.job_results.get("build-library") == "failure", result.tail()
    assert "success" not in result.job_results.values()
    (error,) = result.annotations("error")
    assert error.startswith(
        f"release tag {other} is not v{VERSION}, the version of gitops-ml in "
        "src/gitops_ml/__init__.py: nothing was published and no tag moved"
    )
    assert result.calls("pypi-publish") == []
    assert result.calls("gh") == []


def test_a_malformed_tag_fails_without_publishing_or_touching_any_tag(repo, tmp_path):
    result = release(repo, tmp_path, "v1.4")
    assert result.job_results.get("build-library") == "failure"
    assert any("release tag v1.4 is not" in e for e in result.annotations("error"))
    assert result.calls("pypi-publish") == []
    assert result.calls("gh") == []


def test_a_prerelease_neither_publishes_nor_moves_the_tag(repo, tmp_path):
    result = release(repo, tmp_path, "v2.0.0-rc1", prerelease=True)
    assert result.calls("pypi-publish") == []
    assert result.calls("gh") == []
    assert set(result.job_results.values()) <= {"skipped"}


def test_only_the_publish_job_gets_an_id_token_in_the_pypi_environment():
    release = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    jobs = release["jobs"]
    assert release["permissions"] == {}
    assert {name: job["permissions"] for name, job in jobs.items()} == {
        "build-library": {"contents": "read"},
        "publish-library": {"id-token": "write"},
        "move-major-tag": {"contents": "write"},
    }
    assert jobs["publish-library"]["environment"]["name"] == "pypi"
    assert jobs["publish-library"]["needs"] == "build-library"
    assert jobs["move-major-tag"]["needs"] == "publish-library"
    publish = [step.get("uses", "") for step in jobs["publish-library"]["steps"]]
    assert any(uses.startswith("pypa/gh-action-pypi-publish@") for uses in publish)
    # Trusted publishing: no API token reaches the job.
    assert "password" not in WORKFLOW.read_text(encoding="utf-8")
