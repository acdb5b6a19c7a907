"""dedup.spark through Spark Connect: a local Connect server (``remote("local[2]")``,
loopback only) started in a child process, so it does not meet the classic session of
the other Spark tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("pyspark", reason="needs the spark extra")

pytestmark = [pytest.mark.spark, pytest.mark.slow]

_SCRIPT = textwrap.dedent(
    '''
    import json, os, sys
    os.environ["PYSPARK_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession
    spark = (SparkSession.builder.remote("local[2]")
             .config("spark.sql.shuffle.partitions", "4").getOrCreate())
    from dedup.spark import clean_across, find_duplicates
    wire = ("The central bank kept its main interest rate unchanged on Thursday, citing slowing "
            "inflation and a weaker outlook for exports in the coming months.")
    df = spark.createDataFrame(
        [(1, "Markets rose.\\n\\n" + wire), (2, wire + "\\n\\nAnalysts agreed."), (3, wire.upper())],
        "id long, text string")
    clusters, pairs = find_duplicates(df, threshold=0.7, return_pairs=True)
    cleaned, report = clean_across(df, "text", id_col="id", report=True)
    print(json.dumps({
        "session": type(spark).__module__,
        "clusters": sorted(tuple(r) for r in clusters.collect()),
        "pairs": sorted(tuple(r)[:2] for r in pairs.collect()),
        "cleaned": [r.text for r in cleaned.orderBy("id").collect()],
        "report": sorted((r.id, r.source_id) for r in report.collect()),
    }))
    spark.stop()
    '''
)


def test_find_duplicates_and_clean_across_run_through_spark_connect():
    import pyspark

    if int(pyspark.__version__.split(".")[0]) < 4:
        pytest.skip("PySpark 3.5 has no bundled local Connect server (remote('local') would download one)")
    pytest.importorskip("grpc", reason="Spark Connect needs pyspark[connect] (grpcio, grpcio-status)")
    # SPARK_TESTING: the local Connect server takes a free port, not 15002, so that two test
    # runs on one machine do not meet (PySpark's own switch for parallel tests, SPARK-42272).
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_TESTING": "1"}
    done = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["session"].startswith("pyspark.sql.connect")
    assert result["clusters"] == [[1, 1], [2, 1], [3, 1]]
    assert result["pairs"] == [[1, 2], [1, 3], [2, 3]]
    assert result["cleaned"][0].endswith("coming months.") and result["cleaned"][1:] == ["Analysts agreed.", ""]
    assert result["report"] == [[2, 1], [3, 1]]
