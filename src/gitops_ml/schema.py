"""Column types: decided once at ingest, recorded in a schema file, read by every later step.

Each input column gets one semantic type, from its values (or from `data.column_types` in
params.yaml, which wins):

| type          | detected from                                         | used as             |
|---------------|-------------------------------------------------------|---------------------|
| `numeric`     | numbers; a few text placeholders ('unknown', '-')     | number (imputed)    |
|               | are read as missing and counted                       |                     |
| `boolean`     | True/False, yes/no, y/n, t/f, or exactly the values   | 0/1 (imputed)       |
|               | 0 and 1                                               |                     |
| `datetime`    | text that parses as dates with one format             | date parts by the   |
|               |                                                       | dates' resolution   |
| `categorical` | any other text                                        | one-hot categories  |
| `identifier`  | a row index (`Unnamed: 0`, 0..n-1) or mostly-unique   | not a feature       |
|               | text such as IDs, names and free text                 |                     |
| `empty`       | no value at all                                       | not a feature       |
| `constant`    | a single distinct value                               | not a feature       |

ingest writes the decisions to the schema file (JSON, tracked by dvc.yaml) and the cleaned
splits; featurize, the expectation suite, the MLflow signature, serving and monitoring read
the schema instead of guessing again from pandas dtypes.
"""

from __future__ import annotations

import functools
import json
import re
import sys
import warnings
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .errors import UserError

SCHEMA_VERSION = 1

NUMERIC = "numeric"
BOOLEAN = "boolean"
CATEGORICAL = "categorical"
DATETIME = "datetime"
IDENTIFIER = "identifier"
EMPTY = "empty"
CONSTANT = "constant"
IGNORE = "ignore"
FEATURE_TYPES = (NUMERIC, BOOLEAN, CATEGORICAL, DATETIME)
DROPPED_TYPES = (IDENTIFIER, EMPTY, CONSTANT, IGNORE)
ColumnType = Literal[
    "numeric", "boolean", "categorical", "datetime", "identifier", "empty", "constant", "ignore"
]

# Text read as "true" / "false" in a boolean column (compared lowercased, stripped).
TRUE_TEXT = frozenset({"true", "t", "yes", "y", "1", "1.0"})
FALSE_TEXT = frozenset({"false", "f", "no", "n", "0", "0.0"})
BOOLEAN_PAIRS = (
    {"true", "false"},
    {"t", "f"},
    {"yes", "no"},
    {"y", "n"},
    {"1", "0"},
    {"1.0", "0.0"},
)
# A mostly-numeric text column is numeric when its non-numbers are at most this many distinct
# short tokens making up at most this share of the values ('unknown', 'n/a', '-', '?').
MAX_PLACEHOLDER_TOKENS = 3
MAX_PLACEHOLDER_SHARE = 0.2
MAX_PLACEHOLDER_LENGTH = 20
# Text whose distinct values are at least this share of its rows (and at least
# MIN_IDENTIFIER_ROWS rows) identifies rows rather than describing them.
IDENTIFIER_SHARE = 0.6
MIN_IDENTIFIER_ROWS = 30
# A text column is a date when this share of its values parse with one format.
DATE_SHARE = 0.95
DATE_LIKE = re.compile(r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2})?.*)?\s*$")
UNNAMED = re.compile(r"^Unnamed: \d+$")


class SchemaError(UserError, ValueError):
    """The data does not fit the recorded schema, or the schema file is unusable."""


@dataclass(frozen=True)
class Column:
    """One column's decision: its type, why, and what reading it needs."""

    type: ColumnType
    reason: str
    placeholders: dict[str, int] = field(default_factory=dict)  # numeric: token -> count
    format: str | None = None  # datetime: the strftime format found in the data
    parts: list[str] = field(default_factory=list)  # datetime: the date parts used (date_parts)
    values: list[Any] = field(default_factory=list)  # boolean: the raw (false, true) texts

    @property
    def is_feature(self) -> bool:
        """True for the types a model uses (numeric, boolean, categorical, datetime)."""
        return self.type in FEATURE_TYPES


@dataclass(frozen=True)
class Target:
    """The target column: classes and the positive class for classification."""

    name: str
    dtype: str  # "int64", "float64", "bool" or "string": how labels are read back
    classes: list[Any] = field(default_factory=list)
    positive_label: Any = None


@dataclass(frozen=True)
class Schema:
    """Every decision of ingest; `columns` keeps the source's column order."""

    columns: dict[str, Column]
    target: Target
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        """The names of the feature columns, in the source's column order."""
        return [name for name, column in self.columns.items() if column.is_feature]

    def of_type(self, *kinds: str) -> list[str]:
        """The names of the columns whose type is one of ``kinds``, in column order."""
        return [name for name, column in self.columns.items() if column.type in kinds]

    @property
    def dropped(self) -> dict[str, Column]:
        """Name -> decision of every column that is not a feature (identifiers, empty, ...)."""
        return {name: c for name, c in self.columns.items() if not c.is_feature}

    def to_json(self) -> str:
        """The schema file's text: indented JSON with ``schema_version``, newline-terminated.

        Empty fields of a column (no placeholders, no format, ...) are left out.

        Raises:
            ValueError: a recorded value is NaN or infinite (``allow_nan=False``).
        """
        data = {
            "schema_version": SCHEMA_VERSION,
            "target": asdict(self.target),
            "columns": {
                name: {k: v for k, v in asdict(c).items() if v not in (None, {}, [])}
                for name, c in self.columns.items()
            },
            "rows": self.rows,
        }
        return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schema:
        """The schema from the parsed JSON of a schema file (the inverse of :meth:`to_json`).

        Raises:
            SchemaError: ``data`` was written by another ``schema_version``.
        """
        if data.get("schema_version") != SCHEMA_VERSION:
            raise SchemaError(
                f"schema version {data.get('schema_version')!r} is not {SCHEMA_VERSION}: "
                "run 'make expectations' (or 'dvc repro ingest') to rebuild it"
            )
        return cls(
            columns={name: Column(**spec) for name, spec in data["columns"].items()},
            target=Target(**data["target"]),
            rows=dict(data.get("rows", {})),
        )

    def save(self, path: Path) -> None:
        """Write :meth:`to_json` to ``path`` (UTF-8), creating its folder."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json(), encoding="utf-8")


def load_schema(path: Path) -> Schema:
    """Read the schema file ingest wrote.

    Raises:
        SchemaError: the file is missing, or was written by another schema version.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SchemaError(f"{path} not found: run 'make repro' (ingest writes it)") from None
    return Schema.from_dict(data)


# ------------------------------------------------------------------------------ deciding


def _text(values: pd.Series) -> pd.Series:
    return values.dropna().astype(str).str.strip()


def placeholder_tokens(values: pd.Series) -> dict[str, int] | None:
    """For mostly-numeric text: the non-numeric tokens and their counts, else None."""
    text = _text(values)
    text = text[text != ""]
    if text.empty:
        return None
    numbers = pd.to_numeric(text, errors="coerce")
    tokens = text[numbers.isna()]
    if numbers.notna().sum() == 0 or len(tokens) > MAX_PLACEHOLDER_SHARE * len(text):
        return None
    counts = tokens.value_counts()
    if len(counts) > MAX_PLACEHOLDER_TOKENS or any(
        len(t) > MAX_PLACEHOLDER_LENGTH for t in counts.index
    ):
        return None
    return {str(token): int(count) for token, count in counts.items()}


def boolean_values(values: pd.Series) -> list[str] | None:
    """The two raw values of a boolean column ([false, true] as written), else None."""
    if pd.api.types.is_bool_dtype(values):
        return ["False", "True"]
    text = _text(values)
    distinct = set(text.str.lower().unique())
    if len(distinct) != 2 or not any(distinct == pair for pair in BOOLEAN_PAIRS):
        return None
    raw = sorted(text.unique(), key=lambda v: v.lower() in TRUE_TEXT)
    return [str(raw[0]), str(raw[-1])]


def date_format(values: pd.Series) -> str | None:
    """The strftime format most values of a text column parse with, else None.

    Only text whose first 100 values look like dates is tried. Both readings of 01/02/2024
    (month first, day first) are tried; the one more values fit wins, and it must fit at
    least ``DATE_SHARE`` (95%) of the values.
    """
    from pandas.tseries.api import guess_datetime_format

    text = _text(values)
    if text.empty or not text.head(100).str.match(DATE_LIKE).all():
        return None
    best, share = None, 0.0
    for dayfirst in (False, True):
        with warnings.catch_warnings():  # pandas warns when the day-first reading fits
            warnings.simplefilter("ignore")
            guessed = guess_datetime_format(text.iloc[0], dayfirst=dayfirst)
            if guessed is None or not all(part in guessed for part in ("%d", "%m")):
                continue
            parsed = pd.to_datetime(text, format=guessed, errors="coerce")
        if parsed.notna().mean() > share:
            best, share = guessed, parsed.notna().mean()
    return best if share >= DATE_SHARE else None


def is_row_index(name: str, values: pd.Series) -> bool:
    """`Unnamed: 0` (DataFrame.to_csv's index) or integers 0..n-1 / 1..n in some order."""
    if UNNAMED.match(name) or name == "":
        return True
    if not pd.api.types.is_integer_dtype(values) or values.isna().any() or len(values) < 3:
        return False
    ordered = np.sort(values.to_numpy())
    start = ordered[0]
    return start in (0, 1) and bool((ordered == np.arange(start, start + len(ordered))).all())


def decide(name: str, values: pd.Series) -> Column:
    """The type of one column from its values (training and test rows together)."""
    present = values.dropna()
    if isinstance(values.dtype, pd.StringDtype) or values.dtype == object:
        present = present[present.astype(str).str.strip() != ""]
    if present.empty:
        return Column(EMPTY, "no values")
    distinct = present.astype(str).nunique()
    if distinct == 1:
        return Column(CONSTANT, f"one value only ({present.iloc[0]!r})")
    if is_row_index(name, values):
        return Column(IDENTIFIER, "a row index (0..n-1), as DataFrame.to_csv() writes it")
    pair = boolean_values(present)
    if pair is not None:
        return Column(BOOLEAN, f"two values: {pair[0]}/{pair[1]}", values=pair)
    if pd.api.types.is_numeric_dtype(values):
        return Column(NUMERIC, "numbers")
    tokens = placeholder_tokens(present)
    if tokens is not None:
        found = ", ".join(f"{t!r} x{n}" for t, n in tokens.items())
        return Column(NUMERIC, f"numbers; read as missing: {found}", placeholders=tokens)
    fmt = date_format(present)
    if fmt is not None:
        return Column(DATETIME, f"dates ({fmt})", format=fmt)
    if len(present) >= MIN_IDENTIFIER_ROWS and distinct >= IDENTIFIER_SHARE * len(present):
        return Column(
            IDENTIFIER,
            f"mostly-unique text: IDs, names or free text ({distinct} in {len(present)} rows)",
        )
    return Column(CATEGORICAL, f"text, {distinct} distinct values")


def override(column: Column, wanted: str) -> Column:
    """The user's type from data.column_types, keeping what reading it needs."""
    if wanted == column.type:
        return column
    reason = f"set in params.yaml data.column_types (detected: {column.type})"
    if wanted == BOOLEAN:
        return Column(BOOLEAN, reason, values=column.values or ["False", "True"])
    if wanted == NUMERIC:
        return Column(NUMERIC, reason, placeholders=column.placeholders)
    if wanted == DATETIME:
        return Column(DATETIME, reason, format=column.format)
    return Column(wanted, reason)  # type: ignore[arg-type]


def decide_columns(
    frame: pd.DataFrame, target: str, overrides: Mapping[str, str] | None = None
) -> dict[str, Column]:
    """Decide every input column of ``frame`` except ``target``, in the frame's order.

    Args:
        frame: all labelled rows (n rows x columns, the target included).
        target: the target column's name (not decided here).
        overrides: column name -> type from ``data.column_types``; they win over detection.

    Returns:
        Column name -> decision.

    Raises:
        SchemaError: an override names a column the data does not have.
    """
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(map(str, frame.columns)))
    if unknown:
        raise SchemaError(
            f"data.column_types names column(s) the data does not have: {', '.join(unknown)}"
        )
    columns = {}
    for name in frame.columns:
        if name == target:
            continue
        column = decide(str(name), frame[name])
        if str(name) in overrides:
            column = override(column, overrides[str(name)])
        columns[str(name)] = column
    return columns


def date_parts(dates: pd.Series) -> list[str]:
    """The numbers a date column becomes, by its resolution in the training rows.

    Years stored as dates (all 1 January, e.g. a car's model year) -> the year; monthly dates
    (all the 1st) -> the month; daily dates -> month and day of week; plus the hour when
    times of day vary. Parts that cannot vary are left out.

    Absolute time (days elapsed, or the year of a daily date) is not a feature: every later
    date lies outside the training range, so a model extrapolating a trend learned on it
    would change its answers merely because time moved on (a spurious slope is enough), and
    a random train/test split lets it learn period-specific labelling as if it were signal.

    Args:
        dates: the parsed training dates (datetime64, missing values dropped).

    Returns:
        A subset of ``["year", "month", "dayofweek", "hour"]``, in that order.
    """
    if dates.empty or ((dates.dt.month == 1) & (dates.dt.day == 1)).all():
        return ["year"]
    parts = ["month"] if (dates.dt.day == 1).all() else ["month", "dayofweek"]
    if (dates.dt.hour != 0).any():
        parts.append("hour")
    return parts


def with_date_parts(columns: dict[str, Column], train: pd.DataFrame) -> dict[str, Column]:
    """Datetime columns get the parts their training dates vary in (date_parts)."""
    done = dict(columns)
    for name, column in columns.items():
        if column.type == DATETIME:
            parts = date_parts(parse_dates(train[name], column, name).dropna())
            done[name] = Column(**{**asdict(column), "parts": parts})
    return done


def label_dtype(labels: pd.Series, problem_type: str) -> str:
    """How labels are stored: ``"int64"``, ``"float64"``, ``"bool"`` or ``"string"``.

    Regression targets are ``float64``; integer classes stay integers even when missing
    targets made pandas read the column as float.
    """
    if problem_type == "regression":
        return "float64"
    if pd.api.types.is_bool_dtype(labels):
        return "bool"
    if pd.api.types.is_numeric_dtype(labels):
        whole = (labels == labels.round()).all()
        return "int64" if whole else "float64"
    return "string"


def positive_class(classes: list[Any], counts: Mapping[Any, int], wanted: Any = None) -> Any:
    """The positive class of a binary target.

    It is ``data.positive_label`` when set (matched as text, so 1 and "1" are the same
    label), else the minority class by ``counts`` (ties: the last class).

    Raises:
        SchemaError: ``wanted`` is not one of ``classes``.
    """
    if wanted is not None:
        for label in classes:
            if str(label) == str(wanted):
                return label
        raise SchemaError(
            f"data.positive_label {wanted!r} is not a class of the target "
            f"(classes: {', '.join(map(repr, classes))})"
        )
    return min(reversed(classes), key=lambda label: counts[label])


def infer_target(labels: pd.Series, problem_type: str, positive_label: Any = None) -> Target:
    """The target's type and, for classification, its classes and positive class."""
    dtype = label_dtype(labels, problem_type)
    name = str(labels.name)
    if problem_type == "regression":
        return Target(name, dtype)
    typed = read_labels(labels, Target(name, dtype))
    counts = typed.value_counts()
    classes = sorted(plain(label) for label in counts.index)
    counts = {plain(label): int(n) for label, n in counts.items()}
    positive = positive_class(classes, counts, positive_label) if len(classes) == 2 else None
    return Target(name, dtype, classes, positive)


def plain(value: Any) -> Any:
    """A numpy scalar as the Python value (JSON-friendly; numpy's 1 prints as np.int64(1))."""
    return value.item() if isinstance(value, np.generic) else value


def infer_schema(
    frame: pd.DataFrame,
    target: str,
    problem_type: str,
    *,
    overrides: Mapping[str, str] | None = None,
    positive_label: Any = None,
    train: pd.DataFrame | None = None,
) -> Schema:
    """Every decision of ingest at once.

    The input columns' types come from all labelled rows (``frame``, n rows x columns), the
    target's classes and positive class from ``frame[target]``, and the date parts from
    ``train`` (default: ``frame``). ``rows`` is left empty for the caller to fill.

    Raises:
        SchemaError: an override names no column, or ``positive_label`` is not a class.
    """
    columns = decide_columns(frame, target, overrides)
    columns = with_date_parts(columns, frame if train is None else train)
    return Schema(columns, infer_target(frame[target], problem_type, positive_label))


# ------------------------------------------------------------------------ reading values


def invalid(message: str) -> SchemaError:
    """The error to raise for a bad input value (returned, not raised).

    Under MLflow (a served model, ``mlflow.exceptions`` already imported) the error is also
    an ``MlflowException`` with ``INVALID_PARAMETER_VALUE``, which its scoring server answers
    with a 400 carrying this message; otherwise a plain :class:`SchemaError`.
    """
    exceptions = sys.modules.get("mlflow.exceptions")
    if exceptions is None:
        return SchemaError(message)
    return _served_error(exceptions.MlflowException).invalid_parameter_value(message)


@functools.cache
def _served_error(mlflow_exception: type) -> type:
    return type("InvalidInput", (mlflow_exception, SchemaError), {})


_BAD = object()  # a value parse_booleans cannot read


def _examples(values: pd.Series) -> str:
    return ", ".join(repr(v) for v in list(dict.fromkeys(values.tolist()))[:3])


def parse_booleans(values: pd.Series, name: str) -> pd.Series:
    """True/False from booleans, 0/1 or their texts (true/false, yes/no, y/n, t/f).

    The result is a bool column, or object with None where missing: Great Expectations
    cannot check pandas' nullable "boolean" type. Same length and index as ``values``.

    Raises:
        SchemaError: a value is not a boolean, naming the column (never silently True);
            also an ``MlflowException`` when served (see :func:`invalid`).
    """

    def one(value: Any) -> Any:
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            return pd.NA
        if isinstance(value, bool | np.bool_):
            return bool(value)
        text = str(value).strip().lower()
        if text == "":
            return pd.NA
        if text in TRUE_TEXT:
            return True
        if text in FALSE_TEXT:
            return False
        return _BAD

    parsed = values.map(one)
    bad = values[parsed.map(lambda v: v is _BAD).astype(bool)]
    if len(bad):
        raise invalid(
            f"column {name!r} is boolean but got {_examples(bad)}: send true/false, yes/no or 1/0"
        )
    missing = parsed.isna()
    if not missing.any():
        return parsed.astype(bool)
    return parsed.astype(object).where(~missing, None)


def parse_numbers(values: pd.Series, name: str, placeholders: Collection[str]) -> pd.Series:
    """The values as float64; the column's known placeholders and blanks become missing.

    Raises:
        SchemaError: a value is neither a number nor a known placeholder, naming the column
            (also an ``MlflowException`` when served, see :func:`invalid`).
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    text = values.astype("string").str.strip()
    known = text.isin(list(placeholders)) | (text == "")
    numbers = pd.to_numeric(text.mask(known), errors="coerce")
    bad = values[numbers.isna() & values.notna() & ~known.fillna(False)]
    if len(bad):
        raise invalid(f"column {name!r} is numeric but got {_examples(bad)}")
    return numbers.astype("float64")


def parse_dates(values: pd.Series, column: Column, name: str) -> pd.Series:
    """The values as naive datetime64 in UTC, from text in the column's format or ISO 8601.

    Values that are already datetimes are converted to UTC; blanks become missing (NaT).

    Raises:
        SchemaError: a value is a number or text in another format, naming the column (also
            an ``MlflowException`` when served, see :func:`invalid`).
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = pd.to_datetime(values, utc=True)
        return parsed.dt.tz_localize(None)
    present = values.notna() & (values.astype("string").str.strip() != "")
    numeric = values.map(lambda v: isinstance(v, int | float | np.number) and not pd.isna(v))
    if numeric.any():
        raise invalid(
            f"column {name!r} holds dates but got the number(s) {_examples(values[numeric])}: "
            f"send text such as {_date_example(column)}"
        )
    text = values.astype("string").str.strip().where(present)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(text, format=column.format, errors="coerce", utc=True)
        retry = parsed.isna() & present
        if retry.any():
            parsed = parsed.where(
                ~retry,
                pd.to_datetime(text.where(retry), format="ISO8601", errors="coerce", utc=True),
            )
    bad = values[parsed.isna() & present]
    if len(bad):
        raise invalid(
            f"column {name!r} holds dates but got {_examples(bad)}: send text such as "
            f"{_date_example(column)} (or ISO 8601)"
        )
    return parsed.dt.tz_localize(None)


def _date_example(column: Column) -> str:
    return repr(pd.Timestamp("2024-01-31").strftime(column.format or "%Y-%m-%d"))


def parse_text(values: pd.Series) -> pd.Series:
    """Categories as text (object dtype); missing stays missing."""
    return values.astype("string").astype(object).where(values.notna(), None)


def conform(frame: pd.DataFrame, schema: Schema, *, keep: tuple[str, ...] = ()) -> pd.DataFrame:
    """The feature columns typed as the schema says; dropped columns are left out.

    Args:
        frame: n rows x any columns; feature columns it lacks are skipped.
        schema: the recorded decisions.
        keep: further columns copied unchanged when present (e.g. metadata).

    Returns:
        n rows (same index) x the features present, then the target (read with
        :func:`read_labels`) and ``keep`` columns when present.

    Raises:
        SchemaError: a column's values do not fit its type, naming the column (MLflow's 400
            when served, see :func:`invalid`).
    """
    out = {}
    for name, column in schema.columns.items():
        if not column.is_feature or name not in frame.columns:
            continue
        values = frame[name]
        if column.type == NUMERIC:
            out[name] = parse_numbers(values, name, column.placeholders)
        elif column.type == BOOLEAN:
            out[name] = parse_booleans(values, name)
        elif column.type == DATETIME:
            out[name] = parse_dates(values, column, name)
        else:
            out[name] = parse_text(values)
    for name in (schema.target.name, *keep):
        if name in frame.columns and name not in out:
            out[name] = frame[name]
    result = pd.DataFrame(out, index=frame.index)
    if schema.target.name in result.columns:
        result[schema.target.name] = read_labels(result[schema.target.name], schema.target)
    return result


def read_labels(values: pd.Series, target: Target) -> pd.Series:
    """Labels in their recorded type: integer classes stay integers (never 0.0/1.0)."""
    if target.dtype == "int64" and values.notna().all():
        return pd.to_numeric(values).astype("int64")
    if target.dtype == "float64":
        return pd.to_numeric(values).astype("float64")
    if target.dtype == "bool":
        return parse_booleans(values, target.name).astype(bool)
    if target.dtype == "string":
        return values.astype(str).where(values.notna(), None)
    return values


def read_frame(path: Path, schema: Schema) -> pd.DataFrame:
    """A split (CSV) written by ingest, read back with the schema's types via :func:`conform`.

    Columns the schema does not know (e.g. metadata) are kept as text.

    Raises:
        SchemaError: a value does not fit its column's type.
    """
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    return conform(frame, schema, keep=tuple(c for c in frame.columns if c not in schema.columns))


def signature_types(schema: Schema) -> dict[str, str]:
    """MLflow column types for serving, feature name -> ``"double"`` or ``"string"``.

    Numbers are double (so a missing value is accepted whatever the training file held),
    everything else string. Booleans are not MLflow ``boolean``: its cast turns every
    non-empty text, "false" included, into True; the model's own parser reads them instead
    and refuses what is not a boolean.
    """
    return {name: "double" if schema.columns[name].type == NUMERIC else "string"
            for name in schema.features}  # fmt: skip


def decisions_table(schema: Schema) -> str:
    """The decisions as a fixed-width table for the terminal."""
    rows = [("column", "type", "why")]
    rows += [(name, c.type + ("" if c.is_feature else " (dropped)"), c.reason)
             for name, c in schema.columns.items()]  # fmt: skip
    target = schema.target
    label = f"target ({target.dtype})"
    detail = f"classes {target.classes}" if target.classes else "numbers"
    if target.positive_label is not None:
        detail += f"; positive label {target.positive_label!r}"
    rows.append((target.name, label, detail))
    widths = [max(len(str(row[i])) for row in rows) for i in range(2)]
    return "\n".join(f"  {row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}" for row in rows)
