"""The docs that can drift from the template are checked against it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import options_doc  # noqa: E402


def test_options_page_is_generated_from_cookiecutter_json():
    committed = (ROOT / "docs" / "options.md").read_text(encoding="utf-8")
    assert committed == options_doc.render(), "docs/options.md is stale: run `make docs`"


def test_every_option_has_a_prompt_and_a_note():
    config = json.loads((ROOT / "cookiecutter.json").read_text(encoding="utf-8"))
    options = [key for key in config if not key.startswith("_")]
    missing_prompts = [key for key in options if key not in config["__prompts__"]]
    assert missing_prompts == []
    derived = [key for key in options if "{{" in str(config[key]) or "{%" in str(config[key])]
    assert [key for key in derived if key not in options_doc.NOTES] == []


def test_readmes_open_with_their_two_commands():
    root = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```bash\n(.*?)```", root, re.S).group(1)
    assert [line.split()[:2] for line in first_block.strip().splitlines()] == [
        ["make", "demo"],
        ["make", "test"],
    ]
    generated = (ROOT / "{{cookiecutter.project_slug}}" / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```bash\n(.*?)```", generated, re.S).group(1)
    assert [line.split()[:2] for line in first_block.strip().splitlines()] == [
        ["make", "demo"],
        ["make", "test"],
    ]


def test_ci_runs_make_test():
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_template_help_names_the_folder_make_demo_writes():
    """nc-14 (a): `make help` said build/demo; `make demo-pipeline` (the pipeline-only demo)
    writes $(BUILD)/<default slug>."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    build = re.search(r"^BUILD := (\S+)$", makefile, re.M).group(1)
    demo = re.search(r"^DEMO := \$\(BUILD\)/(\S+)$", makefile, re.M).group(1)
    assert demo == "my-ml-project", "the default project_name 'My ML Project' gives this slug"
    help_text = subprocess.run(
        ["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert (
        f"  make demo-pipeline  Generate a project with the defaults into {build}/{demo} and run "
        "its pipeline"
    ) in help_text.splitlines()


def test_generated_readme_explains_metrics_diff_and_offline_plots():
    """nc-14 (b), (e): what a newcomer meets after the first `make repro`."""
    readme = (ROOT / "{{cookiecutter.project_slug}}" / "README.md").read_text(encoding="utf-8")
    text = " ".join(readme.split())
    assert (
        "`dvc metrics diff main` compares with the metrics *committed* on `main`: until "
        "`reports/metrics.json` is committed there (commit `dvc.lock` and `reports/` after your "
        'first `make repro`), DVC warns "failed to load some metrics for following revisions: '
        "'main'\" and shows `-` for the old values."
    ) in text
    assert (
        "`dvc plots show` draws with Vega loaded from a CDN, so the page needs the network; "
        "offline, open the PNGs in `reports/plots/`."
    ) in text
    gitignore = (ROOT / "{{cookiecutter.project_slug}}" / ".gitignore").read_text(encoding="utf-8")
    assert "dvc_plots/" in gitignore.splitlines()
