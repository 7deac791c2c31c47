"""Finish the generated project: a git repository with DVC ready and a first commit.

Small named functions plus main(), importable and unit-tested (tests/test_hooks.py,
tests/test_template_update.py). The DVC configuration itself (.dvc/config with the chosen
remote) is a rendered file. `.cruft.json` records the template's source and commit, so
`cruft update` can bring template changes in later.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml  # a cookiecutter dependency

COMMIT_MESSAGE = "Initial commit from cookiecutter-gitops-ml"
# cookiecutter's built-in abbreviations, expanded so that cruft (plain git) can clone the URL.
ABBREVIATIONS = {
    "gh:": "https://github.com/{}.git",
    "gl:": "https://gitlab.com/{}.git",
    "bb:": "https://bitbucket.org/{}",
}
# Context keys left out of .cruft.json: where this machine rendered from and to, and the Jinja
# extensions (cruft reads them from the template's cookiecutter.json again).
MACHINE_KEYS = ("_output_dir", "_repo_dir", "_checkout", "_extensions")


def git(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)


def git_identity(cwd: Path, author_name: str, author_email: str) -> list[str]:
    """Use the author from the answers only where git has no identity configured."""
    configured = subprocess.run(
        ["git", "config", "user.email"], cwd=cwd, capture_output=True, text=True
    ).stdout.strip()
    if configured:
        return []
    return ["-c", f"user.name={author_name}", "-c", f"user.email={author_email}"]


def init_git(project_dir: Path, author_name: str, author_email: str) -> bool:
    """`git init -b main` and commit everything; skip with a message where git is missing."""
    if shutil.which("git") is None:
        print(
            "git was not found: skipped 'git init' and the first commit. Install git, then run "
            "'git init -b main && git add -A && git commit -m \"Initial commit\"' in the project."
        )
        return False
    git("init", "-b", "main", cwd=project_dir)
    git("add", "-A", cwd=project_dir)
    identity = git_identity(project_dir, author_name, author_email)
    git(*identity, "commit", "-q", "-m", COMMIT_MESSAGE, cwd=project_dir)
    return True


def template_url(template: str) -> str:
    """The URL cruft clones: cookiecutter's abbreviations expanded, its `git+` prefix dropped,
    local paths absolute."""
    template = template.removeprefix("git+")
    for prefix, url in ABBREVIATIONS.items():
        if template.startswith(prefix):
            return url.format(template.removeprefix(prefix))
    if "://" in template or template.startswith("git@"):
        return template
    return str(Path(template).expanduser().resolve())


def cruft_state(answers: dict[str, Any], template: str, commit: str) -> dict[str, Any]:
    """.cruft.json as `cruft create` writes it: source, commit and the answers to render again."""
    context = {k: v for k, v in answers.items() if k not in MACHINE_KEYS}
    context.update(_template=template, _commit=commit)
    return {
        "template": template,
        "commit": commit,
        "checkout": answers.get("_checkout"),
        "context": {"cookiecutter": context},
        "directory": None,
    }


def record_template(project_dir: Path, answers: dict[str, Any]) -> bool:
    """Write .cruft.json for `cruft update`, from the git checkout cookiecutter rendered.

    Under `cruft create` or `cruft update` (the answers carry `_commit`) cruft writes it itself.
    Without git, or from a template that is not a git checkout, there is no commit to record.
    """
    if "_commit" in answers:
        return False
    repo = answers.get("_repo_dir")
    found = None
    if repo and shutil.which("git"):
        found = subprocess.run(
            ["git", "rev-parse", "--verify", "HEAD"], cwd=repo, capture_output=True, text=True
        )
    if found is None or found.returncode != 0:
        print(
            "The template is not a git checkout: no .cruft.json written. To take template "
            "updates later, run 'cruft link <template URL>' in the project."
        )
        return False
    commit = found.stdout.strip()
    changed = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=repo,
        capture_output=True,
        text=True,
    ).stdout
    if changed.strip():
        print(
            f"The template has uncommitted changes: .cruft.json records its last commit "
            f"{commit[:12]}, so 'cruft update' will count those changes as this project's own."
        )
    state = cruft_state(answers, template_url(str(answers.get("_template") or repo)), commit)
    text = json.dumps(state, ensure_ascii=False, indent=2, separators=(",", ": ")) + "\n"
    (project_dir / ".cruft.json").write_text(text, encoding="utf-8")
    return True


def local_remote_path(project_dir: Path, remote: str, url: str) -> Path | None:
    """The directory a `local` DVC remote points at (a relative URL starts at the project)."""
    if remote != "local":
        return None
    path = Path(url).expanduser()
    return path if path.is_absolute() else (project_dir / path).resolve()


def remove_empty_kserve_dir(project_dir: Path, deploy_target: str) -> None:
    """kserve/ keeps files only for deploy_target=kserve (their names are conditional)."""
    kserve = project_dir / "kserve"
    if deploy_target != "kserve" and kserve.is_dir() and not any(kserve.iterdir()):
        kserve.rmdir()


def remove_empty_feature_repo(project_dir: Path, feature_store: str) -> None:
    """feature_repo/ keeps files only for feature_store=feast (their names are conditional)."""
    repo = project_dir / "feature_repo"
    if feature_store != "feast" and repo.is_dir() and not any(repo.iterdir()):
        repo.rmdir()


def next_step(project_dir: Path, dataset: str) -> str:
    """The last line printed: the first command to run (a csv project has no data yet)."""
    if dataset != "csv":
        return f"Ready: cd {project_dir.name} && make repro"
    params = yaml.safe_load((project_dir / "params.yaml").read_text(encoding="utf-8"))
    source = params["data"]["source"]
    return (
        f"Ready: cd {project_dir.name}, put your CSV at {source}, then make expectations "
        "(README.md, 'Bring your own data')"
    )


def main(answers: dict[str, Any], project_dir: Path) -> int:
    remove_empty_kserve_dir(project_dir, answers.get("deploy_target", "local"))
    remove_empty_feature_repo(project_dir, answers.get("feature_store", "none"))
    record_template(project_dir, answers)
    init_git(project_dir, answers["author_name"], answers["author_email"])
    storage = local_remote_path(project_dir, answers["dvc_remote"], answers["dvc_remote_url"])
    if storage is not None:
        storage.mkdir(parents=True, exist_ok=True)
        print(f"DVC remote 'storage' is the local directory {storage}")
    print(next_step(project_dir, answers.get("dataset", "demo")))
    return 0


if __name__ == "__main__":
    sys.exit(main(json.loads(r"""{{ cookiecutter | tojson }}"""), Path.cwd()))
