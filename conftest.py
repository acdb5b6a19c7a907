"""Shared pytest set-up: the doctests in ``src/dedup`` and one local Spark session.

``pytest`` runs the tests in ``tests/`` and every docstring example in ``src/dedup``
(``--doctest-modules``, see pyproject.toml). ``dedup.spark``'s examples need PySpark and
Java; where either is missing that package is not collected, as ``tests/test_spark.py``
is skipped (``DEDUP_REQUIRE_SPARK=1`` makes that skip a failure there).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys

import pytest


def spark_available() -> bool:
    """PySpark is installed and a Java runtime is there to run it."""
    has_java = shutil.which("java") is not None or bool(os.environ.get("JAVA_HOME"))
    return importlib.util.find_spec("pyspark") is not None and has_java


# __main__ runs the command when imported; spark needs PySpark and Java.
collect_ignore = ["src/dedup/__main__.py"] + ([] if spark_available() else ["src/dedup/spark"])


@pytest.fixture(scope="session")
def spark_session():
    """One small local Spark session for every test and example that needs one.

    Skips the test where PySpark or Java is missing (fails it when ``DEDUP_REQUIRE_SPARK``
    is set, as in CI).
    """
    if not spark_available():
        reason = "needs PySpark (pip install -e '.[spark]') and a Java runtime"
        if os.environ.get("DEDUP_REQUIRE_SPARK", "") not in ("", "0"):
            pytest.fail(f"DEDUP_REQUIRE_SPARK is set but this {reason}", pytrace=False)
        pytest.skip(reason)
    from pyspark.sql import SparkSession

    # The Python workers must run this interpreter (with dedup installed), not
    # whatever "python3" is first on PATH.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("dedup-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "2")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "64")  # several batches per partition
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(autouse=True)
def _spark_for_spark_doctests(request, doctest_namespace):
    # dedup.spark's docstring examples use a session called ``spark``, as pyspark's own do.
    module = getattr(getattr(request.node, "dtest", None), "globs", {}).get("__name__")
    if module == "dedup.spark" or str(module).startswith("dedup.spark."):
        doctest_namespace["spark"] = request.getfixturevalue("spark_session")
