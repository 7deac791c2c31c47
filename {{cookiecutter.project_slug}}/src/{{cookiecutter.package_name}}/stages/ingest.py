"""Stage 1, ingest: load the raw data and split it into train and test sets."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.model_selection import train_test_split

from ..cli import PipelineError, run
from ..config import DataParams, ProblemType, load_params
from ..data import write_csv

DEMO = "demo"


def load_demo(problem_type: ProblemType, target: str) -> pd.DataFrame:
    """scikit-learn's bundled data (no network): breast cancer or diabetes."""
    loader = load_breast_cancer if problem_type == "classification" else load_diabetes
    bunch = loader(as_frame=True)
    frame = bunch.frame.rename(columns={"target": target})
    return frame


def load_source(source: str, problem_type: ProblemType, target: str) -> pd.DataFrame:
    """The raw data named by data.source, with a clear error when it is unusable."""
    if source == DEMO:
        return load_demo(problem_type, target)
    path = Path(source)
    if not path.is_file():
        raise PipelineError(
            f"data.source {source!r} does not exist: put your CSV there "
            "(then 'dvc add' it) or set data.source in params.yaml"
        )
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise PipelineError(f"data.source {source!r} is empty") from None
    if frame.empty:
        raise PipelineError(f"data.source {source!r} has a header but no rows")
    if target not in frame.columns:
        raise PipelineError(
            f"data.source {source!r} has no target column {target!r} "
            f"(columns: {', '.join(map(str, frame.columns))})"
        )
    return frame


def split(
    frame: pd.DataFrame, params: DataParams, problem_type: ProblemType
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Deterministic train/test split by data.seed, stratified for classification."""
    labelled = frame.dropna(subset=[params.target])
    if labelled.empty:
        raise PipelineError(f"target column {params.target!r} has no values")
    stratify = labelled[params.target] if problem_type == "classification" else None
    if stratify is not None and stratify.value_counts().min() < 2:
        raise PipelineError(
            f"every class of {params.target!r} needs at least 2 rows to stratify the split"
        )
    train, test = train_test_split(
        labelled, test_size=params.test_size, random_state=params.seed, stratify=stratify
    )
    return train.reset_index(drop=True), test.reset_index(drop=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    args = parser.parse_args(argv)

    params = load_params()
    frame = load_source(params.data.source, params.problem_type, params.data.target)
    train, test = split(frame, params.data, params.problem_type)
    write_csv(train, args.train)
    write_csv(test, args.test)
    print(f"ingest: {len(train)} train rows, {len(test)} test rows, {frame.shape[1]} columns")


if __name__ == "__main__":
    run(main)
