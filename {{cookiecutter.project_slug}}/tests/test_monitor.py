"""monitor: reading current data, refusing bad data, drift verdicts, quality alerts, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import monitor
from {{ cookiecutter.package_name }}.cli import PipelineError
from {{ cookiecutter.package_name }}.stages import evaluate

from .helpers import fit_pipeline


def normal_frame(rows: int, seed: int, shift: dict[str, float] | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, 6)), columns=[f"x{i}" for i in range(6)])
    for column, sd in (shift or {}).items():
        frame[column] += sd
    return frame


# ------------------------------------------------------------------------- reading sources


def test_a_folder_and_a_glob_read_every_batch_in_order(tmp_path: Path):
    # Given daily batches, one CSV and one Parquet
    folder = tmp_path / "batches"
    folder.mkdir()
    pd.DataFrame({"a": [1, 2]}).to_csv(folder / "2026-01-01.csv", index=False)
    pd.DataFrame({"a": [3]}).to_parquet(folder / "2026-01-02.parquet")
    (folder / "notes.txt").write_text("not data", encoding="utf-8")
    # When the source is the folder or a glob, then every data file is read, in name order
    frame, paths, rows = monitor.read_current("batches", base=tmp_path)
    assert frame["a"].tolist() == [1, 2, 3] and rows == 3
    assert [p.name for p in paths] == ["2026-01-01.csv", "2026-01-02.parquet"]
    frame, _, _ = monitor.read_current("batches/2026-*.csv", base=tmp_path)
    assert frame["a"].tolist() == [1, 2]


@pytest.mark.parametrize(
    ("content", "message"),
    [("", "is empty"), ("a,b\n", "has no rows")],
    ids=["empty-file", "header-only"],
)
def test_empty_current_data_is_an_error(tmp_path: Path, content: str, message: str):
    (tmp_path / "current.csv").write_text(content, encoding="utf-8")
    with pytest.raises(PipelineError, match=message):
        monitor.read_current("current.csv", base=tmp_path)


def test_a_missing_source_or_empty_glob_names_the_source(tmp_path: Path):
    with pytest.raises(PipelineError, match="'nowhere.csv' does not exist"):
        monitor.read_current("nowhere.csv", base=tmp_path)
    with pytest.raises(PipelineError, match="no .csv or .parquet file matches 'day-\\*.csv'"):
        monitor.read_current("day-*.csv", base=tmp_path)


def test_predicted_classes_compare_as_labels_whatever_the_file_type():
    as_written = monitor.class_labels(pd.Series([1.0, 0.0, np.nan]))
    assert as_written.tolist()[:2] == monitor.class_labels(pd.Series([1, 0])).tolist()
    assert as_written.tolist()[:2] == monitor.class_labels(pd.Series(["1", "0"])).tolist()


# ------------------------------------------------------------------------ refusing bad data


def test_missing_columns_are_named(mixed_frame, params):
    features = monitor.feature_columns(mixed_frame, params.data.target)
    with pytest.raises(PipelineError, match="lacks 2 column\\(s\\) the model uses: age, city"):
        monitor.conform(mixed_frame.drop(columns=["age", "city"]), mixed_frame, features)


def test_text_in_a_numeric_column_is_an_error_with_examples(mixed_frame, params):
    features = monitor.feature_columns(mixed_frame, params.data.target)
    current = mixed_frame.astype({"income": object})
    current.loc[:2, "income"] = "n/a"
    with pytest.raises(PipelineError, match="'income' should be numeric but has 3 non-numeric"):
        monitor.conform(current, mixed_frame, features)


def test_numbers_written_as_text_are_accepted(mixed_frame, params):
    features = monitor.feature_columns(mixed_frame, params.data.target)
    current = mixed_frame.astype({"age": str})
    assert pd.api.types.is_numeric_dtype(monitor.conform(current, mixed_frame, features)["age"])


def test_a_column_without_values_is_an_error(mixed_frame, params):
    features = monitor.feature_columns(mixed_frame, params.data.target)
    with pytest.raises(PipelineError, match="column 'plan' has no values"):
        monitor.conform(mixed_frame.assign(plan=np.nan), mixed_frame, features)


# ---------------------------------------------------------------------------- drift verdicts


def test_only_the_shifted_columns_drift(params):
    reference = normal_frame(3000, seed=1)
    current = normal_frame(3000, seed=2, shift={"x1": 0.5, "x4": -0.3})
    result = monitor.measure_drift(reference, current, list(reference.columns), params.monitor)
    assert result.drifted_columns == ["x1", "x4"]
    assert result.drift_share == pytest.approx(2 / 6)


def test_same_distribution_raises_no_alert(params):
    reference = normal_frame(3000, seed=1)
    result = monitor.measure_drift(
        reference, normal_frame(3000, seed=3), list(reference.columns), params.monitor
    )
    summary = monitor.summarize(result, None, params.monitor)
    assert summary["alert"] is False
    assert summary["drifted_columns"] == []


def test_large_data_is_sampled_and_the_summary_says_so(params):
    settings = params.monitor.model_copy(update={"max_rows": 1000})
    reference = normal_frame(5000, seed=1)
    result = monitor.measure_drift(
        reference, normal_frame(1500, seed=4), list(reference.columns), settings
    )
    assert result.sampling["reference"] == {"rows": 5000, "used": 1000}
    assert result.sampling["current"] == {"rows": 1500, "used": 1000}


def test_parquet_batches_are_sampled_while_read(tmp_path: Path):
    # Given two Parquet batches of 3,000 rows each, when at most 1,000 rows are wanted
    for day in (1, 2):
        pd.DataFrame({"day": day, "i": range(3000)}).to_parquet(tmp_path / f"day-{day}.parquet")
    paths = sorted(tmp_path.glob("*.parquet"))
    frame, total = monitor.read_rows(paths, max_rows=1000, seed=3)
    # then 1,000 distinct rows come from both files in proportion, and the total is known
    assert total == 6000 and len(frame) == 1000
    assert not frame.duplicated().any()
    assert 400 < (frame["day"] == 1).sum() < 600


def test_the_bounded_sample_is_uniform_deterministic_and_bounded():
    frame = pd.DataFrame({"i": range(10_000)})
    first = monitor.bounded_sample(frame, 1000, seed=7)
    assert len(first) == 1000 and first["i"].is_unique
    assert first.equals(monitor.bounded_sample(frame, 1000, seed=7))
    assert 4000 < first["i"].mean() < 6000
    assert monitor.bounded_sample(frame.head(10), 1000, seed=7).equals(frame.head(10))


def test_the_demo_batch_shifts_the_documented_columns(demo_frame, params):
    batch, shifted = monitor.drifted_batch(demo_frame, params.data.target, 500, 1.0, seed=0)
    assert len(shifted) == 2 and len(batch) == 500
    for column in shifted:
        assert batch[column].mean() > demo_frame[column].mean() + 0.5 * demo_frame[column].std()


# --------------------------------------------------------------------------------- quality


def test_degraded_predictions_raise_a_quality_alert(mixed_frame, params):
    model = fit_pipeline(mixed_frame, params)
    reference_metrics, _ = evaluate.evaluate_model(
        model, mixed_frame, params.data.target, params.problem_type
    )
    target = params.data.target
    if params.problem_type == "classification":
        wrong = mixed_frame.assign(**{target: 1 - mixed_frame[target]})
    else:
        shuffled = mixed_frame[target].sample(frac=1, random_state=0).to_numpy()
        wrong = mixed_frame.assign(**{target: shuffled})
    performance = monitor.compare_performance(
        model, wrong, target, params.problem_type, reference_metrics,
        params.evaluate.primary_metric, params.monitor.max_metric_drop,
    )  # fmt: skip
    assert performance["degraded"] is True
    assert performance["relative_drop"] > params.monitor.max_metric_drop
    same = monitor.compare_performance(
        model, mixed_frame, target, params.problem_type, reference_metrics,
        params.evaluate.primary_metric, params.monitor.max_metric_drop,
    )  # fmt: skip
    assert same["degraded"] is False


# ------------------------------------------------------------------------ command and exits


@pytest.fixture
def monitored(in_tmp_project: Path, mixed_frame, params) -> Path:
    """A project after `make repro`: training data, its model and its metrics."""
    (in_tmp_project / "data").mkdir(exist_ok=True)
    mixed_frame.to_csv(in_tmp_project / "data/train.csv", index=False)
    model = fit_pipeline(mixed_frame, params)
    joblib.dump(model, in_tmp_project / "model.joblib")
    values, _ = evaluate.evaluate_model(model, mixed_frame, params.data.target, params.problem_type)
    (in_tmp_project / "metrics.json").write_text(json.dumps(values), encoding="utf-8")
    return in_tmp_project


def check(current: str) -> list[str]:
    return [
        "check", "--reference", "data/train.csv", "--reference-metrics", "metrics.json",
        "--model", "model.joblib", "--out", "out", "--current", current,
    ]  # fmt: skip


def test_no_drift_exits_zero_and_writes_the_report(monitored: Path, mixed_frame):
    mixed_frame.to_csv(monitored / "same.csv", index=False)
    monitor.main(check("same.csv"))
    summary = json.loads((monitored / "out/summary.json").read_text(encoding="utf-8"))
    assert summary["alert"] is False and summary["drifted_columns"] == []
    assert summary["performance"]["degraded"] is False
    assert summary["current"]["prediction"] == "model"
    html = (monitored / "out/report.html").read_text(encoding="utf-8")
    assert "<html" in html.lower() and "income" in html


def test_drift_exits_with_the_alert_status(monitored: Path, mixed_frame, params):
    drifted = mixed_frame.drop(columns=[params.data.target]).assign(age=mixed_frame["age"] + 30)
    drifted.to_csv(monitored / "drifted.csv", index=False)
    with pytest.raises(SystemExit) as exit_info:
        monitor.main(check("drifted.csv"))
    assert exit_info.value.code == monitor.EXIT_ALERT == 3
    summary = json.loads((monitored / "out/summary.json").read_text(encoding="utf-8"))
    assert summary["alert"] is True
    assert "age" in summary["drifted_columns"]
    assert summary["performance"] is None


def test_a_prediction_log_is_read_with_its_served_predictions(monitored: Path, mixed_frame, params):
    model = joblib.load(monitored / "model.joblib")
    log = mixed_frame.drop(columns=[params.data.target])
    log = log.assign(prediction=model.predict(log), timestamp="2026-01-01T00:00:00Z")
    log.to_parquet(monitored / "predictions.parquet")
    monitor.main(check("predictions.parquet"))
    summary = json.loads((monitored / "out/summary.json").read_text(encoding="utf-8"))
    assert summary["current"]["prediction"] == "log"
    assert summary["current"]["ignored_columns"] == ["timestamp"]
    assert summary["prediction_drift"]["drifted"] is False


def test_bad_data_errors_and_leaves_no_verdict(monitored: Path, mixed_frame):
    # Given a summary from an earlier run that found nothing
    mixed_frame.to_csv(monitored / "same.csv", index=False)
    monitor.main(check("same.csv"))
    # When the next batch lacks a column, then it is an error and the old verdict is gone
    mixed_frame.drop(columns=["income"]).to_csv(monitored / "bad.csv", index=False)
    with pytest.raises(PipelineError, match="income"):
        monitor.main(check("bad.csv"))
    assert not (monitored / "out/summary.json").exists()
    assert not (monitored / "out/report.html").exists()


# --------------------------------------------------------------- small samples: noise floor


def skewed_frame(rows: int, seed: int, columns: int = 10) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = rng.lognormal(sigma=0.5, size=(rows, columns))
    return pd.DataFrame(values, columns=[f"x{i}" for i in range(columns)])


@pytest.mark.parametrize("seed", range(4))
def test_small_same_distribution_samples_raise_no_alert(params, seed: int):
    # Given the demo's 455 reference rows and a day of a few hundred served rows, skewed data
    reference, current = skewed_frame(455, seed), skewed_frame(300, seed + 50)
    result = monitor.measure_drift(reference, current, list(reference.columns), params.monitor)
    # then nothing drifts: the noise floor, not the fixed 0.1, decides at these sizes
    assert result.drifted_columns == []
    assert max(c.score for c in result.columns) >= params.monitor.threshold  # 0.1 alone: alarm
    summary = monitor.summarize(result, None, params.monitor)
    assert summary["raised_thresholds"]["columns"] == len(result.columns)
    assert "Small sample: drift threshold raised" in monitor.markdown(summary)


@pytest.mark.parametrize("seed", range(3))
def test_a_half_sd_shift_in_a_small_sample_is_still_flagged(params, seed: int):
    reference, current = skewed_frame(455, seed), skewed_frame(300, seed + 50)
    for column in ("x2", "x5"):
        current[column] += 0.5 * reference[column].std()
    result = monitor.measure_drift(reference, current, list(reference.columns), params.monitor)
    assert result.drifted_columns == ["x2", "x5"]


def test_the_floor_shrinks_as_samples_grow_and_leaves_large_data_alone(params):
    kinds = {f"x{i}": "numerical" for i in range(3)}
    methods = {"numerical": "wasserstein", "categorical": "jensenshannon"}
    floors = []
    for rows in (300, 2000, 20_000):
        reference, current = skewed_frame(rows, 1, 3), skewed_frame(rows, 2, 3)
        floors.append(max(monitor.noise_floors(reference, current, kinds, methods, 0).values()))
    assert floors[0] > floors[1] > floors[2]
    assert floors[2] < params.monitor.threshold  # at 20,000 rows the configured 0.1 decides
    result = monitor.measure_drift(
        normal_frame(20_000, seed=1), normal_frame(20_000, seed=2), [f"x{i}" for i in range(6)],
        params.monitor,
    )  # fmt: skip
    assert {c.threshold for c in result.columns} == {params.monitor.threshold}


def test_the_permuted_distance_is_scipys_wasserstein_on_that_split():
    from scipy.stats import wasserstein_distance

    rng = np.random.default_rng(0)
    reference = np.column_stack([rng.lognormal(size=40), rng.integers(0, 4, size=40)])
    current = np.column_stack([rng.normal(size=25), rng.integers(0, 4, size=25)])  # ties
    labels = monitor.relabelings(40, 25, 5, rng)
    distances = monitor.permuted_wasserstein(reference, current, labels)
    for column in range(2):
        pooled = np.sort(np.concatenate([reference[:, column], current[:, column]]))
        for i, split in enumerate(labels):
            expected = wasserstein_distance(pooled[split], pooled[~split])
            norm = reference[:, column].std()
            assert distances[i, column] == pytest.approx(expected / norm, rel=1e-12)


def test_the_permuted_category_distance_is_scipys_jensenshannon():
    from scipy.spatial.distance import jensenshannon

    reference, current = pd.Series(list("aabbbc") * 10), pd.Series(list("abcc") * 5)
    null = monitor.permuted_jensenshannon(reference, current, 5, np.random.default_rng(0))
    # the same draws: reference-side counts of each relabeling, from the pooled counts
    pooled = pd.concat([reference, current]).value_counts().to_numpy()
    splits = np.random.default_rng(0).multivariate_hypergeometric(pooled, 60, size=5)
    for value, counts in zip(null, splits, strict=True):
        assert value == pytest.approx(jensenshannon(counts / 60, (pooled - counts) / 20))
