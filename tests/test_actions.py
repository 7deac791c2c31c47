"""In-process tests of the reusable actions' Python helpers (actions/<name>/*.py).

The YAML of each action is thin glue (tested through act in tests/test_actions_act.py);
what a user sees (report Markdown, job-summary text, error messages, outputs) is decided here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent


def load(relative: str) -> ModuleType:
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(path.stem + "_under_test", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


report = load("actions/report/report.py")
validate = load("actions/validate-data/validate.py")
train = load("actions/train/train.py")
setup = load("actions/setup/setup.py")
release = load(".github/scripts/move_major_tag.py")
commands = load("actions/_shared/workflow_commands.py")
failures = load("actions/_shared/validation_failures.py")

METRICS_DIFF = {
    "reports/metrics.json": {
        "accuracy": {"old": 0.982456, "new": 0.973684, "diff": -0.008772},
        "roc_auc": {"old": 0.99537, "new": 0.996032, "diff": 0.000662},
        "recall": {"old": 0.986111, "new": 0.986111, "diff": 0.0},
    }
}
FAILED_SUMMARY = {
    "success": False,
    "suite": "demo",
    "splits": {
        "train": {
            "success": False,
            "rows": 455,
            "evaluated": 95,
            "failed": [
                {
                    "expectation": "expect_column_values_to_be_between",
                    "column": "mean radius",
                    "why": "values far outside the range are unit errors",
                    "unexpected_count": 12,
                    "examples": [-5.0, -5.0, 900.5],
                }
            ],
        },
        "test": {"success": True, "rows": 114, "evaluated": 95, "failed": []},
    },
}
PASSED_SUMMARY = {
    "success": True,
    "suite": "demo",
    "splits": {
        "train": {"success": True, "rows": 455, "evaluated": 95, "failed": []},
        "test": {"success": True, "rows": 114, "evaluated": 95, "failed": []},
    },
}


# ------------------------------------------------------------------ report: metrics, params


def test_metrics_table_shows_base_value_pr_value_and_change():
    text = report.metrics_section(METRICS_DIFF, "main")
    assert "| Metric | main | this PR | Change |" in text
    assert "| accuracy | 0.982456 | 0.973684 | -0.008772 |" in text
    assert "| roc_auc | 0.99537 | 0.996032 | +0.000662 |" in text
    assert "| recall | 0.986111 | 0.986111 | 0 |" in text


def test_metrics_table_marks_a_metric_missing_on_the_base_branch():
    diff = {"reports/metrics.json": {"f1": {"old": None, "new": 0.5}}}
    assert "| f1 | - | 0.5 | - |" in report.metrics_section(diff, "main")


def test_metrics_table_names_the_file_when_there_are_several():
    diff = {**METRICS_DIFF, "reports/extra.json": {"auc": {"old": 1, "new": 2, "diff": 1}}}
    text = report.metrics_section(diff, "main")
    assert "| File | Metric | main | this PR | Change |" in text
    assert "| `reports/extra.json` | auc | 1 | 2 | +1 |" in text


def test_metrics_section_names_the_positive_class_and_warns_on_thin_evidence():
    warning = "the test split holds 1 row(s) of class 'vip' (evaluate.min_class_rows: 5)"
    diff = {
        "reports/metrics.json": {
            "f1": {"old": 0.8, "new": 0.7, "diff": -0.1},
            "positive_label": {"old": "churned", "new": "churned"},
            "warning": {"old": None, "new": warning},
        }
    }
    text = report.metrics_section(diff, "main")
    assert "about the positive class `churned`." in text
    assert f"⚠️ **Too little evidence**: {warning}" in text
    multiclass = {"reports/metrics.json": {"average": {"old": "macro", "new": "macro"}}}
    assert "macro averages over the classes" in report.metrics_section(multiclass, "main")


def test_metrics_section_refuses_to_show_stale_numbers_when_training_did_not_run():
    text = report.metrics_section(METRICS_DIFF, "main", trained=False)
    assert "Training did not run on this pull request" in text
    assert "0.973684" not in text


def test_params_section_lists_each_changed_parameter():
    diff = {"params.yaml": {"train.logistic_regression.C": {"old": 1.0, "new": 0.05}}}
    text = report.params_section(diff, "main")
    assert "| `train.logistic_regression.C` | 1 | 0.05 |" in text
    assert "No parameter differs" in report.params_section({}, "main")


# ------------------------------------------------------------------ report: validation


def test_validation_section_passed_gives_counts():
    text = report.validation_section(PASSED_SUMMARY)
    assert "✅ **Passed**" in text
    assert "train: 455 rows, 95 expectations" in text


def test_validation_section_failed_names_expectation_column_examples_and_why():
    text = report.validation_section(FAILED_SUMMARY)
    assert "❌ **Failed**: 1 expectation(s)" in text
    assert (
        "| train | `expect_column_values_to_be_between` | `mean radius` | "
        "12 bad values (e.g. -5, -5, 900.5) | values far outside the range are unit errors |"
    ) in text


def test_validation_section_when_validation_did_not_run():
    assert "did not run" in report.validation_section(None)


# ------------------------------------------------------------------ report: data summary


def frame(n: int, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    import numpy as np

    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"x": rng.normal(shift, 1, n), "colour": rng.choice(["red", "blue"], n), "y": range(n)}
    )


def test_data_comparison_detects_row_schema_and_type_changes():
    base = frame(200)
    current = frame(220, seed=1).drop(columns=["colour"]).assign(extra=1.0)
    current["y"] = current["y"].astype(float)
    result = report.compare_frames("train.csv", current, base, 0.05)
    assert (result.base_rows, result.rows) == (200, 220)
    assert result.added_columns == ["extra"]
    assert result.removed_columns == ["colour"]
    assert result.type_changes == [("y", "int64", "float64")]
    text = report.data_section([result], "main", 0.05)
    assert (
        "| `train.csv` | 200 | 220 | +20 | added `extra`; removed `colour`; `y` int64 → float64 |"
        in text
    )


def test_data_comparison_flags_a_shifted_column_and_not_an_unchanged_one():
    result = report.compare_frames("d.csv", frame(500, shift=1.0, seed=1), frame(500), 0.05)
    assert [column for column, _ in result.drifted] == ["x"]
    same = report.compare_frames("d.csv", frame(500), frame(500), 0.05)
    assert same.drifted == []
    assert "| none |" in report.data_section([same], "main", 0.05)


def test_data_comparison_without_base_data_says_so():
    result = report.compare_frames("d.csv", frame(10), None, 0.05)
    result.note = "not readable on the base branch (FileNotFoundError)"
    text = report.data_section([result], "main", 0.05)
    assert (
        "| `d.csv` | - | 10 | - | not readable on the base branch (FileNotFoundError) | - |" in text
    )


# ------------------------------------------------------------------ report: plots and posting


PLOTS = ["reports/plots/roc_curve.png", "reports/plots/confusion_matrix.png"]


def test_plots_default_artifact_delivery_links_the_artifact_and_embeds_nothing():
    text = report.plots_section(
        PLOTS, "artifact", "https://github.com/o/r/actions/runs/1/artifacts/9"
    )
    assert "[plots](https://github.com/o/r/actions/runs/1/artifacts/9)" in text
    assert "`roc_curve.png`" in text
    assert "![" not in text


def test_plots_cml_publish_embeds_local_images_for_cml_to_upload():
    text = report.plots_section(PLOTS, "cml-publish")
    assert "![roc_curve.png](reports/plots/roc_curve.png)" in text


def test_plots_none_only_names_the_files():
    text = report.plots_section(PLOTS, "none")
    assert "not attached" in text
    assert "![" not in text


def test_cml_command_updates_one_sticky_comment_and_only_publishes_on_request():
    command = report.cml_command(Path("r.md"), "Model report", publish=False)
    assert command[:4] == ["cml", "comment", "update", "r.md"]
    assert "--watermark-title=Model report" in command
    assert "--no-publish" in command
    assert "--publish" in report.cml_command(Path("r.md"), "Model report", publish=True)


def fake_tool(bin_dir: Path, name: str, stdout: str = "") -> Path:
    """A recording stand-in: appends its argv (JSON) to <name>.calls and prints `stdout`."""
    log = bin_dir / f"{name}.calls"
    script = bin_dir / name
    script.write_text(
        "#!/usr/bin/env python3\nimport json, sys\n"
        f"open({str(log)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        f"sys.stdout.write({stdout!r})\n",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return log


def calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_gh_backend_edits_the_comment_carrying_the_watermark(tmp_path, monkeypatch):
    log = fake_tool(tmp_path, "gh", stdout="4242\n")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    body = tmp_path / "report.md"
    body.write_text("## Model report\n", encoding="utf-8")
    what = report.post(body, "gh", "Model report", False, "o/r", "7", tmp_path)
    assert what == "updated the 'Model report' comment with gh"
    find, write = calls(log)
    assert (
        find[-1]
        == '.[] | select(.body | contains("<!-- gitops-ml report: Model report -->")) | .id'
    )
    assert write[:4] == ["api", "--method", "PATCH", "repos/o/r/issues/comments/4242"]
    posted = Path(write[-1].removeprefix("body=@")).read_text(encoding="utf-8")
    assert posted.startswith("<!-- gitops-ml report: Model report -->\n## Model report")


def test_gh_backend_creates_the_comment_on_the_first_push(tmp_path, monkeypatch):
    log = fake_tool(tmp_path, "gh", stdout="")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    body = tmp_path / "report.md"
    body.write_text("x\n", encoding="utf-8")
    assert "created" in report.post(body, "gh", "Model report", False, "o/r", "7", tmp_path)
    assert calls(log)[1][:4] == ["api", "--method", "POST", "repos/o/r/issues/7/comments"]


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--plot-delivery", "imgur", "plot-delivery must be one of artifact, cml-publish, none"),
        ("--backend", "slack", "backend must be one of cml, gh, got 'slack'"),
        ("--title", "a<b", "title 'a<b' must be 1-80 letters"),
        ("--drift-threshold", "5", "drift-threshold must be a number between 0 and 1"),
        ("--base", "", "base-ref is empty"),
    ],
)
def test_report_rejects_bad_inputs_with_an_error_annotation(tmp_path, capsys, flag, value, message):
    argv = ["--out", str(tmp_path / "r.md"), "--base", "main", flag, value]
    assert report.main(argv, cwd=tmp_path) == 1
    out = capsys.readouterr().out
    assert out.startswith("::error title=Model report::")
    assert message in out


def test_report_in_a_repo_without_the_base_branch_explains_fetch_depth(tmp_path, monkeypatch):
    subprocess.run(["git", "init", "-q", "-b", "pr", str(tmp_path)], check=True)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    argv = ["--out", str(tmp_path / "r.md"), "--base", "main", "--comment", "false"]
    assert report.main(argv, cwd=tmp_path) == 0
    text = summary.read_text(encoding="utf-8")
    assert "The base branch `main` is not in this clone" in text
    assert text == (tmp_path / "r.md").read_text(encoding="utf-8")


def test_report_skips_the_comment_with_a_notice_when_comment_is_false(tmp_path, capsys):
    subprocess.run(["git", "init", "-q", "-b", "pr", str(tmp_path)], check=True)
    argv = ["--out", str(tmp_path / "r.md"), "--base", "main", "--comment", "false"]
    assert report.main(argv, cwd=tmp_path) == 0
    assert "::notice title=Report not posted::" in capsys.readouterr().out


# ------------------------------------------------------------------ report: comment length

SENSORS = [f"sensor_{i:03d}" for i in range(150)]


def unit_change_summary() -> dict:
    """bug-11: a Celsius -> Fahrenheit change breaks the range of 150 columns in both splits."""
    failed = [
        {
            "expectation": "expect_column_values_to_be_between",
            "column": column,
            "why": "values far outside the range seen when the suite was built are unit changes "
            "or sensor faults",
            "unexpected_count": 137,
            "examples": [98.456789, 101.234567, 77.891234, 104.567891, 95.123456],
        }
        for column in SENSORS
    ]
    splits = {
        name: {"success": False, "rows": rows, "evaluated": 302, "failed": failed}
        for name, rows in (("train", 240), ("test", 60))
    }
    return {"success": False, "suite": "sensors", "splits": splits}


def test_report_comment_fits_github_limit_and_counts_what_it_summarises(tmp_path, monkeypatch):
    subprocess.run(["git", "init", "-q", "-b", "pr", str(tmp_path)], check=True)
    (tmp_path / "validation.json").write_text(json.dumps(unit_change_summary()), encoding="utf-8")
    summary = tmp_path / "summary.md"
    outputs = tmp_path / "outputs"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    argv = ["--out", str(tmp_path / "report.md"), "--base", "main", "--comment", "false"]
    argv += ["--validation-summary", "validation.json"]
    assert report.main(argv, cwd=tmp_path) == 0

    full = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert len(full) > report.COMMENT_LIMIT, "the data must overflow a comment to test anything"
    assert summary.read_text(encoding="utf-8") == full
    for column in SENSORS:
        assert f"| train | `expect_column_values_to_be_between` | `{column}` |" in full
        assert f"| test | `expect_column_values_to_be_between` | `{column}` |" in full
    comment_file = tmp_path / "report.comment.md"
    assert f"comment={comment_file}" in outputs.read_text(encoding="utf-8").splitlines()
    comment = comment_file.read_text(encoding="utf-8")
    assert len(comment) < report.COMMENT_LIMIT
    assert "❌ **Failed**: 300 expectation(s) of suite `sensors` failed" in comment
    assert (
        "- 150 columns: `expect_column_values_to_be_between` failed in train and test "
        "(`sensor_000`, `sensor_001`, `sensor_002`, `sensor_003`, `sensor_004` ... and 145 more)"
    ) in comment.splitlines()
    assert (
        "Each failure with its bad values and why it exists: full list in the job summary and "
        "the report file." in comment.splitlines()
    )


def test_report_comment_groups_failures_by_expectation_and_splits():
    summary = unit_change_summary()
    summary["splits"]["test"]["failed"] = summary["splits"]["test"]["failed"][:3] + [
        {"expectation": "expect_table_row_count_to_be_between", "observed": 60}
    ]
    text = report.validation_section(summary, limit=20)
    assert text.splitlines()[4:6] == [
        "- 3 columns: `expect_column_values_to_be_between` failed in train and test "
        "(`sensor_000`, `sensor_001`, `sensor_002`)",
        "- 147 columns: `expect_column_values_to_be_between` failed in train (`sensor_003`, "
        "`sensor_004`, `sensor_005`, `sensor_006`, `sensor_007` ... and 142 more)",
    ]
    assert "- the table: `expect_table_row_count_to_be_between` failed in test" in text
    assert report.validation_section(summary) == report.validation_section(summary, limit=None)
    assert text.count("\n- ") == 3


def test_report_comment_cuts_long_column_lists_after_the_limit():
    drifted = report.DatasetComparison("train.csv", 300, 300)
    drifted.drifted = [(column, 1e-9) for column in SENSORS]
    full = report.data_section([drifted], "main", 0.05)
    assert all(f"`{column}` (p=1e-09)" in full for column in SENSORS)
    short = report.data_section([drifted], "main", 0.05, limit=20)
    assert "| 150 columns: `sensor_000` (p=1e-09), " in short
    assert "`sensor_019` (p=1e-09) ... and 130 more |" in short
    assert "`sensor_020`" not in short
    assert "Column lists cut after 20: full list in the job summary and the report file." in short


def test_report_comment_last_guard_cuts_at_a_line_and_says_where_the_rest_is():
    text = "\n".join(f"| row {i} | {'x' * 90} |" for i in range(2000))
    cut = report.fit(text)
    assert len(cut) <= report.COMMENT_BUDGET < report.COMMENT_LIMIT
    assert cut.endswith(
        "\n\n... the report is cut here (too long for a comment): full list in the job summary "
        "and the report file.\n"
    )
    assert cut.split("\n\n")[0].splitlines()[-1].endswith("|")


# ------------------------------------------------------------------ validate-data


def test_validate_summary_markdown_lists_failures():
    text = validate.summarize(FAILED_SUMMARY)
    assert text.startswith("### Data validation ❌ failed")
    assert "| train | `expect_column_values_to_be_between` | `mean radius` | 12 bad values" in text
    assert validate.summarize(PASSED_SUMMARY).startswith("### Data validation ✅ passed")


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _validate_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        "VALIDATE_STAGE": "validate",
        "VALIDATE_SUMMARY": "reports/validation.json",
        "GITHUB_OUTPUT": str(tmp_path / "out"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
    }
    return {**env, **extra}


def test_validate_failure_sets_outputs_annotations_and_summary(in_tmp, capsys):
    tmp_path = in_tmp
    env = _validate_env(tmp_path)

    def stage_fails(command):
        assert command == ["dvc", "repro", "validate"]
        Path("reports").mkdir()
        Path(env["VALIDATE_SUMMARY"]).write_text(json.dumps(FAILED_SUMMARY))
        return 1

    assert validate.main(env, stage_fails) == 1
    assert (
        f"success=false\nsummary={env['VALIDATE_SUMMARY']}\n"
        == Path(env["GITHUB_OUTPUT"]).read_text()
    )
    assert (
        "::error title=Data validation::[train] expect_column_values_to_be_between failed on "
        "mean radius: 12 bad values (e.g. -5, -5, 900.5)"
    ) in capsys.readouterr().out
    assert "❌ failed" in Path(env["GITHUB_STEP_SUMMARY"]).read_text()


def test_validate_success_outputs_true(in_tmp):
    tmp_path = in_tmp
    env = _validate_env(tmp_path)
    Path("reports").mkdir()
    Path(env["VALIDATE_SUMMARY"]).write_text(json.dumps(PASSED_SUMMARY))
    assert validate.main(env, lambda command: 0) == 0
    assert Path(env["GITHUB_OUTPUT"]).read_text().startswith("success=true\n")


def test_validate_ignores_a_stale_summary_when_the_stage_failed_earlier(in_tmp, capsys):
    tmp_path = in_tmp
    env = _validate_env(tmp_path)
    Path("reports").mkdir()
    stale = Path(env["VALIDATE_SUMMARY"])
    stale.write_text(json.dumps(PASSED_SUMMARY))
    os.utime(stale, (1_000_000, 1_000_000))
    assert validate.main(env, lambda command: 1) == 1
    assert Path(env["GITHUB_OUTPUT"]).read_text() == "success=false\nsummary=\n"
    assert "failed before writing" in capsys.readouterr().out


def test_validate_rejects_a_bad_stage_name(tmp_path, capsys):
    env = _validate_env(tmp_path, VALIDATE_STAGE="validate; rm -rf /")
    assert validate.main(env, lambda command: pytest.fail("must not run")) == 1
    assert (
        "::error title=validate-data::stage 'validate; rm -rf /' is not a DVC stage name"
        in capsys.readouterr().out
    )


# ------------------------------------------------------------------ train


class Done:
    def __init__(self, returncode: int = 0, stdout: str = ""):
        self.returncode, self.stdout = returncode, stdout


def _train_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        "TRAIN_TARGETS": "",
        "TRAIN_RUN_CACHE": "true",
        "TRAIN_PUSH": "true",
        "GITHUB_OUTPUT": str(tmp_path / "out"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
    }
    return {**env, **extra}


SHOW = {"": {"data": {"reports/metrics.json": {"data": {"accuracy": 0.97}}}}}


def test_train_pulls_run_cache_reproduces_pushes_and_outputs_the_metrics(tmp_path):
    seen = []

    def runner(command):
        seen.append(command)
        return Done(stdout=json.dumps(SHOW)) if command[1] == "metrics" else Done()

    assert train.main(_train_env(tmp_path), runner) == 0
    assert seen[:3] == [
        ["dvc", "pull", "--run-cache", "--allow-missing"],
        ["dvc", "repro"],
        ["dvc", "push", "--run-cache"],
    ]
    out = Path(tmp_path / "out").read_text()
    assert "metrics-path=reports/metrics.json\n" in out
    assert '"accuracy": 0.97' in out
    assert "| `reports/metrics.json` | accuracy | 0.97 |" in (tmp_path / "summary.md").read_text()


def test_train_a_read_only_remote_is_a_warning_not_a_failure(tmp_path, capsys):
    def runner(command):
        if command[1] in ("pull", "push"):
            return Done(1)
        return Done(stdout=json.dumps(SHOW))

    assert train.main(_train_env(tmp_path), runner) == 0
    out = capsys.readouterr().out
    assert "::warning title=train::dvc push --run-cache failed; continuing without it" in out


def test_train_fails_with_an_error_when_repro_fails(tmp_path, capsys):
    def runner(command):
        return Done(1) if command[1] == "repro" else Done()

    assert (
        train.main(_train_env(tmp_path, TRAIN_RUN_CACHE="false", TRAIN_PUSH="false"), runner) == 1
    )
    assert "::error title=train::dvc repro failed (see the log above)" in capsys.readouterr().out


def test_train_rejects_bad_inputs(tmp_path, capsys):
    assert train.main(_train_env(tmp_path, TRAIN_PUSH="yes"), lambda c: pytest.fail("ran")) == 1
    assert "::error title=train::push must be true or false, got 'yes'" in capsys.readouterr().out
    assert train.main(_train_env(tmp_path, TRAIN_TARGETS="train $(id)"), lambda c: Done()) == 1


# ------------------------------------------------------------------ setup


def _setup_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        "SETUP_PYTHON_VERSION": "3.11",
        "SETUP_DVC_PULL": "true",
        "SETUP_VENV": ".venv",
        "SETUP_REQUIREMENTS": "requirements.lock",
        "GITHUB_ENV": str(tmp_path / "env"),
        "RUNNER_TEMP": str(tmp_path),
    }
    return {**env, **extra}


def test_setup_masks_secrets_before_printing_and_exports_them(tmp_path, capsys):
    key = '{\n  "type": "service_account",\n  "private_key": "SECRET"\n}'
    env = _setup_env(
        tmp_path,
        SETUP_AWS_ACCESS_KEY_ID="AKIAEXAMPLE",
        SETUP_AWS_SECRET_ACCESS_KEY="s3cr3t",
        SETUP_GOOGLE_CREDENTIALS=key,
    )
    assert setup.main(env) == 0
    out = capsys.readouterr().out
    assert out.index("::add-mask::s3cr3t") < out.index("setup:")
    assert '::add-mask::"private_key": "SECRET"' in out
    assert "s3cr3t" not in out.split("::add-mask::s3cr3t")[1]
    exported = (tmp_path / "env").read_text()
    assert "AWS_SECRET_ACCESS_KEY=s3cr3t\n" in exported
    assert "DVC_NO_ANALYTICS=1\n" in exported
    key_file = tmp_path / "gcp-credentials.json"
    assert f"GOOGLE_APPLICATION_CREDENTIALS={key_file}\n" in exported
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text() == key


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"SETUP_PYTHON_VERSION": "latest"}, "python-version must look like 3.11"),
        ({"SETUP_DVC_PULL": "yes"}, "dvc-pull must be true or false, got 'yes'"),
        ({"SETUP_VENV": "../elsewhere"}, "venv must be a relative path inside the project"),
        ({"SETUP_AWS_ACCESS_KEY_ID": "AKIA"}, "must be given together"),
    ],
)
def test_setup_rejects_bad_inputs(tmp_path, capsys, extra, message):
    assert setup.main(_setup_env(tmp_path, **extra)) == 1
    out = capsys.readouterr().out
    assert "::error title=setup::" in out
    assert message in out


def action_checkout(tmp_path: Path, version: str) -> Path:
    """A checkout of this repository as the setup action sees it: pyproject.toml and the
    library's __init__.py at `version`."""
    root = tmp_path / "cookiecutter-gitops-ml"
    (root / "src" / "gitops_ml").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "gitops-ml"\n')
    (root / "src" / "gitops_ml" / "__init__.py").write_text(f'__version__ = "{version}"\n')
    return root


def makefile(tmp_path: Path, pin: str) -> Path:
    path = tmp_path / "project" / "Makefile"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"SHELL := /bin/bash\nGITOPS_ML_VERSION := {pin}\nGITOPS_ML ?= x\n")
    return path


def test_setup_installs_the_pinned_library_from_its_own_checkout_when_it_is_that_version(
    tmp_path,
):
    root = action_checkout(tmp_path, "1.2.0")
    spec, line = setup.library_source(makefile(tmp_path, "1.2.0"), root)
    assert spec == str(root)
    assert line == "setup: gitops-ml 1.2.0 (the project's pin) from this action's checkout"


def test_setup_installs_another_pin_from_the_package_index(tmp_path):
    root = action_checkout(tmp_path, "1.2.0")
    spec, line = setup.library_source(makefile(tmp_path, "1.1.3"), root)
    assert spec == "gitops-ml==1.1.3"
    assert line == (
        "setup: gitops-ml 1.1.3 (the project's pin) from the package index "
        "(these actions carry 1.2.0)"
    )


def test_setup_installs_no_library_for_a_makefile_without_a_pin(tmp_path):
    path = tmp_path / "Makefile"
    path.write_text("test:\n\tpytest\n")
    spec, line = setup.library_source(path, action_checkout(tmp_path, "1.2.0"))
    assert spec == ""
    assert line.endswith("pins no GITOPS_ML_VERSION: gitops-ml not installed")


def test_setup_refuses_a_pin_that_is_not_a_release(tmp_path, capsys):
    makefile(tmp_path, "1.0.0;curl-evil")
    out = tmp_path / "out"
    assert setup.library({"GITHUB_OUTPUT": str(out)}, tmp_path / "project") == 1
    assert "::error title=setup::GITOPS_ML_VERSION in " in capsys.readouterr().out
    assert not out.exists()


def test_setup_library_command_prints_one_line_and_outputs_the_spec(tmp_path, capsys):
    # this repository's own checkout and a project pinned to its version (the generated default)
    version = setup.library_version(ROOT / "src" / "gitops_ml" / "__init__.py")
    makefile(tmp_path, version)
    out = tmp_path / "out"
    assert setup.library({"GITHUB_OUTPUT": str(out)}, tmp_path / "project") == 0
    assert capsys.readouterr().out == (
        f"setup: gitops-ml {version} (the project's pin) from this action's checkout\n"
    )
    assert out.read_text() == f"spec={ROOT}\n"


def test_the_generated_project_pins_the_library_released_with_the_actions():
    answers = json.loads((ROOT / "cookiecutter.json").read_text())
    assert answers["_gitops_ml_version"] == setup.library_version(
        ROOT / "src" / "gitops_ml" / "__init__.py"
    )


# ------------------------------------------------------------------ _shared: workflow commands


def test_workflow_command_escapes_the_message_as_the_runner_decodes_it():
    line = commands.command("error", "dvc failed\r\nstderr: 100% full\n", "train")
    assert line == "::error title=train::dvc failed%0D%0Astderr: 100%25 full%0A"
    assert "\n" not in line


def test_workflow_command_escapes_colon_and_comma_in_the_title_only():
    line = commands.command("warning", "a: b, c", "x: y, z")
    assert line == "::warning title=x%3A y%2C z::a: b, c"
    assert commands.command("notice", "plain") == "::notice::plain"


def test_error_prints_one_annotation_line_and_returns_the_failure_status(capsys):
    assert commands.error("Model report", RuntimeError("gh failed:\nHTTP 403")) == 1
    assert capsys.readouterr().out == "::error title=Model report::gh failed:%0AHTTP 403\n"


def test_a_multi_line_expectation_error_stays_in_one_annotation(in_tmp, capsys):
    failed = json.loads(json.dumps(FAILED_SUMMARY))
    failed["splits"]["train"]["failed"] = [
        {"expectation": "expect_column_to_exist", "column": "age", "error": "KeyError\n100%"}
    ]
    Path("reports").mkdir()
    Path("reports/validation.json").write_text(json.dumps(failed))
    assert validate.main(_validate_env(in_tmp), lambda command: 1) == 1
    out = capsys.readouterr().out
    assert out == (
        "::error title=Data validation::[train] expect_column_to_exist failed on age: "
        "KeyError%0A100%25\n"
    )


def test_failure_detail_shows_json_values_as_json_names():
    failure = {"unexpected_count": 3, "examples": [None, True, 0.1234567, 7]}
    assert failures.detail(failure) == "3 bad values (e.g. null, true, 0.123457, 7)"
    assert failures.detail({"observed": None}) == "observed null"
    assert failures.detail({}) == "-"


# ------------------------------------------------------------------ release: major tag


def test_major_tag_of_a_release():
    assert release.major_tag("v1.4.2") == "v1"
    assert release.major_tag("v12.0.0") == "v12"


@pytest.mark.parametrize("tag", ["v1.4.2-rc1", "1.4.2", "v1", "v0.3.0", "v1.4.2; rm -rf /"])
def test_major_tag_refuses_anything_but_a_final_release(tag):
    with pytest.raises(release.ReleaseError, match="is not vMAJOR.MINOR.PATCH"):
        release.major_tag(tag)


def test_release_moves_an_existing_major_tag(tmp_path):
    sha = "a" * 40
    seen = []

    def gh(args):
        seen.append(args)
        return Done(stdout=sha + "\n") if "commits/v1.4.2" in args[2] else Done()

    env = {"RELEASE_TAG": "v1.4.2", "REPOSITORY": "o/t", "GITHUB_STEP_SUMMARY": str(tmp_path / "s")}
    assert release.main(env, gh) == 0
    assert seen[-1] == [
        "gh",
        "api",
        "--method",
        "PATCH",
        "repos/o/t/git/refs/tags/v1",
        "-f",
        f"sha={sha}",
        "-F",
        "force=true",
    ]
    assert (tmp_path / "s").read_text() == f"`v1` now points at `v1.4.2` (`{sha}`).\n"


def test_release_creates_the_major_tag_the_first_time():
    sha = "b" * 40

    def gh(args):
        if "commits/" in args[2]:
            return Done(stdout=sha)
        return Done(1) if args[2].endswith("ref/tags/v2") else Done()

    seen = []
    assert (
        release.main(
            {"RELEASE_TAG": "v2.0.0", "REPOSITORY": "o/t"}, lambda a: seen.append(a) or gh(a)
        )
        == 0
    )
    assert seen[-1][3:5] == ["POST", "repos/o/t/git/refs"]
    assert "ref=refs/tags/v2" in seen[-1]


def feature_store_json(fields: dict[str, str], version: str) -> dict:
    return {
        "spec": {"service": "churn", "version": version, "entity_keys": ["customer_id"],
                 "features": [[name, "double"] for name in fields]},
        "feature_views": {"features": {"entities": ["entity"], "ttl_seconds": 0, "online": True,
                                       "source": "../data/feature_store/features.parquet",
                                       "fields": fields}},
    }  # fmt: skip


def test_report_lists_the_feature_views_a_pull_request_changes():
    base = feature_store_json({"balance": "Float64", "plan": "String"}, "sha256:" + "a" * 64)
    pr = feature_store_json({"balance": "Float64", "tenure": "Float64"}, "sha256:" + "b" * 64)
    section = report.feature_store_section(pr, base, "main")
    assert section.splitlines() == [
        "### Feature store",
        "",
        "Feature service `churn` version `sha256:bbbbbbbbbbbb`, entity keys `customer_id`; "
        "2 features served.",
        "",
        "- feature view `features`: added field `tenure` (Float64)",
        "- feature view `features`: removed field `plan`",
        "- feature service `churn`: version sha256:aaaaaaaaaaaa -> sha256:bbbbbbbbbbbb",
    ]
    assert report.feature_store_section(base, base, "main").endswith(
        "No feature view differs from `main`."
    )
    assert report.feature_store_section(None, base, "main") == ""
    full = report.build_report(
        title="Model report", base="main", head="pr", metrics="M", params="P",
        validation="V", data="D", plots="X", features=section,
    )  # fmt: skip
    assert full.index("P\n\n### Feature store") < full.index("\n\nD\n\n")
