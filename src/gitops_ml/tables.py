"""Small I/O helpers shared by the stages."""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import pandas as pd

from .errors import PipelineError

SEPARATORS = ",;\t|"
DECIMAL_COMMA = re.compile(r"(^|;)\s*-?\d+,\d+\s*(;|$)", re.MULTILINE)
DECIMAL_NUMBER = r"^\s*(-?\d+),(\d+)\s*$"
SAMPLE_BYTES = 64 * 1024


def sniff(sample: str) -> tuple[str, str]:
    """The (separator, decimal mark) of a CSV from the text of its first lines.

    The separator is one of ``,`` ``;`` tab or ``|`` (Python's ``csv.Sniffer``; ``,`` when it
    cannot tell); the decimal mark is ``,`` when ``;`` separates fields that hold numbers like
    3,5, else ``.``.
    """
    try:
        separator = csv.Sniffer().sniff(sample, delimiters=SEPARATORS).delimiter
    except csv.Error:
        separator = ","
    decimal = "," if separator == ";" and DECIMAL_COMMA.search(sample) else "."
    return separator, decimal


def sniff_file(path: Path) -> tuple[str, str]:
    """:func:`sniff` on the first ``SAMPLE_BYTES`` (64 KiB) of a UTF-8 file.

    Raises:
        OSError: the file cannot be opened (e.g. ``FileNotFoundError``).
    """
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        return sniff(handle.read(SAMPLE_BYTES))


def read_raw_csv(path: Path, sep: str | None = None, decimal: str | None = None) -> pd.DataFrame:
    """A user's CSV (UTF-8, an optional BOM), with pandas' own dtypes.

    The separator and decimal mark are sniffed (:func:`sniff`) unless given (``data.read``
    in params.yaml).

    Returns:
        The file as read: its rows x its columns, at least one row.

    Raises:
        PipelineError: with a hint, when the file is empty, has a header but no rows, cannot
            be parsed with the separator, or was read as one column whose header contains
            another separator.
        OSError: the file cannot be opened.
    """
    sniffed_sep, sniffed_decimal = sniff_file(path)
    sep, decimal = sep or sniffed_sep, decimal or sniffed_decimal
    try:
        frame = pd.read_csv(path, sep=sep, decimal=decimal, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise PipelineError(f"data.source {str(path)!r} is empty") from None
    except pd.errors.ParserError as exc:
        raise PipelineError(
            f"data.source {str(path)!r} cannot be read with separator {sep!r}: {exc}; set "
            "data.read.sep in params.yaml"
        ) from None
    if frame.empty:
        raise PipelineError(f"data.source {str(path)!r} has a header but no rows")
    if frame.shape[1] == 1:
        header = str(frame.columns[0])
        seen = [
            name for char, name in ((";", "';'"), ("\t", "tab"), ("|", "'|'")) if char in header
        ]
        if seen:
            raise PipelineError(
                f"data.source {str(path)!r} was read as one column but its header contains "
                f"{seen[0]}: set data.read.sep in params.yaml to that separator"
            )
    return frame


def read_text_csv(path: Path) -> pd.DataFrame:
    """A CSV with every value as text (typed afterwards by the schema).

    The separator and decimal mark are sniffed as for the raw data, so a batch exported like
    the training data reads the same; with a decimal comma, values like 3,5 become 3.5.
    Missing values stay NaN.

    Raises:
        OSError: the file cannot be opened.
        pandas.errors.EmptyDataError: the file is empty.
    """
    sep, decimal = sniff_file(path)
    frame = pd.read_csv(path, sep=sep, dtype=str, encoding="utf-8-sig")
    if decimal == ",":
        frame = frame.apply(lambda column: column.str.replace(DECIMAL_NUMBER, r"\1.\2", regex=True))
    return frame


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` as comma-separated CSV, no index; creates the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)


def split_target(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.Series]:
    """(features, labels): ``frame`` without the ``target`` column (n rows x columns - 1), and it.

    Raises:
        KeyError: ``frame`` has no column ``target``.
    """
    return frame.drop(columns=[target]), frame[target]


def file_md5(path: Path) -> str:
    """The MD5 DVC records for a file in dvc.lock: the data version of that file."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
