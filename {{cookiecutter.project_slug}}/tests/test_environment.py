"""The pinned stack imports together (Evidently 0.7 breaks with pandas 3: keep pandas<3)."""

from __future__ import annotations

import importlib


def test_pandas_major_version_supported_by_evidently():
    import pandas

    assert int(pandas.__version__.split(".")[0]) < 3, (
        "pandas 3 breaks `import evidently` (0.7): keep the pandas<3 pin"
    )


def test_stack_imports():
    for module in ("evidently", "great_expectations", "mlflow", "dvc", "sklearn"):
        importlib.import_module(module)
    from evidently import DataDefinition, Dataset, Report  # noqa: F401  (the 0.7 API we use)
