"""What the three Spark pipelines share: PySpark itself (with a clear error where the
extra is missing), columns by exact name, argument checks that name the argument, job
labels, and Arrow schemas for ``mapInArrow``."""

from __future__ import annotations

try:
    import pandas  # noqa: F401 - the pandas UDF of dedup.spark.columns needs it
    import pyarrow as pa
    from pyspark.sql import Column, DataFrame
    from pyspark.sql import functions as F
    from pyspark.sql import types as T
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "dedup.spark needs PySpark, pyarrow and pandas: pip install 'dedup-passages[spark]'"
    ) from error

__all__ = [
    "ID_TYPES",
    "arrow_schema",
    "check_column",
    "check_dataframe",
    "check_output_col",
    "column_named",
    "describe_jobs",
    "spark_context",
]

# Id columns must be orderable the same way in Spark and Python: the cluster id is the
# smallest member id, and the kept document of each cluster is that one. A column has one
# type, so ids of two types (7 and "7") never meet in Spark: ids are told apart by value
# within their type, the rule of dedup.documents.id_key.
ID_TYPES = (T.StringType, T.LongType, T.IntegerType, T.ShortType, T.ByteType)


def column_named(name: str) -> Column:
    """A column by its exact name, even when the name contains dots or backticks."""
    return F.col("`" + name.replace("`", "``") + "`")


def check_dataframe(df: object) -> DataFrame:
    if not isinstance(df, DataFrame):
        raise TypeError(f"df must be a pyspark.sql.DataFrame, got {type(df).__name__}")
    return df


def check_column(df: DataFrame, name: object, argument: str, accepted: tuple, accepted_text: str) -> T.DataType:
    """The data type of column ``name``; errors name the argument and what is accepted."""
    if not isinstance(name, str):
        raise TypeError(f"{argument} must be a column name (str), got {type(name).__name__}")
    fields = {field.name: field for field in df.schema.fields}
    if name not in fields:
        raise ValueError(f"{argument}={name!r} is not a column of df; its columns are {', '.join(map(repr, fields))}")
    data_type = fields[name].dataType
    if not isinstance(data_type, accepted):
        raise TypeError(f"{argument}={name!r} must be a {accepted_text} column, got {data_type.simpleString()}")
    return data_type


def check_output_col(output_col: object, input_col: str) -> str:
    """The column to write: ``output_col``, or the input column (replaced in place) when None."""
    if output_col is None:
        return input_col
    if not isinstance(output_col, str) or not output_col:
        raise TypeError(f"output_col must be a non-empty column name (str) or None, got {output_col!r}")
    return output_col


def spark_context(spark):
    """The session's SparkContext, or None under Spark Connect (which has none)."""
    try:
        return spark.sparkContext
    except Exception:  # Spark Connect: PySparkNotImplementedError / AttributeError
        return None


def describe_jobs(spark, text: str) -> None:
    """Label the next Spark jobs (shown in the Spark UI and history server); Spark
    Connect has no job descriptions, so there the label is left out."""
    context = spark_context(spark)
    if context is not None:
        context.setJobDescription(f"dedup: {text}")


def arrow_schema(schema: T.StructType) -> pa.Schema:
    """The Arrow schema of a Spark schema, for batches that ``mapInArrow`` returns."""
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(schema)
