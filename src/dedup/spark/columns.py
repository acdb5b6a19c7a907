"""Spark's twin of :func:`dedup.align.clean_many`: repeated passages removed inside each
text of a string column (no text looks at another)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ..align import RepeatParams, clean_many
from .dataframes import check_column, check_dataframe, check_output_col, column_named

__all__ = ["clean_column"]


def clean_column(df: DataFrame, column: str, output_col: str | None = None, **params: Any) -> DataFrame:
    """Remove repeated passages inside each text of a string column.

    The distributed twin of :func:`dedup.align.clean_many`: a pandas UDF hands each
    Python worker whole Arrow batches of the column (``spark.sql.execution.arrow.
    maxRecordsPerBatch`` texts, 10,000 by default), so the NumPy hot path runs on a
    batch at a time. Only this column travels to Python; the other columns stay in
    the JVM and come back untouched. Null texts stay null.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        The input.
    column : str
        Name of a string column holding the texts.
    output_col : str, optional
        Name of the column to write; by default ``column`` is replaced in place. A new
        name is appended as the last column.
    **params
        Passed to :func:`dedup.align.clean_many` (for example ``threshold``); they are
        checked on the driver first, so a bad value fails here, not in an executor.

    Returns
    -------
    pyspark.sql.DataFrame
        ``df`` with the cleaned texts (lazy, like any DataFrame transformation).

    Examples
    --------
    >>> from dedup.spark import clean_column
    >>> df = spark.createDataFrame([(1, "Rain today.\\n\\nRain today.")], "id long, text string")
    >>> clean_column(df, "text", output_col="clean").columns
    ['id', 'text', 'clean']
    """
    df = check_dataframe(df)
    check_column(df, column, "column", (T.StringType,), "string")
    output_col = check_output_col(output_col, column)
    RepeatParams.from_keywords("clean_column", params)  # a bad parameter fails here, on the driver

    @F.pandas_udf(T.StringType())
    def _clean(texts: pd.Series) -> pd.Series:
        present = texts.notna().to_numpy()
        cleaned = texts.astype(object)
        if present.any():
            cleaned[present] = clean_many(texts[present].tolist(), **params)
        return cleaned

    return df.withColumn(output_col, _clean(column_named(column)))
