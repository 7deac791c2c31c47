"""This repository's release workflow, executed with act: a published vX.Y.Z release moves
the vX tag that generated projects use (through a recording `gh`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from .act_harness import run_act
from .conftest import ROOT

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template-repo")
    shutil.copytree(ROOT / ".github", path / ".github")
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


def test_a_release_moves_the_major_tag(repo, tmp_path):
    result = release(repo, tmp_path, "v1.4.2")
    assert result.job_results == {"move-major-tag": "success"}, result.tail()
    calls = [call["argv"] for call in result.calls("gh")]
    assert calls[0][:2] == ["api", "repos/acme/cookiecutter-gitops-ml/commits/v1.4.2"]
    assert calls[-1] == [
        "api", "--method", "PATCH", "repos/acme/cookiecutter-gitops-ml/git/refs/tags/v1",
        "-f", f"sha={SHA}", "-F", "force=true",
    ]  # fmt: skip
    assert f"`v1` now points at `v1.4.2` (`{SHA}`)." in result.summary


def test_a_malformed_tag_fails_without_touching_any_tag(repo, tmp_path):
    result = release(repo, tmp_path, "v1.4")
    assert result.job_results == {"move-major-tag": "failure"}
    assert any("is not vMAJOR.MINOR.PATCH" in e for e in result.annotations("error"))
    assert result.calls("gh") == []


def test_a_prerelease_does_not_move_the_tag(repo, tmp_path):
    result = release(repo, tmp_path, "v2.0.0-rc1", prerelease=True)
    assert result.calls("gh") == []
    assert "move-major-tag" not in result.job_results or result.job_results == {
        "move-major-tag": "skipped"
    }
