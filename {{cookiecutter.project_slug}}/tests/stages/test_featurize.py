"""featurize: fitted on the training split only; unknown categories do not break it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from {{ cookiecutter.package_name }}.stages.featurize import fit_features


def test_numeric_scaling_uses_training_rows_only(mixed_frame, params):
    preprocessor, features = fit_features(mixed_frame, params.data.target, params.featurize)
    scaler = preprocessor.named_transformers_["numeric"].named_steps["scale"]
    imputed_age = mixed_frame["age"].fillna(mixed_frame["age"].median())
    assert np.isclose(scaler.mean_[0], imputed_age.mean())
    assert features["age"].abs().max() < 5


def test_missing_values_are_imputed(mixed_frame, params):
    _, features = fit_features(mixed_frame, params.data.target, params.featurize)
    assert not features.drop(columns=[params.data.target]).isna().any().any()


def test_categoricals_are_one_hot_encoded(mixed_frame, params):
    _, features = fit_features(mixed_frame, params.data.target, params.featurize)
    assert {"city_paris", "city_lyon", "plan_pro"} <= set(features.columns)


def test_unseen_category_is_ignored(mixed_frame, params):
    preprocessor, _ = fit_features(mixed_frame, params.data.target, params.featurize)
    unseen = mixed_frame.drop(columns=[params.data.target]).head(3).copy()
    unseen["city"] = "tokyo"
    transformed = pd.DataFrame(
        preprocessor.transform(unseen), columns=preprocessor.get_feature_names_out()
    )
    city_columns = [column for column in transformed.columns if column.startswith("city_")]
    assert (transformed[city_columns].to_numpy() == 0).all()
