"""Template updates that keep the user's edits: `.cruft.json` and `cruft update`.

A git repository of this template (a copy of the working tree's template files) gets commit A,
then commit B that changes the generated README and the top of params.yaml. A project rendered
from A, by `cruft create` or by plain cookiecutter (whose post-generation hook writes
.cruft.json), gets user edits (a param, a stage, a new test), then `cruft update` to B: the
template's change arrives and the edits survive. Commit C then changes the very line the user
changed: cruft reports the conflict (git's three-way merge markers in a git project), it does
not overwrite the user's value.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

from hooks import post_gen_project

from .conftest import ROOT, SHARED_VENV

IDENTITY = ["-c", "user.name=Template Author", "-c", "user.email=template@example.com"]
USER = ["-c", "user.name=Project Owner", "-c", "user.email=owner@example.com"]
TEMPLATE_FILES = ("cookiecutter.json", "hooks", "{{cookiecutter.project_slug}}")
README_LINE = "Template change B: a line every generated README gets."
PARAMS_HEADER = "# Template change B: a comment at the top of params.yaml.\n"
USER_C, TEMPLATE_C = "    C: 0.05\n", "    C: 0.5\n"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()


def cruft(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    executable = SHARED_VENV / "bin" / "cruft"
    if not executable.exists():
        pytest.fail("cruft is not installed: it is in the dev extra (make lock, then make env)")
    return subprocess.run(
        [str(executable), *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path.name}: {old!r}"
    path.write_text(text.replace(old, new), encoding="utf-8")


# ---------------------------------------------------------------- the hook's part (fast)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("gh:acme/cookiecutter-gitops-ml", "https://github.com/acme/cookiecutter-gitops-ml.git"),
        ("gl:acme/tpl", "https://gitlab.com/acme/tpl.git"),
        ("git+https://example.com/t.git", "https://example.com/t.git"),
        ("file:///srv/t.git", "file:///srv/t.git"),
        ("git@github.com:acme/t.git", "git@github.com:acme/t.git"),
    ],
)
def test_template_url_is_one_cruft_can_clone(given, expected):
    assert post_gen_project.template_url(given) == expected


def test_template_url_of_a_local_checkout_is_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert post_gen_project.template_url("tpl") == str(tmp_path / "tpl")


def test_cruft_state_keeps_the_answers_and_drops_this_machines_paths():
    answers = {
        "project_slug": "p",
        "_extensions": ["cookiecutter.extensions.SlugifyExtension"],
        "_output_dir": "/home/me/out",
        "_repo_dir": "/home/me/.cookiecutters/t",
        "_checkout": "v1.2.0",
        "_gitops_ml_version": "1.0.0",
    }
    state = post_gen_project.cruft_state(answers, "https://x/t.git", "abc123")
    assert state == {
        "template": "https://x/t.git",
        "commit": "abc123",
        "checkout": "v1.2.0",
        "context": {
            "cookiecutter": {
                "project_slug": "p",
                "_gitops_ml_version": "1.0.0",
                "_template": "https://x/t.git",
                "_commit": "abc123",
            }
        },
        "directory": None,
    }


def test_record_template_leaves_cruft_json_to_cruft(tmp_path):
    """Under `cruft create`/`cruft update` the answers carry `_commit`: cruft writes the file."""
    assert not post_gen_project.record_template(tmp_path, {"_commit": "abc", "_repo_dir": "."})
    assert not (tmp_path / ".cruft.json").exists()


def test_record_template_from_a_directory_without_git_says_how_to_link(tmp_path, capsys):
    template = tmp_path / "template"
    template.mkdir()
    project = tmp_path / "project"
    project.mkdir()
    answers = {"_repo_dir": str(template), "_template": str(template)}
    assert not post_gen_project.record_template(project, answers)
    assert "not a git checkout: no .cruft.json written" in capsys.readouterr().out
    assert not (project / ".cruft.json").exists()


# ---------------------------------------------------------------- cruft update (slow)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[str, dict[str, str]]:
    """A bare git repository of the template (its URL, and commits A, B, C by name), main at B."""
    base = tmp_path_factory.mktemp("template")
    work = base / "work"
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *TEMPLATE_FILES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for name in listed:
        if (ROOT / name).is_file():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, work / name)
    git(base, "init", "-q", "-b", "main", str(work))
    git(work, "add", "-A")
    git(work, *IDENTITY, "commit", "-q", "-m", "A")
    commits = {"A": git(work, "rev-parse", "HEAD")}
    slug = work / "{{cookiecutter.project_slug}}"
    readme = slug / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + f"\n{README_LINE}\n", encoding="utf-8")
    params = slug / "params.yaml"
    params.write_text(PARAMS_HEADER + params.read_text(encoding="utf-8"), encoding="utf-8")
    git(work, *IDENTITY, "commit", "-q", "-am", "B: README line, params.yaml header")
    commits["B"] = git(work, "rev-parse", "HEAD")
    git(work, "checkout", "-q", "-b", "conflict")
    edit(params, "    C: 1.0\n", TEMPLATE_C)
    git(work, *IDENTITY, "commit", "-q", "-am", "C: another default C")
    commits["C"] = git(work, "rev-parse", "HEAD")
    git(work, "checkout", "-q", "main")
    bare = base / "cookiecutter-gitops-ml.git"
    git(base, "clone", "-q", "--bare", str(work), str(bare))
    return f"file://{bare}", commits


def create_with_cruft(url: str, commit: str, out: Path) -> Path:
    result = cruft(out, "create", url, "--checkout", commit, "--no-input")
    assert result.returncode == 0, result.stdout + result.stderr
    project = out / "my-ml-project"
    # The hook made the first commit; cruft wrote .cruft.json after it: commit it too.
    assert git(project, "status", "--porcelain") == "?? .cruft.json"
    git(project, "add", ".cruft.json")
    git(project, *USER, "commit", "-q", "-m", "Record the template (cruft)")
    return project


def create_with_cookiecutter(url: str, commit: str, out: Path) -> Path:
    config = out / "cookiecutter-config.yaml"
    config.write_text(
        f"cookiecutters_dir: {out / 'cookiecutters'}\nreplay_dir: {out / 'replay'}\n",
        encoding="utf-8",
    )
    project = Path(
        cookiecutter(
            url, checkout=commit, no_input=True, output_dir=str(out), config_file=str(config)
        )
    )
    # The post-generation hook recorded the template in the first commit.
    assert git(project, "status", "--porcelain") == ""
    return project


CREATE: dict[str, Callable[[str, str, Path], Path]] = {
    "cruft-create": create_with_cruft,
    "cookiecutter": create_with_cookiecutter,
}


def user_edits(project: Path) -> None:
    """A changed param, an edited stage, an added test: committed, as cruft needs."""
    edit(project / "params.yaml", "    C: 1.0\n", USER_C)
    stage = project / "src" / "my_ml_project" / "stages" / "train.py"
    stage.write_text(
        stage.read_text(encoding="utf-8") + "\n\n# Project note: C tuned on our data.\n",
        encoding="utf-8",
    )
    (project / "tests" / "test_our_data.py").write_text(
        "def test_our_rule():\n    assert 0.05 < 1\n", encoding="utf-8"
    )
    git(project, "add", "-A")
    git(project, *USER, "commit", "-q", "-m", "Our changes")


@pytest.fixture(scope="module", params=sorted(CREATE))
def updated(request, template, tmp_path_factory):
    """A project rendered from A, edited, then `cruft update`d to B (main)."""
    url, commits = template
    out = tmp_path_factory.mktemp(request.param)
    project = CREATE[request.param](url, commits["A"], out)
    state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    # cruft create stores a file:// URL as the path it names; both clone the same repository.
    assert state["template"] in (url, url.removeprefix("file://"))
    assert state["commit"] == commits["A"]
    before = {
        name: (project / name).read_text(encoding="utf-8") for name in ("README.md", "params.yaml")
    }
    user_edits(project)
    result = cruft(project, "update", "--skip-apply-ask")
    print(f"cruft update ({request.param}):\n{result.stdout}{result.stderr}")
    return project, commits, before, result


@pytest.mark.slow
def test_update_brings_the_template_change(updated):
    project, commits, before, result = updated
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Good work! Project's cruft has been updated" in result.stdout
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert README_LINE not in before["README.md"]
    assert readme == before["README.md"] + f"\n{README_LINE}\n"
    assert (project / "params.yaml").read_text(encoding="utf-8").startswith(PARAMS_HEADER)
    state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert state["commit"] == commits["B"]


@pytest.mark.slow
def test_update_keeps_the_users_edits(updated):
    project, *_ = updated
    params = (project / "params.yaml").read_text(encoding="utf-8")
    assert USER_C in params and "    C: 1.0\n" not in params
    stage = (project / "src" / "my_ml_project" / "stages" / "train.py").read_text()
    assert stage.endswith("# Project note: C tuned on our data.\n")
    assert (project / "tests" / "test_our_data.py").is_file()
    changed = set(git(project, "diff", "--name-only", "HEAD").split())
    assert changed == {".cruft.json", "README.md", "params.yaml"}
    assert not list(project.rglob("*.rej"))


@pytest.mark.slow
def test_conflicting_update_marks_the_conflict_instead_of_overwriting(updated):
    """Template commit C changes the line the user changed: cruft's git three-way merge leaves
    both versions between conflict markers and names the file (a project outside git would get
    `.rej` files instead)."""
    project, commits, _, _ = updated
    git(project, "add", "-A")
    git(project, *USER, "commit", "-q", "-m", "Template update to B")
    result = cruft(project, "update", "--skip-apply-ask", "--checkout", "conflict")
    print(f"cruft update to the conflicting commit:\n{result.stdout}{result.stderr}")
    assert "Applied patch to 'params.yaml' with conflicts." in result.stderr
    assert "U params.yaml" in result.stderr
    params = (project / "params.yaml").read_text(encoding="utf-8")
    assert f"<<<<<<< ours\n{USER_C}=======\n{TEMPLATE_C}>>>>>>> theirs\n" in params
    assert "UU params.yaml" in git(project, "status", "--porcelain").splitlines()
    state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert state["commit"] == commits["C"]
