"""Registry moves: the ``champion`` and ``previous-champion`` aliases of an MLflow model.

``previous-champion`` always names the version ``champion`` named before the last move, so a
rollback is one alias move (:func:`restore`). Every function takes the ``MlflowClient`` (or a
stand-in with the same methods) as its first argument.
"""

from __future__ import annotations

import logging
from typing import Any

from . import tracking
from .errors import PipelineError
from .params import LibraryParams

CHAMPION = "champion"
PREVIOUS = "previous-champion"
log = logging.getLogger(__name__)


def registry_client() -> Any:
    """An ``mlflow.MlflowClient`` on :func:`gitops_ml.tracking.tracking_uri`."""
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking.tracking_uri())


def alias_version(client: Any, name: str, alias: str) -> str | None:
    """The version an alias points at, or None when it is not set."""
    try:
        aliases = client.get_registered_model(name).aliases
    except Exception as exc:
        if "RESOURCE_DOES_NOT_EXIST" in str(getattr(exc, "error_code", "")):
            return None
        raise
    version = aliases.get(alias)
    return None if version is None else str(version)


def ensure_registered(client: Any, name: str) -> None:
    """Create the registered model ``name`` unless it exists.

    Raises:
        mlflow.exceptions.MlflowException: the registry fails for another reason than a
            missing model.
    """
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        client.create_registered_model(name)


def register_candidate(
    client: Any, name: str, run_info: dict[str, Any], params: LibraryParams
) -> Any:
    """The model version for the candidate, or None when its run is not in this store.

    A version whose source is ``run_info["model_uri"]`` is reused; else a new version is
    created from that run. None means the model was restored from the DVC run-cache on a
    fresh CI machine: the caller re-logs it from models/model.joblib (a warning is logged).

    Raises:
        KeyError: ``run_info`` lacks ``model_uri`` or ``run_id``.
        mlflow.exceptions.MlflowException: the registry cannot be searched.
    """
    from mlflow.exceptions import MlflowException

    source = run_info["model_uri"]
    for version in client.search_model_versions(f"name = '{name}'"):
        if version.source == source:
            return version
    try:
        return client.create_model_version(name, source, run_id=run_info["run_id"])
    except MlflowException as exc:
        log.warning("%s is not in this MLflow store (%s): logging it again", source, exc)
    return None


def move_champion(client: Any, name: str, version: str, expected: str | None) -> None:
    """Point `champion` at `version`, keeping the old one as `previous-champion`.

    `previous-champion` moves first: if the second call fails, `champion` still names the
    old version (and so does `previous-champion`). A champion changed by someone else since
    the comparison aborts the move.

    Args:
        client: an ``MlflowClient``.
        name: the registered model.
        version: the version ``champion`` moves to.
        expected: the version ``champion`` named when the comparison started (None: unset).

    Raises:
        PipelineError: ``champion`` no longer names ``expected`` (a concurrent promotion;
            nothing moved), or does not name ``version`` after the move.
        mlflow.exceptions.MlflowException: the registry refuses an alias move.
    """
    current = alias_version(client, name, CHAMPION)
    if current != expected:
        raise PipelineError(
            f"concurrent promotion: '{CHAMPION}' moved from version {expected} to {current} "
            "during the comparison; nothing changed, run the promotion again"
        )
    if current is not None:
        client.set_registered_model_alias(name, PREVIOUS, current)
    client.set_registered_model_alias(name, CHAMPION, version)
    if alias_version(client, name, CHAMPION) != version:
        raise PipelineError(f"'{CHAMPION}' does not point at version {version} after the move")


def load_version(name: str, version: str) -> Any:
    """The scikit-learn model of registered version ``models:/<name>/<version>``.

    Raises:
        mlflow.exceptions.MlflowException: the version does not exist or cannot be loaded.
    """
    import mlflow

    mlflow.set_tracking_uri(tracking.tracking_uri())
    return mlflow.sklearn.load_model(f"models:/{name}/{version}")


def restore(client: Any, name: str, version: str | None = None) -> tuple[str, str]:
    """Rollback in the registry: `champion` back to `version` (default: `previous-champion`).

    Returns:
        (old champion, new champion) versions; the old one is ``"none"`` when unset.

    Raises:
        PipelineError: no ``version`` given and ``previous-champion`` unset; ``version`` is
            already ``champion``; or a concurrent move (see :func:`move_champion`).
        mlflow.exceptions.MlflowException: ``version`` does not exist.
    """
    current = alias_version(client, name, CHAMPION)
    target = version or alias_version(client, name, PREVIOUS)
    if target is None:
        raise PipelineError(
            f"no version to restore: '{PREVIOUS}' is not set; pass a version explicitly"
        )
    client.get_model_version(name, target)  # fails clearly when the version does not exist
    if current == target:
        raise PipelineError(f"version {target} is already '{CHAMPION}'")
    move_champion(client, name, target, current)
    return current or "none", target
