"""monitor: reading current data, refusing bad data, drift verdicts, quality alerts, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from gitops_ml import drift, monitor
from gitops_ml.errors import PipelineError
from gitops_ml.evaluation import evaluate_model
from gitops_ml.schema import infer_schema
from gitops_ml.tables import split_target

from .helpers import fit_pipeline, project_module, schema_of


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
    assert frame["a"].astype(int).tolist() == [1, 2, 3] and rows == 3
    assert [p.name for p in paths] == ["2026-01-01.csv", "2026-01-02.parquet"]
    frame, _, _ = monitor.read_current("batches/2026-*.csv", base=tmp_path)
    assert frame["a"].tolist() == ["1", "2"]  # CSV as text: types come from the schema


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
    schema = schema_of(mixed_frame, params)
    with pytest.raises(PipelineError, match="lacks 2 column\\(s\\) the model uses: age, city"):
        monitor.conform(mixed_frame.drop(columns=["age", "city"]), schema)


def test_text_in_a_numeric_column_is_an_error_with_examples(mixed_frame, params):
    current = mixed_frame.astype({"income": object})
    current.loc[:2, "income"] = "lots"
    with pytest.raises(PipelineError, match="'income' is numeric but got 'lots'"):
        monitor.conform(current, schema_of(mixed_frame, params))


def test_numbers_written_as_text_are_accepted(mixed_frame, params):
    current = mixed_frame.astype({"age": str})
    conformed = monitor.conform(current, schema_of(mixed_frame, params))
    assert pd.api.types.is_numeric_dtype(conformed["age"])


def test_a_model_input_without_values_is_an_alert_not_an_error(mixed_frame, params):
    schema = schema_of(mixed_frame, params)
    current = monitor.conform(mixed_frame.assign(plan=np.nan), schema)
    compared, skipped, empty = monitor.plan_columns(schema, current)
    assert empty == ["plan"] and "plan" not in compared
    assert skipped["plan"] == "no value in the current batch"


# ---------------------------------------------------------------------------- drift verdicts


def test_only_the_shifted_columns_drift(params):
    reference = normal_frame(3000, seed=1)
    current = normal_frame(3000, seed=2, shift={"x1": 0.5, "x4": -0.3})
    result = drift.measure_drift(reference, current, list(reference.columns), params.monitor)
    assert result.drifted_columns == ["x1", "x4"]
    assert result.drift_share == pytest.approx(2 / 6)


def test_same_distribution_raises_no_alert(params):
    reference = normal_frame(3000, seed=1)
    result = drift.measure_drift(
        reference, normal_frame(3000, seed=3), list(reference.columns), params.monitor
    )
    summary = monitor.summarize(result, None, params.monitor)
    assert summary["alert"] is False
    assert summary["drifted_columns"] == []


def test_large_data_is_sampled_and_the_summary_says_so(params):
    settings = params.monitor.model_copy(update={"max_rows": 1000})
    reference = normal_frame(5000, seed=1)
    result = drift.measure_drift(
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
    first = drift.bounded_sample(frame, 1000, seed=7)
    assert len(first) == 1000 and first["i"].is_unique
    assert first.equals(drift.bounded_sample(frame, 1000, seed=7))
    assert 4000 < first["i"].mean() < 6000
    assert drift.bounded_sample(frame.head(10), 1000, seed=7).equals(frame.head(10))


def test_the_demo_batch_shifts_the_documented_columns(demo_frame, params):
    schema = schema_of(demo_frame, params)
    numeric = schema.of_type("numeric")
    batch, shifted = monitor.drifted_batch(demo_frame, numeric, 500, 1.0, seed=0)
    assert len(shifted) == 2 and len(batch) == 500
    for column in shifted:
        assert batch[column].mean() > demo_frame[column].mean() + 0.5 * demo_frame[column].std()


# --------------------------------------------------------------------------------- quality


def test_degraded_predictions_raise_a_quality_alert(mixed_frame, params):
    model = fit_pipeline(mixed_frame, params)
    reference_metrics, _ = evaluate_model(
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


def check(current: str) -> list[str]:
    return [
        "check", "--reference", "data/train.csv", "--schema", "schema.json",
        "--reference-metrics", "metrics.json",
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
    result = drift.measure_drift(reference, current, list(reference.columns), params.monitor)
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
    result = drift.measure_drift(reference, current, list(reference.columns), params.monitor)
    assert result.drifted_columns == ["x2", "x5"]


def test_the_floor_shrinks_as_samples_grow_and_leaves_large_data_alone(params):
    kinds = {f"x{i}": "numerical" for i in range(3)}
    methods = {"numerical": "wasserstein", "categorical": "jensenshannon"}
    floors = []
    for rows in (300, 2000, 20_000):
        reference, current = skewed_frame(rows, 1, 3), skewed_frame(rows, 2, 3)
        floors.append(max(drift.noise_floors(reference, current, kinds, methods, 0).values()))
    assert floors[0] > floors[1] > floors[2]
    assert floors[2] < params.monitor.threshold  # at 20,000 rows the configured 0.1 decides
    result = drift.measure_drift(
        normal_frame(20_000, seed=1), normal_frame(20_000, seed=2), [f"x{i}" for i in range(6)],
        params.monitor,
    )  # fmt: skip
    assert {c.threshold for c in result.columns} == {params.monitor.threshold}


def test_the_permuted_distance_is_scipys_wasserstein_on_that_split():
    from scipy.stats import wasserstein_distance

    rng = np.random.default_rng(0)
    reference = np.column_stack([rng.lognormal(size=40), rng.integers(0, 4, size=40)])
    current = np.column_stack([rng.normal(size=25), rng.integers(0, 4, size=25)])  # ties
    labels = drift.relabelings(40, 25, 5, rng)
    distances = drift.permuted_wasserstein(reference, current, labels)
    for column in range(2):
        pooled = np.sort(np.concatenate([reference[:, column], current[:, column]]))
        for i, split in enumerate(labels):
            expected = wasserstein_distance(pooled[split], pooled[~split])
            norm = reference[:, column].std()
            assert distances[i, column] == pytest.approx(expected / norm, rel=1e-12)


def test_the_permuted_category_distance_is_scipys_jensenshannon():
    from scipy.spatial.distance import jensenshannon

    reference, current = pd.Series(list("aabbbc") * 10), pd.Series(list("abcc") * 5)
    null = drift.permuted_jensenshannon(reference, current, 5, np.random.default_rng(0))
    # the same draws: reference-side counts of each relabeling, from the pooled counts
    pooled = pd.concat([reference, current]).value_counts().to_numpy()
    splits = np.random.default_rng(0).multivariate_hypergeometric(pooled, 60, size=5)
    for value, counts in zip(null, splits, strict=True):
        assert value == pytest.approx(jensenshannon(counts / 60, (pooled - counts) / 20))


# ------------------------------------------------- column types: no false alarm, right names


def typed_frame(rows: int, seed: int) -> pd.DataFrame:
    """One column of each type ingest decides (schema.py), drawn from fixed distributions."""
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 365, rows)
    return pd.DataFrame(
        {
            "amount": rng.normal(50, 10, rows).round(2),
            "is_member": rng.random(rows) < 0.4,
            "plan": rng.choice(["basic", "plus", "pro"], rows, p=[0.5, 0.3, 0.2]),
            "signup_date": (pd.Timestamp("2024-01-01") + pd.to_timedelta(days, "D")).strftime(
                "%Y-%m-%d"
            ),
            "user_id": [f"u{seed}-{i:05d}" for i in range(rows)],
            "notes": np.nan,
            "target": rng.integers(0, 2, rows),
        }
    )


def shifted(kind: str, frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with the column of one type moved the way production moves it."""
    frame = frame.copy()
    rows = len(frame)
    if kind == "numeric":
        frame["amount"] += 10  # one reference standard deviation
    elif kind == "boolean":
        frame["is_member"] = np.arange(rows) % 10 != 0  # 90 % True instead of 40 %
    elif kind == "categorical":
        frame.loc[frame.index[: rows // 5], "plan"] = "enterprise"  # 20 % never seen
    elif kind == "datetime":
        dates = pd.to_datetime(frame["signup_date"]) + pd.DateOffset(years=1)
        frame["signup_date"] = dates.dt.strftime("%Y-%m-%d")  # time moved on
    elif kind == "identifier":
        frame["user_id"] = [f"new-{i}" for i in range(rows)]
    elif kind == "empty":
        frame["notes"] = "now filled in"
    elif kind == "input-emptied":
        frame["amount"] = np.nan
    return frame


KINDS = ["numeric", "boolean", "categorical", "datetime", "identifier", "empty", "input-emptied"]
# What a shifted batch must report: (alert, drifted columns, reason mentions, not_compared).
EXPECTED = {
    "numeric": (True, ["amount"], "amount", None),
    "boolean": (True, ["is_member"], "is_member", None),
    "categorical": (True, [], "'enterprise'", None),
    "datetime": (False, [], None, "signup_date"),
    "identifier": (False, [], None, "user_id"),
    "empty": (False, [], None, "notes"),
    "input-emptied": (True, [], "'amount' has no value", "amount"),
}


@pytest.fixture(scope="module")
def typed_reference():
    frame = typed_frame(400, seed=1)
    schema = infer_schema(frame, "target", "classification")
    return frame, schema


def verdict(reference: pd.DataFrame, current: pd.DataFrame, schema, settings) -> dict:
    """What `monitor check` decides on these inputs (no model: input drift only)."""
    ref = monitor.conform(reference, schema)
    cur = monitor.conform(current, schema)
    _, not_compared, empty = monitor.plan_columns(schema, cur)
    drift, unseen = monitor.compare_inputs(ref, cur, schema, settings)
    summary = monitor.summarize(drift, None, settings, unseen, not_compared, empty)
    json.loads(monitor.dump_summary(summary))  # strict JSON
    return summary


def test_the_schema_gives_each_column_its_type(typed_reference):
    _, schema = typed_reference
    types = {name: column.type for name, column in schema.columns.items()}
    assert types == {
        "amount": "numeric", "is_member": "boolean", "plan": "categorical",
        "signup_date": "datetime", "user_id": "identifier", "notes": "empty",
    }  # fmt: skip


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("seed", range(3))
def test_same_distribution_of_every_column_type_raises_no_alert(typed_reference, params, seed):
    reference, schema = typed_reference
    summary = verdict(reference, typed_frame(300, seed=100 + seed), schema, params.monitor)
    assert summary["alert"] is False, summary["reasons"]
    assert summary["drifted_columns"] == []
    assert set(summary["columns"]) == {"amount", "is_member", "plan"}
    assert set(summary["not_compared"]) == {"signup_date", "user_id", "notes"}
    assert all(u["rows"] == 0 for u in summary["unseen_values"].values())


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("kind", KINDS)
def test_a_shifted_column_is_named_and_only_that_one(typed_reference, params, kind):
    reference, schema = typed_reference
    current = shifted(kind, typed_frame(300, seed=7))
    summary = verdict(reference, current, schema, params.monitor)
    alert, drifted, reason, skipped = EXPECTED[kind]
    assert summary["alert"] is alert, summary["reasons"]
    if kind != "categorical":  # 20 % of a new value may also move the category mix
        assert summary["drifted_columns"] == drifted
    if reason:
        assert any(reason in r for r in summary["reasons"]), summary["reasons"]
    if skipped:
        assert skipped in summary["not_compared"]


def test_booleans_compare_as_booleans_whatever_was_written(typed_reference, params):
    # Given the same batch with its booleans written as yes/no instead of True/False
    reference, schema = typed_reference
    current = typed_frame(300, seed=5)
    current["is_member"] = current["is_member"].map({True: "yes", False: "no"})
    summary = verdict(reference, current, schema, params.monitor)
    assert summary["columns"]["is_member"]["drifted"] is False
    assert summary["columns"]["is_member"]["score"] < 0.2


def test_unseen_values_are_counted_named_and_alert_on_their_own(typed_reference, params):
    reference, schema = typed_reference
    current = typed_frame(200, seed=9)
    current.loc[current.index[:20], "plan"] = "enterprise"  # 10 %, bug-06
    summary = verdict(reference, current, schema, params.monitor)
    found = summary["unseen_values"]["plan"]
    assert found["rows"] == 20 and found["share"] == pytest.approx(0.1)
    assert found["values"] == {"enterprise": 20} and found["alert"] is True
    assert "'enterprise' (20)" in monitor.markdown(summary)
    # a share at the limit does not alert
    current.loc[current.index[10:20], "plan"] = "basic"
    assert verdict(reference, current, schema, params.monitor)["alert"] is False


def test_a_long_tailed_column_does_not_alert_on_its_own_rare_values(params):
    # Given a category with many rare values: new ones appear in every batch by chance
    rng = np.random.default_rng(0)

    def draw(rows: int) -> pd.DataFrame:
        cities = [f"city{int(v)}" for v in rng.zipf(1.6, rows)]
        return pd.DataFrame({"city": cities, "x": rng.normal(size=rows), "target": 0})

    reference = draw(600)
    reference.loc[0, "target"] = 1
    schema = infer_schema(reference, "target", "classification")
    assert schema.columns["city"].type == "categorical"
    found = verdict(reference, draw(400), schema, params.monitor)["unseen_values"]["city"]
    assert found["rows"] > 0 and found["alert"] is False
    assert found["limit"] > params.monitor.max_unseen_share


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_a_constant_column_in_the_batch_is_measured_without_numpy_warnings(typed_reference, params):
    reference, schema = typed_reference
    current = typed_frame(300, seed=3).assign(amount=50.0, is_member=True, plan="basic")
    summary = verdict(reference, current, schema, params.monitor)
    assert set(summary["drifted_columns"]) == {"amount", "is_member", "plan"}


# ------------------------------------------------------------------ undefined quality metrics


def three_classes(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    label = rng.choice(["cat", "dog", "fox"], rows)
    centre = pd.Series(label).map({"cat": -2.0, "dog": 0.0, "fox": 2.0}).to_numpy()
    return pd.DataFrame({"a": centre + rng.normal(0, 0.7, rows), "animal": label})


def classifier(frame: pd.DataFrame, target: str, params):
    """A logistic regression fitted by the project's featurize and train stages."""
    featurize = project_module(params, "stages.featurize")
    train = project_module(params, "stages.train")
    settings = project_module(params, "config").TrainParams(model="logistic_regression", seed=0)
    schema = infer_schema(frame, target, "classification")
    preprocessor, transformed = featurize.fit_features(frame, target, params.featurize, schema)
    x, y = split_target(transformed, target)
    return train.assemble(preprocessor, train.train_model(x, y, "classification", settings))


def test_an_undefined_primary_metric_is_named_and_the_others_judge(params):
    # Given a 3-class model and a labelled batch without 'fox', every label swapped (nc-01)
    train = three_classes(300, seed=0)
    model = classifier(train, "animal", params)
    reference, _ = evaluate_model(model, three_classes(100, 1), "animal", "classification")
    batch = three_classes(200, 2).query("animal != 'fox'").reset_index(drop=True)
    batch["animal"] = batch["animal"].map({"cat": "dog", "dog": "cat"})
    performance = monitor.compare_performance(
        model, batch, "animal", "classification", reference, "roc_auc", 0.05
    )
    # Then roc_auc is undefined with the reason, accuracy's fall raises the alert
    assert performance["undefined"]["roc_auc"] == (
        "roc_auc is undefined on this batch: class 'fox' has no rows"
    )
    assert performance["current"] is None and "roc_auc" not in performance["judged_on"]
    assert performance["degraded"] is True and "accuracy" in performance["degraded_metrics"]
    measured = drift.measure_drift(train[["a"]], batch[["a"]], ["a"], params.monitor)
    summary = monitor.summarize(measured, performance, params.monitor)
    assert summary["alert"] is True
    assert any(r.startswith("accuracy fell from") for r in summary["reasons"])
    text = monitor.dump_summary(summary)
    assert "NaN" not in text and json.loads(text)["performance"]["current"] is None
    assert "quality holds" not in monitor.markdown(summary)


def test_a_batch_of_one_class_is_never_quality_holds(params):
    train = three_classes(300, seed=0)
    model = classifier(train, "animal", params)
    reference, _ = evaluate_model(model, three_classes(100, 1), "animal", "classification")
    batch = three_classes(300, 3).query("animal == 'cat'")
    performance = monitor.compare_performance(
        model, batch, "animal", "classification", reference, "roc_auc", 0.05
    )
    assert performance["undefined"]["roc_auc"].endswith("classes 'dog', 'fox' have no rows")
    assert performance["judged_on"] and "roc_auc" not in performance["judged_on"]
    assert monitor.quality_line(performance).startswith(("quality holds on", "quality fell"))
    assert "roc_auc" in " ".join(performance["notes"])
