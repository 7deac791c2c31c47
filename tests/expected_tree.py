"""The exact file tree a rendering must produce, as a function of the answers.

One place lists every generated file; tests/test_render.py asserts "these and no others".
When you add a template file, add it here under the condition that selects it.
"""

from __future__ import annotations

from collections.abc import Mapping


def expected_files(answers: Mapping[str, str]) -> set[str]:
    package = answers["package_name"]
    files = {
        ".cookiecutter.json",
        ".cruft.json",
        ".dvc/.gitignore",
        ".dvc/config",
        ".dvcignore",
        ".gitignore",
        ".github/workflows/ci.yml",
        ".github/workflows/main.yml",
        ".github/workflows/release.yml",
        ".github/workflows/rollback.yml",
        ".github/workflows/monitor.yml",
        ".github/workflows/pr.yml",
        ".github/zizmor.yml",
        ".github/dependabot.yml",
        "Makefile",
        "README.md",
        "data/raw/README.md",
        "dvc.yaml",
        "params.yaml",
        "pyproject.toml",
        "requirements.lock",
        f"src/{package}/__init__.py",
        f"src/{package}/config.py",
        f"src/{package}/data.py",
        f"src/{package}/stages/__init__.py",
        f"src/{package}/stages/evaluate.py",
        f"src/{package}/stages/featurize.py",
        f"src/{package}/stages/ingest.py",
        f"src/{package}/stages/train.py",
        f"src/{package}/stages/validate.py",
        "tests/__init__.py",
        "tests/conftest.py",
        "tests/helpers.py",
        "tests/test_config.py",
        "tests/test_environment.py",
        "tests/data/__init__.py",
        "tests/data/test_expectations.py",
        "tests/model/__init__.py",
        "tests/model/test_model.py",
        "tests/stages/__init__.py",
        "tests/stages/test_evaluate.py",
        "tests/stages/test_featurize.py",
        "tests/stages/test_ingest.py",
        "tests/stages/test_train.py",
        "tests/stages/test_validate.py",
    }
    if answers.get("deploy_target", "local") == "kserve":
        files |= {"kserve/inferenceservice.yaml", "kserve/README.md"}
    if answers["dataset"] == "demo":
        files.add("expectations/suite.json")
    if answers.get("feature_store", "none") == "feast":
        files |= {
            "feature_repo/feature_store.yaml",
            "feature_repo/definitions.py",
            f"src/{package}/stages/features.py",
            "tests/stages/test_features.py",
        }
    return files
