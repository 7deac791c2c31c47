"""Who posts the pull-request report: gh by default, CML on request, gh when CML cannot be had.

In-process tests of actions/report/report.py with fake `cml`, `npm` and `gh` on PATH; the act
run of the same fallback on a generated project is in tests/test_pr_workflow.py
(`test_cml_that_npm_cannot_install_falls_back_to_gh_with_one_notice`).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CANVAS_ERROR = (
    "npm error Package pixman-1 was not found in the pkg-config search path.\n"
    "npm error gyp ERR! configure error\n"
)


def load_report():
    spec = importlib.util.spec_from_file_location(
        "report_action", ROOT / "actions" / "report" / "report.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


report = load_report()


def tool(bin_dir: Path, name: str, body: str = "") -> Path:
    """A fake CLI: records argv and whether a token was in its environment to <name>.calls."""
    log = bin_dir / f"{name}.calls"
    script = bin_dir / name
    script.write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        f"open({str(log)!r}, 'a').write(json.dumps("
        "{'argv': sys.argv[1:], 'token': bool(os.environ.get('GH_TOKEN'))}) + '\\n')\n" + body,
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return log


def calls(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def bin_dir(tmp_path, monkeypatch) -> Path:
    """The fakes' directory, first on a PATH that otherwise holds only git (so no npm, cml or
    gh of the host's is found)."""
    folder, system = tmp_path / "bin", tmp_path / "system"
    folder.mkdir()
    system.mkdir()
    (system / "git").symlink_to(shutil.which("git"))
    monkeypatch.setenv("PATH", os.pathsep.join([str(folder), str(system)]))
    monkeypatch.setenv("GH_TOKEN", "secret-token")
    return folder


def failing_npm(bin_dir: Path) -> Path:
    return tool(bin_dir, "npm", f"sys.stderr.write({CANVAS_ERROR!r})\nsys.exit(1)\n")


def installing_npm(bin_dir: Path) -> Path:
    """npm that puts a `cml` on PATH, as `npm install --global` does."""
    cml = bin_dir / "cml"
    body = (
        f"open({str(cml)!r}, 'w').write('#!/bin/sh\\nexit 0\\n')\nos.chmod({str(cml)!r}, 0o755)\n"
    )
    return tool(bin_dir, "npm", body)


def test_gh_is_the_default_backend():
    args = report.parse(["--out", "r.md"])
    assert args.backend == "gh"
    assert report.DEFAULT_BACKEND == "gh"


def test_gh_backend_never_touches_npm_or_cml(bin_dir, tmp_path):
    npm = failing_npm(bin_dir)
    assert report.choose_backend("gh", "0.20.6", tmp_path) == ("gh", "")
    assert calls(npm) == []


def test_cml_already_on_path_is_used_without_installing(bin_dir, tmp_path):
    tool(bin_dir, "cml")
    npm = failing_npm(bin_dir)
    assert report.choose_backend("cml", "0.20.6", tmp_path) == ("cml", "")
    assert calls(npm) == []


def test_cml_is_installed_from_npm_without_scripts_or_token(bin_dir, tmp_path, capsys):
    npm = installing_npm(bin_dir)
    assert report.choose_backend("cml", "0.20.6", tmp_path) == ("cml", "")
    (install,) = calls(npm)
    assert install["argv"] == [
        "install", "--global", "--ignore-scripts", "--no-fund", "--no-audit", "@dvcorg/cml@0.20.6"
    ]  # fmt: skip
    assert not install["token"], "the comment token must not reach npm or install scripts"
    assert "report: installed @dvcorg/cml@0.20.6 with npm" in capsys.readouterr().out


def test_npm_failing_on_canvas_falls_back_to_gh_and_folds_its_output(bin_dir, tmp_path, capsys):
    failing_npm(bin_dir)
    backend, why = report.choose_backend("cml", "0.20.6", tmp_path)
    assert (backend, why) == ("gh", "npm install @dvcorg/cml@0.20.6 failed (exit 1, log above)")
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "::group::npm install @dvcorg/cml@0.20.6 failed (exit 1)"
    assert out[1].startswith("::stop-commands::")
    assert "npm error Package pixman-1 was not found in the pkg-config search path." in out
    assert out[-2] == f"::{out[1].removeprefix('::stop-commands::')}::"
    assert out[-1] == "::endgroup::"


def test_no_npm_falls_back_to_gh(bin_dir, tmp_path):
    backend, why = report.choose_backend("cml", "0.20.6", tmp_path)
    assert backend == "gh"
    assert why == "cml is not on PATH and npm is not installed to install @dvcorg/cml@0.20.6"


def test_npm_that_installs_no_cml_falls_back_to_gh(bin_dir, tmp_path):
    tool(bin_dir, "npm")
    assert report.choose_backend("cml", "0.20.6", tmp_path) == (
        "gh",
        "npm installed @dvcorg/cml@0.20.6, but cml is not on PATH",
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--cml-version", "latest"], "cml-version must look like 0.20.6, got 'latest'"),
        (
            ["--plot-delivery", "cml-publish"],
            "plot-delivery cml-publish uploads the images through CML: set backend to cml",
        ),
    ],
)
def test_report_rejects_inputs_that_cannot_work(tmp_path, capsys, argv, message):
    assert report.main(["--out", str(tmp_path / "r.md"), "--base", "main", *argv], tmp_path) == 1
    out = capsys.readouterr().out
    assert out.startswith("::error title=Model report::")
    assert message in out


def plots_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "reports" / "plots").mkdir(parents=True)
    (repo / "reports" / "plots" / "roc_curve.png").write_bytes(b"png")
    subprocess.run(["git", "init", "-q", "-b", "pr", str(repo)], check=True)
    return repo


def test_main_posts_through_gh_with_one_notice_when_cml_cannot_install(bin_dir, tmp_path, capsys):
    failing_npm(bin_dir)
    gh = tool(bin_dir, "gh")
    repo = plots_repo(tmp_path)
    argv = ["--out", str(tmp_path / "out" / "r.md"), "--base", "main", "--backend", "cml"]
    argv += ["--plot-delivery", "cml-publish", "--repository", "o/r", "--pr-number", "7"]
    assert report.main(argv, cwd=repo) == 0
    out = capsys.readouterr().out
    notices = [line for line in out.splitlines() if line.startswith("::notice")]
    assert notices == [
        "::notice title=CML unavailable::CML is unavailable (npm install @dvcorg/cml@0.20.6 "
        "failed (exit 1, log above)): posting the report through the GitHub CLI (gh) instead."
    ]
    assert "report: created the 'Model report' comment with gh" in out
    find, create = calls(gh)
    assert create["argv"][:4] == ["api", "--method", "POST", "repos/o/r/issues/7/comments"]
    body = Path(create["argv"][-1].removeprefix("body=@")).read_text(encoding="utf-8")
    # gh cannot upload images: the plots are named, not embedded as broken local links
    assert "![" not in body
    assert (
        "Images not published (CML, which uploads them for `plot-delivery: cml-publish`, " in body
    )
    assert "`roc_curve.png`" in body


def test_main_with_cml_available_embeds_the_plots_for_cml_to_publish(bin_dir, tmp_path):
    cml = tool(bin_dir, "cml")
    repo = plots_repo(tmp_path)
    argv = ["--out", str(tmp_path / "out" / "r.md"), "--base", "main", "--backend", "cml"]
    assert report.main([*argv, "--plot-delivery", "cml-publish"], cwd=repo) == 0
    (call,) = calls(cml)
    assert call["argv"][:2] == ["comment", "update"] and "--publish" in call["argv"]
    body = Path(call["argv"][2]).read_text(encoding="utf-8")
    assert "![roc_curve.png](reports/plots/roc_curve.png)" in body
