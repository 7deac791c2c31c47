"""scikit-learn transformers that read raw columns by the type the schema gave them.

They are steps of the saved model, so training, evaluation, monitoring and the served model
read a boolean, a date or a number with a placeholder the same way. A value that does not fit
its column's type raises an error naming the column (a 400 from MLflow's scoring server).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from .schema import Column, parse_booleans, parse_dates, parse_numbers

DATE_PARTS = ("year", "month", "dayofweek", "hour")


class _Columns(TransformerMixin, BaseEstimator):
    """Remembers the columns it was fitted on; output names follow them."""

    def fit(self, X: pd.DataFrame, y: Any = None) -> _Columns:
        self.columns_ = [str(c) for c in X.columns]
        self.n_features_in_ = len(self.columns_)
        return self

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self.columns_, dtype=object)

    def _frame(self, X: Any) -> pd.DataFrame:
        return X if isinstance(X, pd.DataFrame) else pd.DataFrame(X, columns=self.columns_)


class NumericColumns(_Columns):
    """Numbers as float; each column's known text placeholders become missing."""

    def __init__(self, placeholders: dict[str, list[str]] | None = None) -> None:
        """Keep ``placeholders``: column -> the text tokens read as missing (schema.Column)."""
        self.placeholders = placeholders

    def transform(self, X: Any) -> np.ndarray:
        """The fitted columns as an (n rows x columns) float array, placeholders as NaN.

        Raises:
            SchemaError: a value is neither a number nor a known placeholder (a 400 when
                served by MLflow).
        """
        frame = self._frame(X)
        tokens = self.placeholders or {}
        return np.column_stack(
            [parse_numbers(frame[c], c, tokens.get(c, ())) for c in self.columns_]
        ).astype(float)


class BooleanColumns(_Columns):
    """Booleans as 0.0/1.0 (missing stays NaN, for the imputer after it)."""

    def transform(self, X: Any) -> np.ndarray:
        """The fitted columns as an (n rows x columns) float array of 0.0/1.0, missing NaN.

        Raises:
            SchemaError: a value is not a boolean (a 400 when served by MLflow).
        """
        frame = self._frame(X)
        parsed = [parse_booleans(frame[c], c) for c in self.columns_]
        return np.column_stack([p.map({True: 1.0, False: 0.0}).astype(float) for p in parsed])


class DateParts(_Columns):
    """Each date column as numbers, never one category per day.

    The numbers are the year, month, day of week (0 = Monday) or hour of day (with minutes as
    a fraction), as the column's ``parts`` say.

    formats / parts: per column, the strftime format found at ingest and which of DATE_PARTS
    it becomes (schema.date_parts picks them from the training dates' resolution).
    """

    def __init__(
        self, formats: dict[str, str] | None = None, parts: dict[str, list[str]] | None = None
    ) -> None:
        """Keep the per-column ``formats`` and ``parts`` (no parts: month and day of week)."""
        self.formats = formats
        self.parts = parts

    def _parts(self, name: str) -> list[str]:
        return list((self.parts or {}).get(name) or ("month", "dayofweek"))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """``<column>_<part>`` for each fitted column and each of its parts, in output order."""
        names = [f"{c}_{part}" for c in self.columns_ for part in self._parts(c)]
        return np.asarray(names, dtype=object)

    def transform(self, X: Any) -> np.ndarray:
        """An (n rows x sum of parts) float array; a missing date gives NaN in its parts.

        Raises:
            SchemaError: a value is a number or text in neither the column's format nor
                ISO 8601 (a 400 when served by MLflow).
        """
        frame = self._frame(X)
        parts = []
        for name in self.columns_:
            column = Column("datetime", "", format=(self.formats or {}).get(name))
            dates = parse_dates(frame[name], column, name)
            values = {
                "year": dates.dt.year,
                "month": dates.dt.month,
                "dayofweek": dates.dt.dayofweek,
                "hour": dates.dt.hour + dates.dt.minute / 60,
            }
            parts += [values[part] for part in self._parts(name)]
        return np.column_stack([p.to_numpy(dtype=float, na_value=np.nan) for p in parts])


class TextColumns(_Columns):
    """Categories as text, so 1 and "1" are one category; missing stays missing."""

    def transform(self, X: Any) -> np.ndarray:
        """The fitted columns as an (n rows x columns) object array of text, missing NaN."""
        frame = self._frame(X)
        out = frame[self.columns_].astype(object)
        for name in self.columns_:
            values = frame[name]
            out[name] = values.map(lambda v: v if isinstance(v, str) else str(v)).where(
                values.notna(), np.nan
            )
        return out.to_numpy(dtype=object)
