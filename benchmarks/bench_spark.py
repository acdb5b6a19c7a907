"""dedup.spark.find_duplicates on local Spark against in-process dedup.duplicates.find_duplicates.

For each corpus (a JSONL file with ``id`` and ``text``, and/or a generated synthetic
corpus) this prints:

- in-process: signing alone and the whole ``find_duplicates`` (one Python process);
- Spark (``local[N]``, warm JVM and Python workers): reading the input alone, an Arrow
  round trip through the Python workers without work, signing alone, and the whole
  ``find_duplicates``; per phase, the task time and shuffle bytes Spark's status API
  reports, to show where the time goes (Python workers vs JVM shuffles);
- whether both give the same clusters.

Examples::

    nice python benchmarks/bench_spark.py --corpus ../shared/corpora/bbc-en.jsonl
    nice python benchmarks/bench_spark.py --synthetic 200000 --skip-corpus
    nice python benchmarks/bench_spark.py --across 200000 --skip-duplicates   # clean_across

The synthetic corpus is generated (seeded) from pseudo-words: families of an original
and edited copies (words replaced, a passage dropped or appended, exact copies), so it
has clusters of every size and similarity around the threshold.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict

import pyarrow as pa
import pyarrow.parquet as pq

import dedup
from dedup.duplicates import find_duplicates as find_local
from lib.corpus import load_texts
from lib.measure import PeakMemory
from lib.planted import across_stream, synthetic_corpus


# ------------------------------------------------------------------------ helpers


def clusters_of_local(result) -> set[frozenset]:
    return {frozenset(cluster.members) for cluster in result.clusters}


def clusters_of_spark(rows, id_col: str) -> set[frozenset]:
    groups: dict = defaultdict(set)
    for row in rows:
        groups[row["cluster_id"]].add(row[id_col])
    return {frozenset(group) for group in groups.values()}


class PhaseLog(logging.Handler):
    """Keeps dedup.spark's phase messages (timings, pair counts)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def stage_metrics(spark) -> list[dict]:
    """Per-stage task time and shuffle bytes from Spark's status REST API."""
    url = spark.sparkContext.uiWebUrl
    app = spark.sparkContext.applicationId
    with urllib.request.urlopen(f"{url}/api/v1/applications/{app}/stages?status=complete", timeout=30) as response:
        return json.load(response)


def summarize_stages(stages: list[dict], since: int) -> dict[str, dict]:
    """Task time (s), CPU time (s) and shuffle MB per job description, for stages > since."""
    summary: dict[str, dict] = defaultdict(lambda: {"run_s": 0.0, "cpu_s": 0.0, "shuffle_write_mb": 0.0, "stages": 0})
    for stage in stages:
        if stage["stageId"] <= since:
            continue
        name = stage.get("description") or stage.get("name", "?")
        entry = summary[name]
        entry["run_s"] += stage.get("executorRunTime", 0) / 1000
        entry["cpu_s"] += stage.get("executorCpuTime", 0) / 1e9
        entry["shuffle_write_mb"] += stage.get("shuffleWriteBytes", 0) / 1e6
        entry["stages"] += 1
    return dict(summary)


def last_stage_id(spark) -> int:
    stages = stage_metrics(spark)
    return max((stage["stageId"] for stage in stages), default=-1)


def timed(label: str, function, results: dict):
    started = time.perf_counter()
    value = function()
    results[label] = time.perf_counter() - started
    print(f"  {label}: {results[label]:.1f} s", flush=True)
    return value


# -------------------------------------------------------------------------- bench


def bench_one(spark, name: str, ids: list, texts: list[str], args, workdir: str) -> dict:

    from dedup.duplicates import duplicate_banding
    from dedup.spark import find_duplicates, sign_documents

    n = len(texts)
    words = sum(len(text.split()) for text in texts)
    print(f"\n== {name}: {n} documents, {words / n:.0f} words on average", flush=True)
    figures: dict = {"docs": n, "words": words}

    # In-process, one Python process.
    hasher = dedup.MinHasher(args.num_perm)
    hasher.sign(texts[:100])  # warm-up: lookup tables
    timed("in-process signing", lambda: hasher.sign(texts), figures)
    local = timed("in-process find_duplicates", lambda: find_local(texts, ids=ids, threshold=args.threshold,
                                                                     num_perm=args.num_perm), figures)
    expected = clusters_of_local(local)
    print(f"  in-process: {len(expected)} clusters, {sum(map(len, expected))} documents in clusters, "
          f"bands={local.bands} rows={local.rows}, {local.candidates} candidate pairs", flush=True)

    # The same data as Parquet, read by Spark.
    path = os.path.join(workdir, f"{name}.parquet")
    id_type = pa.int64() if isinstance(ids[0], int) else pa.string()
    pq.write_table(pa.table({"id": pa.array(ids, id_type), "text": pa.array(texts)}), path, row_group_size=20_000)
    df = spark.read.parquet(path)
    if args.partitions:
        df = df.repartition(args.partitions)
    figures["partitions"] = df.rdd.getNumPartitions()
    bands, rows = duplicate_banding(args.threshold, args.num_perm, None)

    first_stage = last_stage_id(spark)
    spark.sparkContext.setJobDescription("bench: read")
    timed("spark read only", lambda: df.write.format("noop").mode("overwrite").save(), figures)
    spark.sparkContext.setJobDescription("bench: arrow round trip")
    timed("spark arrow round trip", lambda: df.select("id", "text").mapInArrow(lambda b: b, "id " + df.schema["id"]
                                                                               .dataType.simpleString() + ", text string")
          .write.format("noop").mode("overwrite").save(), figures)
    spark.sparkContext.setJobDescription("bench: signing only")
    timed("spark signing only", lambda: sign_documents(df, "text", "id", hasher, bands, rows)
          .write.format("noop").mode("overwrite").save(), figures)
    spark.sparkContext.setJobDescription(None)

    handler = PhaseLog()
    logging.getLogger("dedup.spark").addHandler(handler)
    logging.getLogger("dedup.spark").setLevel(logging.INFO)
    whole_start = last_stage_id(spark)

    def run():
        clusters = find_duplicates(df, "text", id_col="id", threshold=args.threshold, num_perm=args.num_perm)
        return clusters.collect()

    rows_out = timed("spark find_duplicates (whole, incl. collecting clusters)", run, figures)
    logging.getLogger("dedup.spark").removeHandler(handler)
    for message in handler.messages:
        print(f"    {message}")
    got = clusters_of_spark(rows_out, "id")
    figures["equal"] = got == expected
    figures["clusters"] = len(got)
    print(f"  spark: {len(got)} clusters; equal to in-process: {figures['equal']}", flush=True)
    if not figures["equal"]:
        print(f"  only in-process: {len(expected - got)}, only spark: {len(got - expected)}")

    stages = stage_metrics(spark)
    figures["before"] = summarize_stages([s for s in stages if s["stageId"] <= whole_start], first_stage)
    figures["phases"] = summarize_stages(stages, whole_start)
    print("  by phase: task run time (incl. waiting for Python workers) and JVM CPU time, s summed over cores;")
    print("  Python worker CPU is not in Spark's CPU figure, so run - cpu ~ Python + I/O waits:")
    for phase, entry in figures["phases"].items():
        print(f"    {phase:40s} run {entry['run_s']:7.1f}  cpu {entry['cpu_s']:7.1f}  "
              f"shuffle write {entry['shuffle_write_mb']:8.1f} MB  stages {entry['stages']}")
    if args.stages:
        for stage in sorted((s for s in stages if s["stageId"] > whole_start), key=lambda s: s["stageId"]):
            print(f"      stage {stage['stageId']:4d} {stage.get('description', '')[:30]:30s} "
                  f"{stage['name'][:45]:45s} tasks {stage['numTasks']:3d} run {stage['executorRunTime'] / 1000:6.1f} "
                  f"cpu {stage['executorCpuTime'] / 1e9:6.1f} in {stage.get('inputBytes', 0) / 1e6:6.1f} MB "
                  f"shuffle r/w {stage.get('shuffleReadBytes', 0) / 1e6:6.1f}/{stage.get('shuffleWriteBytes', 0) / 1e6:6.1f} MB")
    for phase, entry in figures["before"].items():
        print(f"    {phase:40s} run {entry['run_s']:7.1f}  cpu {entry['cpu_s']:7.1f}")
    per_doc = {key: figures[key] / n * 1e6 for key in figures if isinstance(figures[key], float)}
    print("  wall time per document (µs): " + ", ".join(f"{k}: {v:.0f}" for k, v in per_doc.items()))
    return figures


def bench_clean(spark, name: str, ids: list, texts: list[str], workdir: str) -> dict:
    """clean_column on Spark against dedup.clean_many in-process: time and equality."""
    from dedup.spark import clean_column

    print(f"\n== clean_column on {name}: {len(texts)} documents", flush=True)
    figures: dict = {}
    expected = timed("in-process clean_many", lambda: dedup.clean_many(texts), figures)
    path = os.path.join(workdir, "clean.parquet")
    id_type = pa.int64() if isinstance(ids[0], int) else pa.string()
    pq.write_table(pa.table({"id": pa.array(ids, id_type), "text": pa.array(texts)}), path)
    df = spark.read.parquet(path)
    rows = timed("spark clean_column (whole, incl. collecting)",
                 lambda: clean_column(df, "text", output_col="clean").select("id", "clean").collect(), figures)
    by_id = {row["id"]: row["clean"] for row in rows}
    figures["equal"] = [by_id[i] for i in ids] == expected
    changed = sum(a != b for a, b in zip(texts, expected))
    print(f"  texts changed: {changed}; equal to in-process: {figures['equal']}", flush=True)
    return figures


# ------------------------------------------------------------------ clean_across


def in_process_across(texts: list[str]) -> list[str]:
    """Deduplicator(scope="across") fed the articles in order, defaults: the in-process run."""
    return dedup.Deduplicator(scope="across").clean_many(texts)


def bench_across(spark, n: int, args, workdir: str, corpus: str | None = None) -> dict:
    from dedup.deduplicator import DEFAULT_MAX_HOLDERS, DEFAULT_MAX_SOURCES, DEFAULT_MIN_SEEDS, DEFAULT_WINDOW
    from dedup.align.params import RepeatParams
    from dedup.spark import aligned_articles, article_key_rows, candidate_sources, clean_across, texts_together
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    started = time.perf_counter()
    if corpus:  # a real corpus in file order (ids 0, 1, ... in that order)
        texts = load_texts(corpus)[1]
        n, ids, planted = len(texts), list(range(len(texts))), {"corpus": os.path.basename(corpus)}
    else:
        ids, texts, planted = across_stream(n)
    words = sum(len(t.split()) for t in texts)
    print(f"\n== clean_across: {n} articles, {words / n:.0f} words on average, {planted} "
          f"(generated in {time.perf_counter() - started:.1f} s)", flush=True)
    figures: dict = {"articles": n, "words": words, **planted}
    params = RepeatParams()

    expected = None
    if not args.skip_in_process:
        expected = timed("in-process Deduplicator(scope='across').clean_many (1 core)",
                         lambda: in_process_across(texts), figures)

    path = os.path.join(workdir, "across.parquet")
    pq.write_table(pa.table({"id": pa.array(ids, pa.int64()), "text": pa.array(texts)}), path, row_group_size=20_000)
    df = spark.read.parquet(path)
    articles = df.select(F.col("id"), F.col("id").alias("ord"), F.col("text"))
    memory = PeakMemory()
    persisted = []

    first_stage = last_stage_id(spark)

    def stage(label, frame):
        frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
        persisted.append(frame)
        spark.sparkContext.setJobDescription(label)
        count = timed(label, frame.count, figures)
        print(f"    rows: {count}", flush=True)
        figures[label + " rows"] = count
        return frame

    whole = time.perf_counter()
    keys = stage("spark 1. keys (key, ord, id, fingerprint)", article_key_rows(articles, params, DEFAULT_WINDOW))
    pairs = stage("spark 2. candidate pairs (heavy-key cap, top sources)", candidate_sources(
        keys, max_holders=DEFAULT_MAX_HOLDERS, max_sources=DEFAULT_MAX_SOURCES, min_seeds=DEFAULT_MIN_SEEDS))
    together = stage("spark 3. texts together", texts_together(articles, pairs))
    aligned = stage("spark 4-6. alignment, merged spans, removal", aligned_articles(together, params))
    cleaned_rows = aligned.select(F.col("id").alias("cid"), "cleaned")
    final = df.join(cleaned_rows, F.col("id") == F.col("cid"), "left").select(
        "id", F.coalesce("cleaned", "text").alias("text"))
    spark.sparkContext.setJobDescription("spark output (join back, collect)")
    got = timed("spark output (join back, collect)", lambda: final.collect(), figures)
    spark.sparkContext.setJobDescription(None)
    figures["spark stages total"] = time.perf_counter() - whole
    figures.update(memory.stop())
    figures["phases"] = summarize_stages(stage_metrics(spark), first_stage)
    print("  by stage: task run time and JVM CPU (s, summed over cores), shuffle written:")
    for phase, entry in figures["phases"].items():
        print(f"    {phase:55s} run {entry['run_s']:7.1f}  cpu {entry['cpu_s']:7.1f}  "
              f"shuffle write {entry['shuffle_write_mb']:8.1f} MB ({entry['shuffle_write_mb'] * 1e6 / n:.0f} B/article)")
    for frame in persisted:
        frame.unpersist()
    print(f"  peak memory: JVM {figures['jvm_mb']:.0f} MB, Python workers {figures['python_workers_mb']:.0f} MB "
          f"(largest one {figures['one_worker_mb']:.0f} MB)", flush=True)

    spark_out = {row["id"]: row["text"] for row in got}
    changed = sum(spark_out[i] != t for i, t in zip(ids, texts))
    figures["changed"] = changed
    print(f"  articles changed by spark: {changed}", flush=True)
    if expected is not None:
        equal = sum(spark_out[i].split() == e.split() for i, e in zip(ids, expected))
        figures["word_equal_share"] = equal / n
        print(f"  word-equal to in-process: {equal} of {n} ({100 * equal / n:.3f}%)", flush=True)
    started = time.perf_counter()
    clean_across(df, "text", id_col="id").write.format("noop").mode("overwrite").save()
    figures["spark clean_across end to end (noop write)"] = time.perf_counter() - started
    print(f"  spark clean_across end to end (noop write): {figures['spark clean_across end to end (noop write)']:.1f} s")
    return figures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="../shared/corpora/bbc-en.jsonl", help="JSONL with id and text")
    parser.add_argument("--skip-corpus", action="store_true", help="only the synthetic corpus")
    parser.add_argument("--synthetic", type=int, default=0, help="also a generated corpus of this many documents")
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--num-perm", type=int, default=128)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--partitions", type=int, default=0, help="repartition the input (default: as read)")
    parser.add_argument("--shuffle-partitions", type=int, default=8)
    parser.add_argument("--driver-memory", default="3g")
    parser.add_argument("--stages", action="store_true", help="print every Spark stage of find_duplicates")
    parser.add_argument("--across", type=int, default=0, help="clean_across on a generated stream of this many articles")
    parser.add_argument("--skip-in-process", action="store_true", help="clean_across: no in-process reference run")
    parser.add_argument("--across-corpus", default="", help="clean_across on this JSONL corpus (id, text), file order")
    parser.add_argument("--skip-duplicates", action="store_true", help="no find_duplicates/clean_column runs")
    args = parser.parse_args(argv)

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    started = time.perf_counter()
    spark = (
        SparkSession.builder.master(args.master)
        .appName("dedup-bench")
        .config("spark.driver.memory", args.driver_memory)
        .config("spark.sql.shuffle.partitions", str(args.shuffle_partitions))
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    print(f"Spark {spark.version}, {args.master}, session start {time.perf_counter() - started:.1f} s")

    # Warm-up: JVM code generation and the Python workers' imports, not counted below.
    from dedup.spark import find_duplicates

    warm = spark.createDataFrame([(i, f"warm up text number {i % 7} for the workers") for i in range(200)],
                                 "id long, text string")
    started = time.perf_counter()
    find_duplicates(warm, threshold=args.threshold).collect()
    print(f"warm-up find_duplicates on 200 tiny documents: {time.perf_counter() - started:.1f} s")

    with tempfile.TemporaryDirectory(prefix="dedup-bench-spark-") as workdir:
        if args.across:
            bench_across(spark, args.across, args, workdir)
        if args.across_corpus:
            bench_across(spark, 0, args, workdir, corpus=args.across_corpus)
        if not args.skip_corpus and not args.skip_duplicates:
            ids, texts = load_texts(args.corpus)
            name = os.path.basename(args.corpus).split(".")[0]
            bench_one(spark, name, ids, texts, args, workdir)
            # Every tenth article with its body pasted a second time, so there is work to do.
            doubled = [text + "\n\n" + text if i % 10 == 0 else text for i, text in enumerate(texts)]
            bench_clean(spark, name + " (every 10th body pasted twice)", ids, doubled, workdir)
        if args.synthetic and not args.skip_duplicates:
            started = time.perf_counter()
            ids, texts = synthetic_corpus(args.synthetic)
            print(f"\n(generated {args.synthetic} synthetic documents in {time.perf_counter() - started:.1f} s)")
            bench_one(spark, f"synthetic-{args.synthetic}", ids, texts, args, workdir)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
