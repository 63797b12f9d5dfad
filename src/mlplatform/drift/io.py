"""Reading the data a drift check compares: Parquet and CSV files, whole or in batches."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from mlplatform.errors import DriftDataError

__all__ = ["DATA_SUFFIXES", "iter_frames", "read_table"]

DATA_SUFFIXES = (".parquet", ".pq", ".csv")
_BATCH_ROWS = 100_000


def read_table(path: str | os.PathLike[str], columns: Sequence[str] | None = None) -> pd.DataFrame:
    """A Parquet (``.parquet``, ``.pq``) or CSV file as a DataFrame.

    Raises:
        DriftDataError: the file is missing, of another kind, or cannot be parsed.
    """
    source = _existing(path)
    try:
        if source.suffix == ".csv":
            return pd.read_csv(source, usecols=list(columns) if columns else None)
        return pd.read_parquet(source, columns=list(columns) if columns else None)
    except (ValueError, OSError, KeyError) as exc:
        raise DriftDataError(
            f"cannot read {source}: {exc}", "Check that the file is valid Parquet or CSV."
        ) from exc


def iter_frames(
    paths: Sequence[str | os.PathLike[str]], batch_rows: int = _BATCH_ROWS
) -> Iterator[pd.DataFrame]:
    """The rows of the files in order, in batches of at most ``batch_rows`` rows."""
    for path in paths:
        source = _existing(path)
        try:
            if source.suffix == ".csv":
                yield from pd.read_csv(source, chunksize=batch_rows)
            else:
                import pyarrow.parquet as pq

                for batch in pq.ParquetFile(source).iter_batches(batch_size=batch_rows):
                    yield batch.to_pandas()
        except (ValueError, OSError) as exc:
            raise DriftDataError(f"cannot read {source}: {exc}") from exc


def _existing(path: str | os.PathLike[str]) -> Path:
    source = Path(path)
    if not source.is_file():
        raise DriftDataError(f"no data file at {source}", "Pass a Parquet or CSV file.")
    if source.suffix.lower() not in DATA_SUFFIXES:
        raise DriftDataError(
            f"{source} is neither Parquet nor CSV",
            f"Drift reads files ending in {', '.join(DATA_SUFFIXES)}.",
        )
    return source
