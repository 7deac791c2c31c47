"""The Feast feature store: point-in-time-correct training sets, the same features online.

A project generated with ``feature_store=feast`` has a Feast repository (``feature_repo/``:
``feature_store.yaml`` and ``definitions.py``) whose objects this module builds from the
schema decided at ingest and the ``feature_store`` section of params.yaml:

* an **entity** whose join keys are ``feature_store.entity_keys``;
* a **FileSource** over ``data/feature_store/features.parquet`` (written by the pipeline's
  ``features`` stage: keys, event timestamp and every feature column);
* a **feature view** ``features`` with one field per feature column (numeric columns as
  ``Float64``, the others as ``String``: the text the model's own parsers read);
* a **feature service** named after the model (``feature_store.service``, default the
  registered model's name).

The ``features`` stage applies the repository, materializes the online store and builds the
training and test sets with :func:`training_set`: Feast's point-in-time join, which gives each
label the feature values known at its timestamp. :func:`describe` records the feature service
(name, version digest, entity keys, fields) in ``reports/feature_store.json``; training logs it
in the model's metadata (``feature_store``) and the served model reads it to fetch features by
entity key with :func:`online_features`.

Feast is imported inside the functions that need it (``import feast`` costs seconds of CPU):
a stage imports it once, a scoring server once per worker.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .errors import UserError
from .schema import NUMERIC, Schema

if TYPE_CHECKING:  # pragma: no cover
    from feast import FeatureStore

FEATURE_VIEW = "features"
SOURCE_NAME = "features_source"
SPEC_VERSION = 1
# Feast's FieldStatus: the key is not in the online store (feast/protos serving).
NOT_FOUND = 3


class FeatureStoreError(UserError, ValueError):
    """The feature store cannot answer: a missing column, an unknown entity, no repository."""


@dataclass(frozen=True)
class FeatureSpec:
    """What a model needs from the feature store, recorded with the model.

    Attributes:
        service: the feature service's name.
        version: ``sha256:<hex>`` of the service's definition (views, fields and types,
            entity keys); it changes exactly when the served features change.
        entity_keys: the join keys a request may send instead of the features.
        entity_types: join key -> ``"long"`` or ``"string"`` (MLflow column types).
        features: feature name -> ``"double"`` or ``"string"`` (MLflow column types), in the
            model's input order.
        event_timestamp: the column holding when a row's values became known.
        project: the Feast project (``feature_store.yaml``'s ``project``).
    """

    service: str
    version: str
    entity_keys: tuple[str, ...]
    entity_types: Mapping[str, str]
    features: Mapping[str, str]
    event_timestamp: str
    project: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data with ``spec_version``; ``features`` as ``[name, type]`` pairs.

        Pairs keep the model's input order where a mapping would not (MLflow writes model
        metadata as YAML with sorted keys).
        """
        data = asdict(self)
        data["entity_keys"] = list(self.entity_keys)
        data["entity_types"] = dict(self.entity_types)
        data["features"] = [[name, kind] for name, kind in self.features.items()]
        return {"spec_version": SPEC_VERSION, **data}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSpec:
        """The inverse of :meth:`to_dict`.

        Raises:
            FeatureStoreError: ``data`` was written by another ``spec_version``.
        """
        if data.get("spec_version") != SPEC_VERSION:
            raise FeatureStoreError(
                f"feature spec version {data.get('spec_version')!r} is not {SPEC_VERSION}: "
                "re-run the features stage (dvc repro features)"
            )
        return cls(
            service=str(data["service"]),
            version=str(data["version"]),
            entity_keys=tuple(data["entity_keys"]),
            entity_types=dict(data["entity_types"]),
            features={str(name): str(kind) for name, kind in data["features"]},
            event_timestamp=str(data["event_timestamp"]),
            project=str(data["project"]),
        )


def feature_types(schema: Schema) -> dict[str, str]:
    """Feature name -> ``"double"`` (numeric columns) or ``"string"``, in schema order."""
    return {
        name: "double" if schema.columns[name].type == NUMERIC else "string"
        for name in schema.features
    }


def entity_type(values: pd.Series) -> str:
    """``"long"`` for integer join keys, else ``"string"`` (MLflow column types)."""
    numeric = pd.to_numeric(values, errors="coerce")
    if values.notna().all() and numeric.notna().all() and (numeric == numeric.round()).all():
        return "long"
    return "string"


def entity_values(values: pd.Series, kind: str) -> pd.Series:
    """Join key values as Feast stores them: int64 for ``long`` keys, else text."""
    if kind == "long":
        return pd.to_numeric(values).astype("int64")
    return values.astype(str)


def source_frame(
    frame: pd.DataFrame, schema: Schema, entity_keys: Sequence[str], event_timestamp: str
) -> pd.DataFrame:
    """The feature view's source rows: keys, event timestamp (UTC) and every feature.

    Args:
        frame: n rows with the entity keys, the event timestamp and the schema's feature
            columns (as ingest wrote them); other columns (the target) are left out.
        schema: the column types decided at ingest.
        entity_keys: the join keys.
        event_timestamp: the column saying when each row's values became known.

    Returns:
        n rows x (keys, event timestamp, features): numeric features as float64, the other
        features as text (None when missing), timestamps as ``datetime64[ns, UTC]``.

    Raises:
        FeatureStoreError: a key or the timestamp column is missing, a key or timestamp value
            is missing, or a timestamp cannot be read (naming the column).
    """
    check_columns(frame, [*entity_keys, event_timestamp], "the data")
    out = {}
    for key in entity_keys:
        if frame[key].isna().any():
            raise FeatureStoreError(
                f"entity key {key!r} is missing in {int(frame[key].isna().sum())} rows: every "
                "row needs its entity"
            )
        out[key] = entity_values(frame[key], entity_type(frame[key]))
    out[event_timestamp] = timestamps(frame[event_timestamp], event_timestamp)
    for name, kind in feature_types(schema).items():
        values = frame[name] if name in frame.columns else pd.Series(None, index=frame.index)
        out[name] = typed(values, kind)
    return pd.DataFrame(out, index=frame.index).reset_index(drop=True)


def check_columns(frame: pd.DataFrame, names: Sequence[str], what: str) -> None:
    """Raise :class:`FeatureStoreError` naming the first of ``names`` missing in ``frame``."""
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise FeatureStoreError(
            f"{what} has no column {missing[0]!r} named in params.yaml feature_store "
            f"(columns: {', '.join(map(str, frame.columns[:12]))})"
        )


def timestamps(values: pd.Series, name: str) -> pd.Series:
    """Event timestamps as ``datetime64[ns, UTC]`` (naive values are read as UTC).

    Raises:
        FeatureStoreError: a value is missing or is not a date, naming the column.
    """
    parsed = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
    bad = parsed.isna()
    if bad.any():
        example = values[bad].iloc[0]
        raise FeatureStoreError(
            f"event timestamp column {name!r} has {int(bad.sum())} values that are not dates "
            f"(e.g. {example!r}): every row needs the time its values became known"
        )
    return parsed.astype("datetime64[ns, UTC]")


def typed(values: pd.Series, kind: str) -> pd.Series:
    """Feature values in their served type: float64 for ``double``, else text or None.

    Casting explicitly keeps offline and online rows alike: Feast turns a missing integer
    into NaN offline but None online.
    """
    if kind == "double":
        return pd.to_numeric(values, errors="coerce").astype("float64")
    text = values.astype("string").astype(object)
    return text.where(values.notna(), None)


def definitions(
    schema: Schema,
    entity_keys: Sequence[str],
    event_timestamp: str,
    service: str,
    source_path: str,
    entity_types: Mapping[str, str] | None = None,
) -> list[Any]:
    """The Feast objects of the repository: entity, file source, feature view, service.

    Args:
        schema: the column types decided at ingest (the feature view's fields).
        entity_keys: the entity's join keys.
        event_timestamp: the source's timestamp field.
        service: the feature service's name (the model's).
        source_path: the parquet file, relative to the feature repository.
        entity_types: join key -> ``"long"``/``"string"`` (:func:`source_entity_types`); a
            single key's type becomes the entity's ``value_type``. None: Feast infers it.

    Returns:
        ``[Entity, FileSource, FeatureView, FeatureService]``; a view without TTL (every
        past value stays joinable) that is served online.
    """
    from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
    from feast.types import Float64, String

    value_type = ValueType.UNKNOWN
    if entity_types and len(entity_keys) == 1 and entity_keys[0] in entity_types:
        kind = entity_types[entity_keys[0]]
        value_type = ValueType.INT64 if kind == "long" else ValueType.STRING
    entity = Entity(
        name="entity",
        join_keys=list(entity_keys),
        value_type=value_type,
        description=f"What a row is about, joined on {', '.join(entity_keys)}.",
    )
    source = FileSource(name=SOURCE_NAME, path=source_path, timestamp_field=event_timestamp)
    fields = [
        Field(name=name, dtype=Float64 if kind == "double" else String)
        for name, kind in feature_types(schema).items()
    ]
    view = FeatureView(
        name=FEATURE_VIEW,
        entities=[entity],
        ttl=timedelta(0),
        schema=fields,
        source=source,
        online=True,
        description="The feature columns decided at ingest (data/interim/schema.json).",
    )
    return [entity, source, view, FeatureService(name=service, features=[view])]


def source_entity_types(path: Path, entity_keys: Sequence[str]) -> dict[str, str] | None:
    """Join key -> ``"long"``/``"string"`` as the source parquet at ``path`` stores them.

    None when the file does not exist yet (before the first ``features`` stage).
    """
    if not path.is_file():
        return None
    frame = pd.read_parquet(path, columns=list(entity_keys))
    return {key: entity_type(frame[key]) for key in entity_keys}


def open_store(repo: Path) -> FeatureStore:
    """The Feast store of the repository at ``repo`` (its ``feature_store.yaml``).

    Raises:
        FeatureStoreError: ``repo`` has no ``feature_store.yaml``.
    """
    if not (repo / "feature_store.yaml").is_file():
        raise FeatureStoreError(
            f"no feature repository at {repo}: it needs a feature_store.yaml "
            "(params.yaml feature_store.repo)"
        )
    from feast import FeatureStore

    # Feast logs every registry refresh at INFO: keep a stage's output to its own lines.
    logging.getLogger("feast").setLevel(logging.WARNING)
    return FeatureStore(repo_path=str(repo.resolve()))


def apply_repo(store: FeatureStore, repo: Path) -> list[str]:
    """Apply the repository's Python files exactly as ``feast apply`` does.

    Runs Feast's own ``apply_total`` (parse, plan, registry and infrastructure update, stale
    objects removed), so a later ``feast plan`` in the repository shows no change. Feast
    imports the files as modules named after their path from the repository: they are
    dropped from ``sys.modules`` first, so an edited or copied repository is read afresh; the
    working directory is restored afterwards.

    Returns:
        The names of the feature views and feature services the registry then holds.

    Raises:
        SystemExit: Feast refuses the repository (e.g. an invalid project name); its reason
            is printed above.
    """
    import os
    import sys

    from feast.repo_operations import apply_total, get_repo_files, py_path_to_module

    root = repo.resolve()
    here = Path.cwd()
    os.chdir(root)
    sys.path.insert(0, str(root))
    try:
        for path in get_repo_files(root):
            name = py_path_to_module(path)
            for cached in [m for m in sys.modules if m == name or name.startswith(m + ".")]:
                del sys.modules[cached]
        apply_total(store.config, root, skip_source_validation=False)
    finally:
        sys.path.remove(str(root))
        os.chdir(here)
    store.refresh_registry()
    return sorted(
        [view.name for view in store.list_feature_views()]
        + [service.name for service in store.list_feature_services()]
    )


def materialize(store: FeatureStore, source: pd.DataFrame, event_timestamp: str) -> None:
    """Load the latest value of each entity's features into the online store.

    The window runs from the oldest to one second past the newest event timestamp of
    ``source``, so the run is deterministic (no wall clock).
    """
    start = source[event_timestamp].min().to_pydatetime() - timedelta(seconds=1)
    end = source[event_timestamp].max().to_pydatetime() + timedelta(seconds=1)
    store.materialize(start_date=start, end_date=end)


def training_set(
    store: FeatureStore,
    service: str,
    entities: pd.DataFrame,
    entity_keys: Sequence[str],
    event_timestamp: str,
    features: Mapping[str, str],
) -> pd.DataFrame:
    """Feast's point-in-time join: each entity row gets the values known at its timestamp.

    Args:
        store: the applied store.
        service: the feature service whose features are joined.
        entities: n rows x (keys, event timestamp, labels or other columns kept as they are).
        entity_keys: the join keys.
        event_timestamp: the entity rows' timestamp column (when the label was observed).
        features: feature name -> ``"double"``/``"string"`` (:func:`feature_types`).

    Returns:
        n rows in the order of ``entities`` (Feast does not keep row order: rows are merged
        back on keys and timestamp) x (their columns, then the features, cast explicitly).
        A feature with no value at or before a row's timestamp is missing (NaN/None).

    Raises:
        FeatureStoreError: a key or the timestamp column is missing in ``entities``.
    """
    check_columns(entities, [*entity_keys, event_timestamp], "the entity rows")
    keyed = entities.reset_index(drop=True).copy()
    keyed["__row"] = range(len(keyed))
    keyed[event_timestamp] = timestamps(keyed[event_timestamp], event_timestamp)
    for key in entity_keys:
        keyed[key] = entity_values(keyed[key], entity_type(keyed[key]))
    query = keyed[[*entity_keys, event_timestamp, "__row"]]
    joined = store.get_historical_features(
        entity_df=query, features=store.get_feature_service(service)
    ).to_df()
    joined = joined.set_index("__row").reindex(range(len(keyed)))
    out = keyed.drop(columns="__row")
    for name, kind in features.items():
        out[name] = typed(joined[name].reset_index(drop=True), kind)
    return out


def service_version(service: Any) -> str:
    """``sha256:<hex>`` of a feature service's definition, without registry timestamps.

    Covers each view's name, its fields and their types, and its join keys: it changes
    exactly when what the model is served changes.
    """
    parts = []
    for projection in service.feature_view_projections:
        fields = sorted((f.name, str(f.dtype)) for f in projection.features)
        parts.append({"view": projection.name, "fields": fields})
    text = json.dumps({"service": service.name, "views": parts}, sort_keys=True)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def spec(
    store: FeatureStore,
    service: str,
    schema: Schema,
    source: pd.DataFrame,
    entity_keys: Sequence[str],
    event_timestamp: str,
) -> FeatureSpec:
    """The :class:`FeatureSpec` of ``service`` as applied in ``store``."""
    return FeatureSpec(
        service=service,
        version=service_version(store.get_feature_service(service)),
        entity_keys=tuple(entity_keys),
        entity_types={key: entity_type(source[key]) for key in entity_keys},
        features=feature_types(schema),
        event_timestamp=event_timestamp,
        project=store.project,
    )


def describe(store: FeatureStore, feature_spec: FeatureSpec) -> dict[str, Any]:
    """``reports/feature_store.json``: the model's spec and every feature view's definition.

    Returns:
        ``{"spec": FeatureSpec.to_dict(), "feature_views": {name: {"entities", "ttl_seconds",
        "online", "source", "fields": {field: type}}}}`` (sorted: a diff shows real changes).
    """
    views = {}
    for view in sorted(store.list_feature_views(), key=lambda v: v.name):
        views[view.name] = {
            "entities": sorted(view.entities),
            "ttl_seconds": int(view.ttl.total_seconds()) if view.ttl else 0,
            "online": bool(view.online),
            "source": getattr(view.batch_source, "path", view.batch_source.name),
            "fields": {f.name: str(f.dtype) for f in view.features},
        }
    return {"spec": feature_spec.to_dict(), "feature_views": views}


def changes(base: Mapping[str, Any] | None, current: Mapping[str, Any]) -> list[str]:
    """What a pull request changes in the feature views, one Markdown line each.

    Args:
        base: :func:`describe` on the base branch (None: it had no feature store).
        current: :func:`describe` of the pull request.

    Returns:
        Lines such as ``feature view `features`: added field `age` (Float64)``; empty when
        nothing changed.
    """
    before = dict((base or {}).get("feature_views", {}))
    after = dict(current.get("feature_views", {}))
    lines = []
    for name in sorted(after.keys() - before.keys()):
        lines.append(f"feature view `{name}`: added ({len(after[name]['fields'])} fields)")
    for name in sorted(before.keys() - after.keys()):
        lines.append(f"feature view `{name}`: removed")
    for name in sorted(after.keys() & before.keys()):
        old, new = before[name], after[name]
        old_fields, new_fields = old.get("fields", {}), new.get("fields", {})
        for field in [f for f in new_fields if f not in old_fields]:
            lines.append(f"feature view `{name}`: added field `{field}` ({new_fields[field]})")
        for field in [f for f in old_fields if f not in new_fields]:
            lines.append(f"feature view `{name}`: removed field `{field}`")
        for field in [f for f in new_fields if f in old_fields]:
            if new_fields[field] != old_fields[field]:
                lines.append(
                    f"feature view `{name}`: field `{field}` type "
                    f"{old_fields[field]} -> {new_fields[field]}"
                )
        for key in ("entities", "ttl_seconds", "online", "source"):
            if old.get(key) != new.get(key):
                lines.append(f"feature view `{name}`: {key} {old.get(key)} -> {new.get(key)}")
    old_spec, new_spec = (base or {}).get("spec", {}), current.get("spec", {})
    if base is not None and old_spec.get("version") != new_spec.get("version"):
        lines.append(
            f"feature service `{new_spec.get('service')}`: version "
            f"{str(old_spec.get('version'))[:19]} -> {str(new_spec.get('version'))[:19]}"
        )
    return lines


def online_features(
    store: FeatureStore, feature_spec: FeatureSpec, rows: pd.DataFrame
) -> pd.DataFrame:
    """The served features of the entities in ``rows``, from the online store.

    Args:
        store: the store the model's features were materialized in.
        feature_spec: the model's :class:`FeatureSpec`.
        rows: n rows holding every entity key (other columns are ignored).

    Returns:
        n rows in the same order x (the keys, then the features in the model's order, typed
        as in training: float64 or text/None).

    Raises:
        FeatureStoreError: a key column is missing, a key value is missing, or an entity is
            not in the online store (naming its key values): a prediction on nulls would be
            silently wrong.
    """
    keys = list(feature_spec.entity_keys)
    check_columns(rows, keys, "the request")
    for key in keys:
        if rows[key].isna().any():
            raise FeatureStoreError(f"entity key {key!r} is missing in a request row")
    # One cast per key column, not per row (to_dict gives Python ints and strings).
    key_columns = pd.DataFrame(
        {key: entity_values(rows[key], feature_spec.entity_types[key]) for key in keys}
    )
    entity_rows = key_columns.to_dict("records")
    response = store.get_online_features(
        features=store.get_feature_service(feature_spec.service), entity_rows=entity_rows
    )
    unknown = unknown_rows(response, len(entity_rows), keys)
    if unknown:
        named = ", ".join(
            " and ".join(f"{key}={entity_rows[i][key]!r}" for key in keys) for i in unknown[:5]
        )
        raise FeatureStoreError(
            f"unknown entity: {named} not in the online store of feature service "
            f"{feature_spec.service!r}; send a known key or the full feature row"
        )
    values = response.to_dict()
    out = {key: [row[key] for row in entity_rows] for key in keys}
    frame = pd.DataFrame(out)
    for name, kind in feature_spec.features.items():
        frame[name] = typed(pd.Series(values[name], dtype=object), kind)
    return frame


def unknown_rows(response: Any, rows: int, keys: Sequence[str]) -> list[int]:
    """The indexes of rows whose every feature is NOT_FOUND in an online response."""
    results = [
        result
        for name, result in zip(
            response.proto.metadata.feature_names.val, response.proto.results, strict=True
        )
        if name not in keys
    ]
    if not results:
        return []
    return [i for i in range(rows) if all(result.statuses[i] == NOT_FOUND for result in results)]
