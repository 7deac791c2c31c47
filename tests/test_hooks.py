"""Hooks: invalid answers are rejected with one clear sentence and leave nothing behind;
hostile free text renders as data, never as code."""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from cookiecutter.exceptions import FailedHookException
from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config

from hooks import post_gen_project, pre_gen_project

from .cases import UNSUPPORTED
from .conftest import ROOT, render_project

VALID = {
    "project_slug": "churn-model",
    "package_name": "churn_model",
    "target_column": "target",
    "author_email": "a@b.io",
    "github_owner": "acme",
    "template_repo": "acme/cookiecutter-gitops-ml",
    "template_ref": "v1",
    "dataset": "demo",
    "dvc_remote": "local",
    "dvc_remote_url": "../churn-model-dvc-storage",
}

INVALID = [
    ({"project_slug": "Churn Model"}, "project_slug 'Churn Model' must be lowercase letters"),
    ({"project_slug": "churn_model"}, "project_slug 'churn_model' must be lowercase letters"),
    ({"project_slug": "-churn"}, "project_slug '-churn' must be lowercase letters"),
    ({"project_slug": "churn--model"}, "must be lowercase letters, digits and single hyphens"),
    ({"package_name": "class"}, "package_name 'class' must be a valid Python identifier"),
    ({"package_name": "2fast"}, "package_name '2fast' must be a valid Python identifier"),
    ({"package_name": "churn-model"}, "package_name 'churn-model' must be a valid Python"),
    ({"package_name": "Churn"}, "package_name 'Churn' must be lowercase"),
    ({"package_name": "a" * 33}, "must be at most 32 characters"),
    ({"target_column": ""}, "target_column must not be empty"),
    ({"target_column": "   "}, "target_column must not be empty"),
    ({"target_column": 'la"bel'}, "target_column 'la\"bel' must not contain quotes"),
    ({"author_email": "nobody"}, "author_email 'nobody' must look like name@domain"),
    ({"github_owner": "acme corp"}, "github_owner 'acme corp' must be a GitHub user"),
    ({"template_repo": "acme"}, "template_repo 'acme' must look like 'owner/name'"),
    ({"template_ref": "v1;rm -rf /"}, "template_ref 'v1;rm -rf /' must be a git tag"),
    ({"dvc_remote_url": "s3://bucket/x"}, "is a cloud URL but dvc_remote is 'local'"),
    ({"dvc_remote": "s3", "dvc_remote_url": "gs://b/x"}, "must start with s3:// for dvc_remote"),
]


@pytest.mark.parametrize(("change", "message"), INVALID, ids=[m for _, m in INVALID])
def test_pre_gen_rejects_each_rule_in_one_sentence(change, message, capsys):
    assert pre_gen_project.main({**VALID, **change}) == 1
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 1
    assert message in errors[0]


def test_pre_gen_accepts_valid_answers(capsys):
    assert pre_gen_project.main(VALID) == 0
    assert capsys.readouterr().err == ""


# Any human-readable project name gives a valid default slug and package (bug-08): accepting
# the suggested defaults must never fail after every prompt has been answered.
NAMES = [
    ("Détection de fraude", "detection-de-fraude", "detection_de_fraude"),
    ("Bob's Model", "bobs-model", "bobs_model"),
    ("Bob’s Model", "bobs-model", "bobs_model"),
    ("ML  Project", "ml-project", "ml_project"),
    ("  churn -- model_v2! ", "churn-model-v2", "churn_model_v2"),
    ("Ça marche: l'été 2024", "ca-marche-lete-2024", "ca_marche_lete_2024"),
    ("3D Vision", "project-3d-vision", "project_3d_vision"),
    ("???", "project", "project"),
    (
        "Détection de fraude bancaire en temps réel pour les PME",
        "detection-de-fraude-bancaire-en-temps-reel-pour-les-pme",
        "detection_de_fraude_bancaire_en",
    ),
]


@pytest.mark.parametrize(("name", "slug", "package"), NAMES, ids=[n for n, _, _ in NAMES])
def test_default_slug_and_package_are_valid_for_any_project_name(name, slug, package, capsys):
    context = generate_context(ROOT / "cookiecutter.json", extra_context={"project_name": name})
    answers = prompt_for_config(context, no_input=True)
    assert (answers["project_slug"], answers["package_name"]) == (slug, package)
    assert pre_gen_project.main(answers) == 0, capsys.readouterr().err


def test_accented_project_name_generates_with_the_name_kept_in_the_readme(tmp_path: Path, capfd):
    project = render_project(tmp_path, project_name="Détection de fraude")
    assert project.name == "detection-de-fraude"
    assert (project / "src/detection_de_fraude/__init__.py").is_file()
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# Détection de fraude\n")
    assert capfd.readouterr().out.splitlines()[-1] == "Ready: cd detection-de-fraude && make repro"


def test_typed_invalid_slug_is_still_rejected_with_its_value(tmp_path: Path, capfd):
    with pytest.raises(FailedHookException):
        render_project(tmp_path, project_name="Bob's Model", project_slug="bob's-model")
    assert (
        'ERROR: project_slug "bob\'s-model" must be lowercase letters, digits and single '
        "hyphens, starting with a letter (for example 'churn-model')."
    ) in capfd.readouterr().err.splitlines()


def test_csv_project_last_line_says_where_to_put_the_csv(tmp_path: Path, capfd):
    project = render_project(tmp_path, project_name="Churn", dataset="csv")
    assert capfd.readouterr().out.splitlines()[-1] == (
        "Ready: cd churn, put your CSV at data/raw/dataset.csv, then make expectations "
        "(README.md, 'Bring your own data')"
    )
    assert not (project / "data/raw/dataset.csv").exists()


@pytest.mark.parametrize(
    "answers",
    [{"project_slug": "Bad Slug"}, {"package_name": "import"}, {"target_column": ""}],
    ids=["slug", "keyword-package", "empty-target"],
)
def test_rejected_generation_leaves_nothing_behind(tmp_path: Path, answers):
    with pytest.raises(FailedHookException):
        render_project(tmp_path, **answers)
    assert list(tmp_path.iterdir()) == []


# Jinja in answers is left out on purpose: cookiecutter itself renders answers as templates
# (so defaults can reference other answers); that happens before our files are written.
@pytest.mark.parametrize(
    ("answers", "message"), UNSUPPORTED, ids=["+".join(a.values()) for a, _ in UNSUPPORTED]
)
def test_unsupported_combination_fails_generation(tmp_path: Path, capfd, answers, message):
    extra = {"dvc_remote_url": "../x"} if answers.get("dvc_remote") == "local" else {}
    with pytest.raises(FailedHookException):
        render_project(tmp_path, **answers, **extra)
    assert message in capfd.readouterr().err
    assert list(tmp_path.iterdir()) == []


HOSTILE = 'Robert\'); rm -rf / #""" $(touch PWNED) `touch PWNED2` \\ \\n <b>&amp;'


def test_hostile_free_text_renders_as_data(tmp_path: Path):
    project = render_project(
        tmp_path, project_name="Hostile", description=HOSTILE, author_name=HOSTILE
    )
    assert not list(tmp_path.rglob("PWNED*"))
    assert not list(Path.cwd().glob("PWNED*"))
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["description"] == HOSTILE
    assert pyproject["project"]["authors"][0]["name"] == HOSTILE
    answers = json.loads((project / ".cookiecutter.json").read_text(encoding="utf-8"))
    assert answers["description"] == HOSTILE
    log = subprocess.run(
        ["git", "log", "--format=%an"], cwd=project, capture_output=True, text=True, check=True
    )
    assert log.returncode == 0


def test_hostile_target_column_is_rejected_not_run(tmp_path: Path):
    with pytest.raises(FailedHookException):
        render_project(tmp_path, dataset="csv", target_column="$(touch PWNED)")
    assert not list(tmp_path.rglob("PWNED*"))


def test_unusual_but_valid_target_renders_into_valid_yaml(tmp_path: Path):
    project = render_project(tmp_path, dataset="csv", target_column="prix: €/m² #1")
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    assert params["data"]["target"] == "prix: €/m² #1"


def test_post_gen_skips_git_with_a_message_when_git_is_missing(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setattr(post_gen_project.shutil, "which", lambda name: None)
    assert post_gen_project.init_git(tmp_path, "A", "a@b.io") is False
    assert "git was not found: skipped 'git init'" in capsys.readouterr().out
    assert not (tmp_path / ".git").exists()


def test_post_gen_commits_on_main_with_answers_identity_when_none_is_configured(
    tmp_path: Path, monkeypatch
):
    monkeypatch.setenv("HOME", str(tmp_path))  # no global git identity
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("GIT_AUTHOR_EMAIL", raising=False)
    monkeypatch.delenv("GIT_COMMITTER_EMAIL", raising=False)
    project = tmp_path / "p"
    project.mkdir()
    (project / "README.md").write_text("hi", encoding="utf-8")
    assert post_gen_project.init_git(project, "Ada Lovelace", "ada@example.com")
    log = subprocess.run(
        ["git", "log", "--format=%an <%ae>|%s", "main"], cwd=project, capture_output=True,
        text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert log == f"Ada Lovelace <ada@example.com>|{post_gen_project.COMMIT_MESSAGE}"


def test_local_remote_path_resolves_from_the_project(tmp_path: Path):
    project = tmp_path / "p"
    assert post_gen_project.local_remote_path(project, "local", "../store") == tmp_path / "store"
    assert post_gen_project.local_remote_path(project, "s3", "s3://b/x") is None
