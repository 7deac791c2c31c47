"""The Feast feature store (gitops_ml.feature_store, the `features` stage, the served model).

Point-in-time correctness is shown on a small store whose feature values change after a
label's timestamp; parity between the online and offline stores, and between a prediction
from entity keys and one from the full row, on a generated feature_store=feast project whose
pipeline has run (`make repro`).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import mlflow
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from gitops_ml import feature_store as fs
from gitops_ml.schema import infer_schema, load_schema
from gitops_ml.serve.local import payload
from gitops_ml.serve.logger import build_logging_model
from tests.conftest import make, render_project

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
STORE_YAML = """project: pit_test
provider: local
registry: store/registry.db
online_store:
  type: sqlite
  path: store/online.db
offline_store:
  type: file
entity_key_serialization_version: 3
"""


def day(n: int) -> pd.Timestamp:
    return pd.Timestamp(T0) + pd.Timedelta(days=n)


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory):
    """Customer 1's `balance` is 100 on day 0 and 900 from day 10; customer 2 has 50 from day 0.

    `plan` is text; customer 2 has no plan (a missing value, not an unknown entity)."""
    repo = tmp_path_factory.mktemp("pit")
    rows = pd.DataFrame(
        {
            "customer_id": [1, 1, 2],
            "event_timestamp": [day(0).isoformat(), day(10).isoformat(), day(0).isoformat()],
            "balance": [100.0, 900.0, 50.0],
            "plan": ["basic", "pro", None],
            "churned": [0, 1, 0],
        }
    )
    schema = infer_schema(
        rows, "churned", "classification", overrides={"customer_id": "ignore",
                                                      "event_timestamp": "ignore"}
    )  # fmt: skip
    source = fs.source_frame(rows, schema, ["customer_id"], "event_timestamp")
    (repo / "store").mkdir()
    source.to_parquet(repo / "store" / "source.parquet", index=False)
    (repo / "feature_store.yaml").write_text(STORE_YAML, encoding="utf-8")
    store = fs.open_store(repo)
    objects = fs.definitions(
        schema, ["customer_id"], "event_timestamp", "churn", "store/source.parquet",
        entity_types={"customer_id": "long"},
    )  # fmt: skip
    store.apply(objects)
    fs.materialize(store, source, "event_timestamp")
    spec = fs.spec(store, "churn", schema, source, ["customer_id"], "event_timestamp")
    return SimpleNamespace(store=store, spec=spec, schema=schema, source=source)


def labels_at(*rows: tuple[int, int]) -> pd.DataFrame:
    """Entity rows: (customer, day the label was observed)."""
    return pd.DataFrame(
        {
            "customer_id": [c for c, _ in rows],
            "event_timestamp": [day(d).isoformat() for _, d in rows],
            "churned": list(range(len(rows))),
        }
    )


def check_point_in_time(joined: pd.DataFrame) -> None:
    """Customer 1's label of day 5 must see day 0's balance (100), day 11's the new one."""
    by_day = joined.set_index(joined["event_timestamp"].dt.day)
    first = by_day[by_day["customer_id"] == 1]
    assert first.loc[6, "balance"] == 100.0, "a label saw a feature value from its future"
    assert first.loc[12, "balance"] == 900.0


def test_training_rows_carry_the_value_known_at_the_label_time(small_store):
    entities = labels_at((1, 5), (2, 3), (1, 11))
    joined = fs.training_set(
        small_store.store, "churn", entities, ["customer_id"], "event_timestamp",
        small_store.spec.features,
    )  # fmt: skip
    check_point_in_time(joined)
    # Rows come back in the entity rows' order, labels untouched, types cast explicitly.
    assert joined["customer_id"].tolist() == [1, 2, 1]
    assert joined["churned"].tolist() == [0, 1, 2]
    assert joined["plan"].tolist() == ["basic", None, "pro"]
    assert str(joined["balance"].dtype) == "float64"


def test_the_check_fails_a_join_that_ignores_timestamps(small_store):
    # A plain merge on the key with the latest value per entity (what a join without
    # timestamps gives) leaks day 10's balance into day 5's label.
    entities = labels_at((1, 5), (2, 3), (1, 11))
    entities["event_timestamp"] = pd.to_datetime(entities["event_timestamp"], utc=True)
    latest = small_store.source.sort_values("event_timestamp").groupby("customer_id").last()
    naive = entities.merge(latest[["balance"]], left_on="customer_id", right_index=True)
    with pytest.raises(AssertionError, match="from its future"):
        check_point_in_time(naive)


def test_a_label_before_any_feature_value_gets_missing_features(small_store):
    entities = labels_at((2, -1))
    joined = fs.training_set(
        small_store.store, "churn", entities, ["customer_id"], "event_timestamp",
        small_store.spec.features,
    )  # fmt: skip
    assert joined["balance"].isna().all() and joined["plan"].tolist() == [None]


def test_online_features_are_the_latest_values_and_unknown_entities_are_named(small_store):
    rows = pd.DataFrame({"customer_id": [2, 1]})
    online = fs.online_features(small_store.store, small_store.spec, rows)
    assert online["balance"].tolist() == [50.0, 900.0]
    assert online["plan"].tolist() == [None, "pro"]  # missing value: None, as offline
    with pytest.raises(fs.FeatureStoreError) as caught:
        fs.online_features(
            small_store.store, small_store.spec, pd.DataFrame({"customer_id": [1, 77]})
        )
    assert str(caught.value) == (
        "unknown entity: customer_id=77 not in the online store of feature service 'churn'; "
        "send a known key or the full feature row"
    )


def test_the_spec_version_changes_only_with_the_served_features(small_store):
    spec = small_store.spec
    again = fs.spec(small_store.store, "churn", small_store.schema, small_store.source,
                    ["customer_id"], "event_timestamp")  # fmt: skip
    assert again.version == spec.version and spec.version.startswith("sha256:")
    assert fs.FeatureSpec.from_dict(spec.to_dict()) == spec
    assert spec.entity_types == {"customer_id": "long"}
    assert dict(spec.features) == {"balance": "double", "plan": "string"}


def test_feature_view_changes_are_listed_for_the_pull_request_report(small_store):
    base = fs.describe(small_store.store, small_store.spec)
    current = json.loads(json.dumps(base))
    fields = current["feature_views"]["features"]["fields"]
    fields["tenure"] = "Float64"
    fields["plan"] = "Int64"
    del fields["balance"]
    current["spec"]["version"] = "sha256:" + "f" * 64
    assert fs.changes(base, current) == [
        "feature view `features`: added field `tenure` (Float64)",
        "feature view `features`: removed field `balance`",
        "feature view `features`: field `plan` type String -> Int64",
        f"feature service `churn`: version {base['spec']['version'][:19]} -> sha256:ffffffffffff",
    ]
    assert fs.changes(base, base) == []


def test_missing_columns_and_bad_timestamps_fail_in_one_sentence(small_store):
    frame = pd.DataFrame({"customer_id": [1], "event_timestamp": ["not a date"], "balance": [1.0]})
    with pytest.raises(fs.FeatureStoreError, match=r"^event timestamp column 'event_timestamp' "
                       r"has 1 values that are not dates \(e.g. 'not a date'\)"):  # fmt: skip
        fs.source_frame(frame, small_store.schema, ["customer_id"], "event_timestamp")
    with pytest.raises(fs.FeatureStoreError, match="the data has no column 'store_id'"):
        fs.source_frame(frame, small_store.schema, ["store_id"], "event_timestamp")


# ---------------------------------------------------------------- a generated project


@pytest.fixture(scope="module")
def feast_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = render_project(
        tmp_path_factory.mktemp("feast"), project_name="Feast Lib", feature_store="feast"
    )
    make(project, "repro")
    return project


@pytest.fixture(scope="module")
def served(feast_project: Path, tmp_path_factory: pytest.TempPathFactory):
    """The trained model registered, and wrapped as `gitops-ml deploy` serves it."""
    run_info = json.loads((feast_project / "models" / "run.json").read_text(encoding="utf-8"))
    mlflow.set_tracking_uri(
        run_info["tracking_uri"].replace("sqlite:///", f"sqlite:///{feast_project}/")
    )
    version = mlflow.register_model(run_info["model_uri"], "feast-lib").version
    path = build_logging_model(
        f"models:/feast-lib/{version}",
        tmp_path_factory.mktemp("served") / "model",
        str(version),
        None,
        mlflow.get_tracking_uri(),
        feast_project / "feature_repo",
    )
    return mlflow.pyfunc.load_model(str(path))


def test_the_logged_model_carries_its_feature_service(feast_project: Path, served):
    spec = json.loads((feast_project / "reports" / "feature_store.json").read_text())["spec"]
    assert spec["service"] == "feast-lib" and spec["entity_keys"] == ["patient_id"]
    recorded = served._model_impl.python_model.model.metadata.metadata["feature_store"]
    assert recorded == spec


def test_online_features_equal_the_latest_offline_values(feast_project: Path):
    store = fs.open_store(feast_project / "feature_repo")
    spec = fs.FeatureSpec.from_dict(
        json.loads((feast_project / "reports" / "feature_store.json").read_text())["spec"]
    )
    source = pd.read_parquet(feast_project / "data" / "feature_store" / "features.parquet")
    latest = source.sort_values(spec.event_timestamp).groupby("patient_id").last()
    sample = latest.sample(25, random_state=0)
    online = fs.online_features(store, spec, pd.DataFrame({"patient_id": sample.index}))
    expected = sample[list(spec.features)].reset_index(drop=True)
    pd.testing.assert_frame_equal(online[list(spec.features)], expected, check_dtype=True)


def test_a_prediction_from_entity_keys_equals_the_one_from_the_full_row(
    feast_project: Path, served
):
    test = pd.read_csv(feast_project / "data" / "interim" / "test_features.csv")
    schema = load_schema(feast_project / "data" / "interim" / "schema.json")
    full = test[schema.features].head(20)
    keys = test[["patient_id"]].head(20)
    from_keys = served.predict(keys)
    from_rows = served.predict(full)
    assert list(from_keys) == list(from_rows)


def test_values_a_request_sends_with_the_key_win_over_the_stored_ones(feast_project: Path, served):
    test = pd.read_csv(feast_project / "data" / "interim" / "test_features.csv")
    schema = load_schema(feast_project / "data" / "interim" / "schema.json")
    extreme = {"mean radius": 40.0, "mean area": 4000.0, "worst area": 5000.0}
    full = test[schema.features].head(5).assign(**extreme)
    partial = test[["patient_id"]].head(5).assign(**extreme)
    assert list(served.predict(partial)) == list(served.predict(full))
    assert list(served.predict(partial)) != list(served.predict(test[["patient_id"]].head(5)))


def test_an_unknown_entity_is_a_400_naming_the_key_not_a_prediction(served):
    from mlflow.pyfunc import scoring_server

    schema = served.metadata.get_input_schema()
    known = scoring_server.invocations(
        payload(pd.DataFrame({"patient_id": [1001]})), "application/json", served, schema
    )
    assert known.status == 200, known.response
    with pytest.raises(MlflowException) as caught:
        scoring_server.invocations(
            payload(pd.DataFrame({"patient_id": [1001, 99999]})), "application/json", served, schema
        )
    assert caught.value.get_http_status_code() == 400
    # MLflow's scoring server prefixes the input it could not score: "... Error: <ours>"
    assert caught.value.message.endswith(
        "Error: unknown entity: patient_id=99999 not in the online store of feature service "
        "'feast-lib'; send a known key or the full feature row"
    )
    with pytest.raises(MlflowException, match="has no value for feature 'mean radius'"):
        served.predict(pd.DataFrame({"mean texture": [1.0]}))


def test_a_relogged_champion_keeps_its_feature_spec(feast_project: Path, monkeypatch):
    # A fresh runner restores the champion from its release (model.joblib + record.json) and
    # logs it again: the record's feature spec goes back into the model's metadata.
    import joblib

    from gitops_ml.params import LibraryParams, read_yaml, validate
    from gitops_ml.promote import relog
    from gitops_ml.schema import read_frame

    monkeypatch.chdir(feast_project)
    params = validate(LibraryParams, read_yaml(feast_project / "params.yaml"), "params.yaml")
    schema = load_schema(feast_project / "data" / "interim" / "schema.json")
    test = read_frame(feast_project / "data" / "interim" / "test_features.csv", schema)
    spec = json.loads((feast_project / "reports" / "feature_store.json").read_text())["spec"]
    model = joblib.load(feast_project / "models" / "model.joblib")
    example = test.drop(columns=[params.data.target]).head(5)
    info = relog(model, example, params, {}, schema, spec)
    assert mlflow.models.get_model_info(info["model_uri"]).metadata["feature_store"] == spec
