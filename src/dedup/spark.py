"""The dedup pipeline on Apache Spark DataFrames (optional extra ``dedup-passages[spark]``).

Three entry points, each the distributed twin of an in-process function:

- :func:`clean_column` runs :func:`dedup.repeats.clean_many` (repeats inside one text)
  over a string column, a whole Arrow batch at a time.
- :func:`find_duplicates` clusters near-duplicate documents exactly as the in-process
  :func:`dedup.duplicates.find_duplicates` does (same signatures, same LSH bands, same
  verification rule), but every stage is a DataFrame operation, so nothing about the
  corpus is collected on the driver.
- :func:`clean_across` removes passages that an earlier article carries, as
  ``Deduplicator(scope="across")`` does fed the articles in order: fingerprints,
  candidate sources (heavy keys capped), alignment in Python workers, removal.

Every function also runs on a Spark Connect session (no ``SparkContext`` needed).

How :func:`find_duplicates` runs (each step calls the in-process stage; see
``docs/spark.md`` for the measured costs):

1. **Signatures.** ``mapInArrow`` hands each Python worker Arrow batches of
   ``(id, text)``; :meth:`dedup.minhash.MinHasher.sign` signs the whole batch in NumPy
   and :func:`dedup.lsh.band_keys` turns the signatures into one 64-bit key per band.
   Signatures (``num_perm * 4`` bytes a document) are cached for the later steps.
2. **Candidates.** ``(band, key, id)`` rows are shuffled on ``(band, key)`` and sorted
   in the JVM; Python workers find each bucket as a run of equal ``(band, key)`` and
   apply the in-process rule (``dedup.lsh.bucket_pairs``): every pair of a bucket of up
   to ``max_bucket`` documents, a star around the smallest id for a larger bucket (so
   ten thousand copies of one text cost ten thousand pairs, not fifty million); pairs
   are de-duplicated across bands. Documents without a word take no part, as in-process.
3. **Verification.** The two signatures of each candidate pair are joined on and
   compared in NumPy with :func:`dedup.minhash.jaccard`: a pair is kept when the
   estimated Jaccard similarity is ``>= threshold``, the in-process rule.
4. **Connected components** of the kept pairs by the alternating large-star /
   small-star algorithm (Kiveris et al., 2014) on an edge DataFrame: O(log n) rounds,
   each a few shuffles, with the lineage cut by a checkpoint every round.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import asdict
from typing import Any, Iterator

import numpy as np

from ._validate import check_fraction, check_int
from .duplicates import duplicate_banding, empty_documents
from .lsh import DEFAULT_MAX_BUCKET, band_keys, bucket_pairs
from .minhash import MinHasher, jaccard
from .deduplicator import DEFAULT_MAX_HOLDERS, DEFAULT_MAX_SOURCES, DEFAULT_MIN_SEEDS, DEFAULT_WINDOW
from .across import prepare_batch
from .align import RepeatParams, clean_many, find_repeats, remove_spans
from .text import DEFAULT_MODE

try:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyspark import StorageLevel
    from pyspark.sql import Column, DataFrame, Window
    from pyspark.sql import functions as F
    from pyspark.sql import types as T
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "dedup.spark needs PySpark, pyarrow and pandas: pip install 'dedup-passages[spark]'"
    ) from error

__all__ = ["clean_across", "clean_column", "find_duplicates"]

log = logging.getLogger(__name__)

# Id columns must be orderable the same way in Spark and Python: the cluster id is the
# smallest member id, and the kept document of each cluster is that one.
_ID_TYPES = (T.StringType, T.LongType, T.IntegerType, T.ShortType, T.ByteType)
# Rounds of large-star + small-star before giving up; O(log n) are needed, so 64 is
# never reached by a real graph and only guards against a bug looping forever.
_MAX_ROUNDS = 64


# --------------------------------------------------------------------------- helpers


def _col(name: str) -> Column:
    """A column by its exact name, even when the name contains dots or backticks."""
    return F.col("`" + name.replace("`", "``") + "`")


def _check_dataframe(df: object) -> DataFrame:
    if not isinstance(df, DataFrame):
        raise TypeError(f"df must be a pyspark.sql.DataFrame, got {type(df).__name__}")
    return df


def _check_column(df: DataFrame, name: object, argument: str, accepted: tuple, accepted_text: str) -> T.DataType:
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


def _context(spark):
    """The session's SparkContext, or None under Spark Connect (which has none)."""
    try:
        return spark.sparkContext
    except Exception:  # Spark Connect: PySparkNotImplementedError / AttributeError
        return None


def _describe(spark, text: str) -> None:
    """Label the next Spark jobs (shown in the Spark UI and history server); Spark
    Connect has no job descriptions, so there the label is left out."""
    context = _context(spark)
    if context is not None:
        context.setJobDescription(f"dedup: {text}")


# ------------------------------------------------------------------ clean_column


def clean_column(df: DataFrame, column: str, output_col: str | None = None, **params: Any) -> DataFrame:
    """Remove repeated passages inside each text of a string column.

    The distributed twin of :func:`dedup.repeats.clean_many`: a pandas UDF hands each
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
        Passed to :func:`dedup.repeats.clean_many` (for example ``threshold``); they are
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
    df = _check_dataframe(df)
    _check_column(df, column, "column", (T.StringType,), "string")
    if output_col is None:
        output_col = column
    elif not isinstance(output_col, str) or not output_col:
        raise TypeError(f"output_col must be a non-empty column name (str) or None, got {output_col!r}")
    RepeatParams.from_keywords("clean_column", params)  # a bad parameter fails here, on the driver

    @F.pandas_udf(T.StringType())
    def _clean(texts: pd.Series) -> pd.Series:
        present = texts.notna().to_numpy()
        cleaned = texts.astype(object)
        if present.any():
            cleaned[present] = clean_many(texts[present].tolist(), **params)
        return cleaned

    return df.withColumn(output_col, _clean(_col(column)))


# --------------------------------------------------------------- find_duplicates


def _binary_column(rows: np.ndarray) -> pa.Array:
    """A 2-D array as an Arrow binary array, one row per value, without copying."""
    rows = np.ascontiguousarray(rows)
    width = rows.shape[1] * rows.itemsize
    offsets = np.arange(0, (len(rows) + 1) * width, width, dtype=np.int32)
    return pa.Array.from_buffers(pa.binary(), len(rows), [None, pa.py_buffer(offsets), pa.py_buffer(rows)])


def _signatures_of(column: pa.Array, num_perm: int) -> np.ndarray:
    """The ``(n, num_perm)`` uint32 signatures held in an Arrow binary column."""
    column = column.cast(pa.binary()) if column.type != pa.binary() else column
    n = len(column)
    if column.null_count:
        raise ValueError("internal error: a candidate pair lost its signature")
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int32)[column.offset : column.offset + n + 1]
    if np.any(np.diff(offsets) != num_perm * 4):
        raise ValueError("internal error: signatures of unexpected length")
    data = np.frombuffer(column.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    return data.view("<u4").reshape(n, num_perm)


def _checkpoint(df: DataFrame, reliable: bool) -> DataFrame:
    """Materialise ``df`` and cut its lineage, so iterative plans do not grow."""
    return df.checkpoint(eager=True) if reliable else df.localCheckpoint(eager=True)


def _is_star_forest(edges: DataFrame) -> bool:
    """Whether edges ``(u, v)``, ``u > v``, form stars: every node has at most one
    smaller neighbour, and no node with a smaller neighbour has a larger one. Then every
    component is one centre (its smallest node) with its leaves."""
    nodes = edges.select(F.col("u").alias("node"), F.lit(1).alias("up"), F.lit(0).alias("down")).unionByName(
        edges.select(F.col("v").alias("node"), F.lit(0).alias("up"), F.lit(1).alias("down"))
    )
    degrees = nodes.groupBy("node").agg(F.sum("up").alias("up"), F.max("down").alias("down"))
    return degrees.where("up > 1 OR (up = 1 AND down = 1)").limit(1).count() == 0


def connected_components(edges: DataFrame, reliable: bool) -> tuple[DataFrame, int]:
    """``(u, root)`` for every node of an undirected edge list ``(u, v)``, where ``root``
    is the smallest node of its component (roots included as ``(root, root)``).

    Alternates large-star and small-star (Kiveris, Lattanzi, Mirrokni, Rastogi,
    Vassilvitskii: "Connected Components in MapReduce and Beyond", SoCC 2014) until the
    graph is a forest of stars, each centred on its component's smallest node.
    Edges are kept as ``(u, v)`` with ``u > v``.
    """
    started = time.perf_counter()
    edges = _checkpoint(
        edges.select(F.greatest("u", "v").alias("u"), F.least("u", "v").alias("v")).where("u != v").distinct(),
        reliable,
    )
    log.info("verified pairs: %d, %.1f s", edges.count(), time.perf_counter() - started)
    _describe(edges.sparkSession, "connected components")
    started = time.perf_counter()
    for round_number in range(1, _MAX_ROUNDS + 1):
        # Large-star: every node links its larger neighbours to the smallest of its
        # neighbourhood (itself included).
        both = edges.unionByName(edges.select(F.col("v").alias("u"), F.col("u").alias("v")))
        smallest = F.least(F.min("v").over(Window.partitionBy("u")), F.col("u"))
        large = (
            both.withColumn("m", smallest)
            .where("v > u")
            .select(F.col("v").alias("u"), F.col("m").alias("v"))
            .distinct()
        )
        # Small-star: every node links itself and its smaller neighbours to the
        # smallest of them.
        m = F.min("v").over(Window.partitionBy("u"))
        with_m = large.withColumn("m", m)
        small = (
            with_m.select(F.col("v").alias("u"), "m")
            .unionByName(with_m.select("u", "m"))
            .where("u != m")
            .select("u", F.col("m").alias("v"))
            .distinct()
        )
        edges.unpersist()
        edges = _checkpoint(small, reliable)
        if _is_star_forest(edges):
            log.info("connected components: %d rounds, %.1f s", round_number, time.perf_counter() - started)
            roots = edges.select(F.col("v").alias("u"), F.col("v").alias("v")).distinct()
            return edges.unionByName(roots), round_number
        log.info("connected components: round %d, %.1f s", round_number, time.perf_counter() - started)
    raise RuntimeError(f"connected components did not converge in {_MAX_ROUNDS} rounds (please report this bug)")


def find_duplicates(
    df: DataFrame,
    column: str = "text",
    *,
    id_col: str = "id",
    threshold: float = 0.8,
    num_perm: int = 128,
    ngram: int = 5,
    mode: str = DEFAULT_MODE,
    seed: int = 1,
    params: tuple[int, int] | None = None,
    max_bucket: int = DEFAULT_MAX_BUCKET,
    return_deduplicated: bool = False,
    return_pairs: bool = False,
) -> DataFrame | tuple[DataFrame, ...]:
    """Cluster near-duplicate documents of a DataFrame.

    Gives the clusters of :func:`dedup.duplicates.find_duplicates` with the same parameters
    (same signatures, LSH banding, bucket rule and verification), computed with
    DataFrame operations only: MinHash signatures per Arrow batch in Python workers,
    candidate pairs by grouping on LSH band keys, pairs kept when their estimated
    Jaccard similarity is ``>= threshold``, clusters as connected components of kept
    pairs. Documents without a single word are never put in a cluster.

    The one place where the in-process function looks at input order, the star that
    links an LSH bucket of more than ``max_bucket`` documents, is centred here on the
    bucket's smallest id; results are equal when ids increase in input order (as the
    default ids 0, 1, 2, ... do) or when no bucket is that large.

    The function runs Spark jobs (the component search is iterative) and returns
    DataFrames backed by checkpointed data, so reading them is cheap. With
    ``spark.sparkContext.setCheckpointDir(...)`` set, reliable checkpoints are used
    (needed on clusters that remove executors); otherwise local checkpoints.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        The documents.
    column : str, default "text"
        Name of the string column holding the texts. Null texts are an error.
    id_col : str, default "id"
        Name of the column of unique, non-null document ids (string or integer).
    threshold : float in (0, 1), default 0.8
        Minimum estimated Jaccard similarity of word n-gram shingles of a kept pair.
    num_perm, ngram, mode, seed
        Signature parameters, as for :class:`dedup.MinHasher`.
    params : (bands, rows), optional
        LSH banding; default: :func:`dedup.lsh.optimal_params` with the recall-weighted
        ``dedup.duplicates.RECALL_WEIGHTS``, as in-process.
    max_bucket : int, default 100
        LSH buckets of up to this many documents yield all their pairs as candidates;
        larger ones only the pairs of each member with the bucket's smallest id.
    return_deduplicated : bool, default False
        Also return ``df`` without the duplicates: from each cluster only the document
        with the smallest id is kept; documents in no cluster are all kept.
    return_pairs : bool, default False
        Also return the verified pairs, as ``Duplicates.pairs`` does in-process.

    Returns
    -------
    clusters : pyspark.sql.DataFrame
        Columns ``(id_col, "cluster_id")``: one row per document that has at least one
        near-duplicate; ``cluster_id`` is the smallest id of its cluster. Documents
        absent from it have no near-duplicate.
    deduplicated : pyspark.sql.DataFrame
        Only with ``return_deduplicated=True``: ``df`` (all its columns) minus every
        cluster member except the one with the smallest id.
    pairs : pyspark.sql.DataFrame
        Only with ``return_pairs=True`` (last of the returned tuple): columns
        ``("id_a", "id_b", "similarity")``, one row per verified pair with
        ``id_a < id_b`` and the estimated Jaccard similarity, the pairs that link the
        clusters (checkpointed, so reading it runs no job over the texts). As in-process,
        an LSH bucket of more than ``max_bucket`` documents contributes only its star pairs.

    Raises
    ------
    ValueError
        A missing column, null or repeated ids, null texts, a parameter out of range.
    TypeError
        ``column`` not a string column, ``id_col`` not a string or integer column.

    Examples
    --------
    >>> from dedup.spark import find_duplicates
    >>> df = spark.createDataFrame(
    ...     [(1, "the council approved the new budget for schools and roads on monday"),
    ...      (2, "the council approved the new budget for schools and roads on monday evening"),
    ...      (3, "heavy rain flooded several streets in the old town centre overnight")],
    ...     "id long, text string")
    >>> [tuple(row) for row in find_duplicates(df, threshold=0.7).collect()]  # doctest: +SKIP
    [(1, 1), (2, 1)]
    """
    df = _check_dataframe(df)
    _check_column(df, column, "column", (T.StringType,), "string")
    _check_column(df, id_col, "id_col", _ID_TYPES, "string or integer")
    if column == id_col:
        raise ValueError(f"column and id_col must differ, both are {column!r}")
    if id_col == "cluster_id":
        raise ValueError("id_col must not be named 'cluster_id', the name of the result's cluster column; "
                         "rename it first (df.withColumnRenamed('cluster_id', 'doc_id'))")
    threshold = check_fraction("threshold", threshold)
    max_bucket = check_int("max_bucket", max_bucket, 2)
    hasher = MinHasher(num_perm, ngram=ngram, mode=mode, seed=seed)
    bands, rows = duplicate_banding(threshold, hasher.num_perm, params)
    for name, value in (("return_deduplicated", return_deduplicated), ("return_pairs", return_pairs)):
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be True or False, got {value!r}")

    spark = df.sparkSession
    context = _context(spark)
    # Reliable checkpoints where a checkpoint directory is set (Spark Connect: the
    # spark.checkpoint.dir setting), local ones otherwise.
    if context is not None:
        reliable = context.getCheckpointDir() is not None
        own_description = context.getLocalProperty("spark.job.description")
    else:
        reliable = spark.conf.get("spark.checkpoint.dir", None) is not None
        own_description = None
    num_perm = hasher.num_perm

    started = time.perf_counter()
    # Partitioned by id once, so the id check and both signature joins need no other
    # shuffle of the signatures.
    signed = sign_documents(df, column, id_col, hasher, bands, rows).repartition("id").persist(StorageLevel.MEMORY_AND_DISK)
    try:
        _check_signed(signed, id_col, column, spark)
        log.info("signatures: %.1f s", time.perf_counter() - started)
        # The first job computes the candidates and verifies them; the verified pairs are
        # checkpointed once, for the components and for return_pairs.
        _describe(spark, "candidate pairs and verification")
        verified = _checkpoint(_verified_pairs(signed, threshold, num_perm, max_bucket, spark), reliable)
        # 4. Clusters: connected components of the kept pairs.
        members, rounds = connected_components(verified.select("u", "v"), reliable)
        log.info("done in %.1f s", time.perf_counter() - started)
    finally:
        signed.unpersist()
        if context is not None:
            context.setJobDescription(own_description)  # the caller's, if any
    clusters = members.select(F.col("u").alias(id_col), F.col("v").alias("cluster_id"))
    results = [clusters]
    if return_deduplicated:
        dropped = members.where("u != v").select(F.col("u").alias("_dedup_drop_id"))
        results.append(df.join(dropped, _col(id_col) == F.col("_dedup_drop_id"), "left_anti"))
    if return_pairs:
        results.append(verified.select(F.col("u").alias("id_a"), F.col("v").alias("id_b"), "similarity"))
    return results[0] if len(results) == 1 else tuple(results)


def sign_documents(df: DataFrame, column: str, id_col: str, hasher: MinHasher, bands: int, rows: int) -> DataFrame:
    """Stage 1 of :func:`find_duplicates` (``dedup.duplicates.sign_documents`` on Arrow
    batches): ``(id, sig, empty, keys)`` per document, computed lazily: signatures as
    ``num_perm * 4``-byte little-endian binaries, ``empty`` for texts without a word,
    ``keys`` the LSH band keys as signed 64-bit integers."""
    signed_schema = T.StructType(
        [
            T.StructField("id", df.schema[id_col].dataType),
            T.StructField("sig", T.BinaryType()),
            T.StructField("empty", T.BooleanType()),
            T.StructField("keys", T.ArrayType(T.LongType(), containsNull=False)),
        ]
    )

    def sign(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            ids, texts = batch.column(0), batch.column(1)
            has_nulls = texts.null_count > 0
            if has_nulls:
                # Null texts get a null signature: the driver counts them and raises.
                present = texts.is_valid()
                texts = pc.fill_null(texts, "")
            sigs = hasher.sign(texts.to_pylist())
            keys = band_keys(sigs, bands, rows).view(np.int64)
            key_offsets = np.arange(0, (len(keys) + 1) * bands, bands, dtype=np.int32)
            sig_column = _binary_column(sigs.astype("<u4", copy=False))
            if has_nulls:
                sig_column = pc.if_else(present, sig_column, pa.scalar(None, pa.binary()))
            yield pa.RecordBatch.from_arrays(
                [ids, sig_column, pa.array(empty_documents(sigs)),
                 pa.ListArray.from_arrays(pa.array(key_offsets), keys.ravel())],
                names=["id", "sig", "empty", "keys"],
            )

    source = df.select(_col(id_col).alias("id"), _col(column).alias("text"))
    return source.mapInArrow(sign, signed_schema)


def _check_signed(signed: DataFrame, id_col: str, column: str, spark) -> None:
    """Null ids, repeated ids and null texts, checked on the cached signatures: this
    also fills the cache, and needs no second pass over the texts."""
    _describe(spark, "signatures and input checks")
    counts = signed.agg(
        F.count(F.lit(1)).alias("docs"),
        F.count(F.when(F.col("id").isNull(), 1)).alias("null_ids"),
        F.count(F.when(F.col("sig").isNull(), 1)).alias("null_texts"),
        F.count(F.when(F.col("empty"), 1)).alias("empty"),
    ).first()
    if counts["null_ids"]:
        raise ValueError(f"id_col={id_col!r} has {counts['null_ids']} null values; every document needs an id")
    if counts["null_texts"]:
        raise ValueError(
            f"column={column!r} has {counts['null_texts']} null texts; drop or fill them first "
            f"(for example df.na.fill('', [{column!r}]))"
        )
    repeated = signed.groupBy("id").count().where("count > 1").limit(3).collect()
    if repeated:
        examples = ", ".join(repr(row["id"]) for row in repeated)
        raise ValueError(f"id_col={id_col!r} must hold unique ids; repeated ids include {examples}")
    log.info("signed %d documents (%d without a word, left out of clusters)", counts["docs"], counts["empty"])


def pairs_of_sorted_runs(batches: Iterator[pa.RecordBatch], max_bucket: int) -> Iterator[pa.RecordBatch]:
    """Candidate pairs ``(a, b)`` from ``(id, band, key)`` rows sorted by (band, key, id).

    A bucket is a run of equal ``(band, key)``; a run may continue from one Arrow batch
    into the next, so the last run of each batch is held back until it ends (a run that
    fills whole batches is buffered as a list, not re-concatenated per batch).
    """
    pending: list[pa.RecordBatch] = []

    def pairs_of(batch: pa.RecordBatch, final: bool) -> tuple[pa.RecordBatch, pa.RecordBatch | None]:
        band = batch.column(1).to_numpy(zero_copy_only=False)
        key = batch.column(2).to_numpy(zero_copy_only=False)
        starts = np.r_[0, np.flatnonzero((band[1:] != band[:-1]) | (key[1:] != key[:-1])) + 1]
        end = len(band) if final else int(starts[-1])  # the last run may go on
        if not final:
            starts = starts[:-1]
        lengths = np.diff(np.r_[starts, end])
        shared = lengths > 1
        positions = bucket_pairs(np.arange(end), starts[shared], lengths[shared], max_bucket)
        ids = batch.column(0)
        out = pa.RecordBatch.from_arrays(
            [ids.take(pa.array(positions[:, 0])), ids.take(pa.array(positions[:, 1]))], names=["a", "b"]
        )
        return out, (None if final else batch.slice(end))

    def combined(parts: list[pa.RecordBatch]) -> pa.RecordBatch:
        return pa.Table.from_batches(parts).combine_chunks().to_batches()[0] if len(parts) > 1 else parts[0]

    for batch in batches:
        if batch.num_rows == 0:
            continue
        if pending:
            # Does this batch only continue the held-back run?
            tail = pending[-1]
            same_key = pc.and_(
                pc.equal(batch.column(1), tail.column(1)[tail.num_rows - 1]),
                pc.equal(batch.column(2), tail.column(2)[tail.num_rows - 1]),
            )
            if pc.all(same_key).as_py():
                pending.append(batch)
                continue
        out, rest = pairs_of(combined(pending + [batch]), final=False)
        pending = [rest]
        if out.num_rows:
            yield out
    if pending:
        out, _ = pairs_of(combined(pending), final=True)
        if out.num_rows:
            yield out


def _verified_pairs(signed: DataFrame, threshold: float, num_perm: int, max_bucket: int, spark) -> DataFrame:
    """Candidate pairs from LSH buckets, kept when their estimated Jaccard similarity
    is ``>= threshold``: an edge DataFrame ``(u, v, similarity)``, ``u < v``."""
    # 2. Candidates, bucket by bucket, with the in-process rule (dedup.lsh.bucket_pairs):
    # all pairs of a bucket of up to max_bucket documents, a star around the smallest id
    # otherwise. The JVM shuffles the band rows and sorts them by (band, key, id); Python
    # workers find the buckets as runs of the sorted rows.
    band_rows = (
        signed.where(~F.col("empty"))
        .select("id", F.posexplode("keys").alias("band", "key"))
        .repartition("band", "key")
        .sortWithinPartitions("band", "key", "id")
    )
    id_type = signed.schema["id"].dataType
    pair_schema = T.StructType([T.StructField("a", id_type), T.StructField("b", id_type)])
    pairs = band_rows.mapInArrow(functools.partial(pairs_of_sorted_runs, max_bucket=max_bucket), pair_schema).distinct()

    # 3. Verification: both signatures joined on, compared in NumPy.
    sigs = signed.select("id", "sig")
    candidates = (
        pairs.join(sigs.select(F.col("id").alias("a"), F.col("sig").alias("sig_a")), "a")
        .join(sigs.select(F.col("id").alias("b"), F.col("sig").alias("sig_b")), "b")
        .select("a", "b", "sig_a", "sig_b")
    )
    edge_schema = T.StructType(
        [T.StructField("u", id_type), T.StructField("v", id_type), T.StructField("similarity", T.DoubleType())]
    )

    def verify(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            similarity = np.atleast_1d(
                jaccard(_signatures_of(batch.column(2), num_perm), _signatures_of(batch.column(3), num_perm))
            )
            keep = similarity >= threshold  # the rule of dedup.duplicates.verify_pairs
            kept = batch.filter(pa.array(keep, type=pa.bool_()))
            yield pa.RecordBatch.from_arrays(
                [kept.column(0), kept.column(1), pa.array(similarity[keep], pa.float64())],
                names=["u", "v", "similarity"],
            )

    return candidates.mapInArrow(verify, edge_schema)


# ------------------------------------------------------------------ clean_across

# The candidate rule and its defaults are those of the in-process Deduplicator (see
# dedup.deduplicator and docs/spark.md): a fingerprint keeps its earliest max_holders
# holders; an article is aligned against the earlier articles sharing at least min_seeds
# fingerprints with it, the max_sources sharing most (then the earliest), oldest first.
_ALIGN_SLICE = 256  # articles (each with its sources) made Python objects at once

_SPAN_TYPE = T.StructType(
    [
        T.StructField("start", T.IntegerType()),
        T.StructField("end", T.IntegerType()),
        T.StructField("source_rank", T.IntegerType()),
        T.StructField("source_start", T.IntegerType()),
        T.StructField("source_end", T.IntegerType()),
        T.StructField("similarity", T.DoubleType()),
    ]
)


def article_keys(texts: list[str], params: RepeatParams, window: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(shingles, fingerprints)`` of each text, distinct and as int64: the keys an
    article looks up and the keys it is remembered under, exactly as
    ``Deduplicator(scope="across")`` computes them (stage 1 of :mod:`dedup.across`:
    :func:`dedup.across.prepare_batch`)."""
    _, keys = prepare_batch(texts, params, window)
    return [
        (
            keys.keys[keys.key_offsets[i] : keys.key_offsets[i + 1]].view(np.int64),
            keys.fingerprints_of(i).view(np.int64),
        )
        for i in range(len(texts))
    ]


def align_against_sources(text: str, sources: list[str], params: RepeatParams) -> list[tuple]:
    """Passages of ``text`` that repeat one of ``sources`` (earlier articles, oldest
    first): ``(start, end, source_index, source_start, source_end, similarity)``, by
    position. The in-process engine: :func:`dedup.find_repeats` with ``sources`` and
    ``within=False``, as ``Deduplicator(scope="across")`` runs it."""
    return [
        (r.start, r.end, r.source, r.source_start, r.source_end, float(r.similarity))
        for r in find_repeats(text, sources=sources, within=False, **asdict(params))
        if r.source is not None
    ]


def clean_across(
    df: DataFrame,
    text_col: str,
    *,
    order_col: str | None = None,
    id_col: str | None = None,
    output_col: str | None = None,
    report: bool = False,
    window: int = DEFAULT_WINDOW,
    max_sources: int = DEFAULT_MAX_SOURCES,
    max_holders: int = DEFAULT_MAX_HOLDERS,
    min_seeds: int = DEFAULT_MIN_SEEDS,
    **params: Any,
) -> DataFrame | tuple[DataFrame, DataFrame]:
    """Remove passages that an earlier article carries, across a whole DataFrame.

    The distributed twin of ``Deduplicator(scope="across")`` fed the articles in order:
    "earlier" is by ``order_col``, then ``id_col``. The earliest copy of a passage stays;
    every later copy (near-duplicate, word-precise) is removed. Stages, each a DataFrame
    operation (nothing that grows with the corpus is collected on the driver):

    1. keys: each article's distinct shingles and its fingerprints (winnowed shingles),
       computed in Python workers on Arrow batches;
    2. candidates: each fingerprint keeps its earliest ``max_holders`` holders; an
       article's candidates are the earlier holders of its shingles sharing at least
       ``min_seeds`` with it, the ``max_sources`` sharing most (ties: the earlier);
    3. the texts of each article and its candidates brought together;
    4. alignment in Python workers with the in-process engine (:func:`dedup.find_repeats`);
    5. spans per article, merged, and
    6. removed (:func:`dedup.remove_spans`).

    A key held by millions of articles (boilerplate) costs ``max_holders`` pairs per
    holder, never a quadratic number, and Spark's window group limit keeps only the
    earliest holders of each key per map task before the shuffle.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
    text_col : str
        String column of article texts; null texts stay null and match nothing.
    order_col : str, optional
        Column that orders articles (a date, a number); default: ``id_col``.
    id_col : str, optional
        Column of unique, non-null article ids (string or integer). An id that several
        articles carry fails the job with a ``ValueError`` naming it when one of those
        articles has a candidate or is one (where their texts would mix); otherwise the
        rows pass unchanged. Default: ids
        from ``monotonically_increasing_id()`` (input order, for a file source read the
        same way twice); give one for reports you can join back.
    output_col : str, optional
        Column for the cleaned text; default: ``text_col`` replaced in place.
    report : bool, default False
        Also return the report DataFrame: one row per removed passage.
    window, max_sources, max_holders, min_seeds : int
        The candidate rule, as for :class:`dedup.Deduplicator` (same defaults).
    **params
        Alignment parameters of :func:`dedup.find_repeats` (``threshold``,
        ``min_length``, ``ngram``, ``max_gap``, ``mode``), checked on the driver.

    Returns
    -------
    cleaned : pyspark.sql.DataFrame
        ``df`` with the cleaned texts (lazy).
    report : pyspark.sql.DataFrame
        Only with ``report=True``: ``(id, start, end, source_id, source_start,
        source_end, similarity)``: ``text[start:end]`` of article ``id`` repeats
        ``[source_start:source_end]`` of the earlier article ``source_id`` (spans in the
        original texts).

    Examples
    --------
    >>> from dedup.spark import clean_across
    >>> wire = ("The central bank kept its main interest rate unchanged on Thursday, citing slowing "
    ...         "inflation and a weaker outlook for exports in the coming months.")
    >>> df = spark.createDataFrame([(1, "Markets rose.\\n\\n" + wire), (2, wire + "\\n\\nAnalysts agreed.")],
    ...                            "id long, text string")
    >>> [row.text for row in clean_across(df, "text", id_col="id").orderBy("id").collect()]
    ['Markets rose.\\n\\nThe central bank kept its main interest rate unchanged on Thursday, citing slowing inflation and a weaker outlook for exports in the coming months.', 'Analysts agreed.']
    """
    df = _check_dataframe(df)
    _check_column(df, text_col, "text_col", (T.StringType,), "string")
    if id_col is not None:
        _check_column(df, id_col, "id_col", _ID_TYPES, "string or integer")
    if order_col is not None:
        _check_column(df, order_col, "order_col", (T.AtomicType,), "orderable (number, string, date or timestamp)")
    if output_col is None:
        output_col = text_col
    elif not isinstance(output_col, str) or not output_col:
        raise TypeError(f"output_col must be a non-empty column name (str) or None, got {output_col!r}")
    if not isinstance(report, bool):
        raise TypeError(f"report must be True or False, got {report!r}")
    rule = {
        "window": check_int("window", window, 1),
        "max_sources": check_int("max_sources", max_sources, 1),
        "max_holders": check_int("max_holders", max_holders, 1),
        "min_seeds": check_int("min_seeds", min_seeds, 1),
    }
    repeat_params = RepeatParams.from_keywords("clean_across", params)  # fails here, on the driver

    if id_col is None:
        id_col = "_dedup_article_id"
        df = df.withColumn(id_col, F.monotonically_increasing_id())
        drop_id = True
    else:
        drop_id = False
    articles = df.select(
        _col(id_col).alias("id"),
        (_col(order_col) if order_col is not None else _col(id_col)).alias("ord"),
        _col(text_col).alias("text"),
    )
    spans = across_spans(articles, repeat_params, **rule)
    cleaned_rows = spans.select(F.col("id").alias("_dedup_clean_id"), F.col("cleaned").alias("_dedup_cleaned"))
    cleaned = (
        df.join(cleaned_rows, _col(id_col) == F.col("_dedup_clean_id"), "left")
        .withColumn(output_col, F.coalesce(F.col("_dedup_cleaned"), _col(text_col)))
        .drop("_dedup_clean_id", "_dedup_cleaned")
    )
    if drop_id:
        cleaned = cleaned.drop(id_col)
    if not report:
        return cleaned
    removed = spans.select("id", "source_ids", F.explode("spans").alias("span")).select(
        "id",
        F.col("span.start").alias("start"),
        F.col("span.end").alias("end"),
        F.element_at("source_ids", F.col("span.source_rank") + 1).alias("source_id"),
        F.col("span.source_start").alias("source_start"),
        F.col("span.source_end").alias("source_end"),
        F.col("span.similarity").alias("similarity"),
    )
    return cleaned, removed


def article_key_rows(articles: DataFrame, params: RepeatParams, window: int) -> DataFrame:
    """Stage 1: ``(key, ord, id, fingerprint)``, one row per distinct shingle of an
    article (what it looks up); ``fingerprint`` marks the ones it is held under."""
    id_type, ord_type = articles.schema["id"].dataType, articles.schema["ord"].dataType
    schema = T.StructType(
        [
            T.StructField("id", id_type),
            T.StructField("ord", ord_type),
            T.StructField("keys", T.ArrayType(T.LongType(), containsNull=False)),
            T.StructField("fingerprints", T.ArrayType(T.BooleanType(), containsNull=False)),
        ]
    )

    def lists(parts: list[np.ndarray], arrow_type) -> pa.Array:
        offsets = np.zeros(len(parts) + 1, dtype=np.int32)
        np.cumsum([len(p) for p in parts], out=offsets[1:])
        flat = np.concatenate(parts) if parts else np.zeros(0)
        return pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat, arrow_type))

    def sign(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            keys = article_keys(pc.fill_null(batch.column(2), "").to_pylist(), params, window)
            flags = [np.isin(k, f) for k, f in keys]
            yield pa.RecordBatch.from_arrays(
                [batch.column(0), batch.column(1), lists([k for k, _ in keys], pa.int64()), lists(flags, pa.bool_())],
                names=["id", "ord", "keys", "fingerprints"],
            )

    signed = articles.where(F.col("text").isNotNull()).mapInArrow(sign, schema)
    return signed.select(
        "ord", "id", F.explode(F.arrays_zip("keys", "fingerprints")).alias("k")
    ).select(F.col("k.keys").alias("key"), "ord", "id", F.col("k.fingerprints").alias("fingerprint"))


def candidate_sources(keys: DataFrame, *, max_holders: int, max_sources: int, min_seeds: int) -> DataFrame:
    """Stage 2: ``(id, source_id, source_ord, shared, rank)``: the earlier articles each
    article is aligned against (``rank`` 0 shares most)."""
    # Fingerprint rows first, by age: the first max_holders rows of a key are its holders.
    by_age = Window.partitionBy("key").orderBy(F.desc("fingerprint"), "ord", "id")
    holders = (
        keys.withColumn("holder", F.row_number().over(by_age))
        .where((F.col("holder") <= max_holders) & F.col("fingerprint"))  # Spark limits before the shuffle
        .select("key", F.col("id").alias("source_id"), F.col("ord").alias("source_ord"))
    )
    queries = keys.select("key", "ord", "id")
    earlier = (F.col("source_ord") < F.col("ord")) | (
        (F.col("source_ord") == F.col("ord")) & (F.col("source_id") < F.col("id"))
    )
    shared = (
        queries.join(holders, "key")
        .where(earlier)
        .groupBy("id", "source_id", "source_ord")
        .agg(F.count(F.lit(1)).alias("shared"))
        .where(F.col("shared") >= min_seeds)
    )
    best = Window.partitionBy("id").orderBy(F.desc("shared"), "source_ord", "source_id")
    return (
        shared.withColumn("rank", F.row_number().over(best))
        .where(F.col("rank") <= max_sources)
        .withColumn("rank", F.col("rank") - 1)
    )


def across_spans(
    articles: DataFrame, params: RepeatParams, *, window: int, max_sources: int, max_holders: int, min_seeds: int
) -> DataFrame:
    """Stages 1-6 over ``articles`` ``(id, ord, text)``: one row per article with a
    removal, ``(id, cleaned, spans, source_ids)``."""
    keys = article_key_rows(articles, params, window)
    pairs = candidate_sources(keys, max_holders=max_holders, max_sources=max_sources, min_seeds=min_seeds)
    return aligned_articles(texts_together(articles, pairs), params)


def texts_together(articles: DataFrame, pairs: DataFrame) -> DataFrame:
    """Stage 3: ``(id, text, sources)``, every article that has candidates with the list
    of them, ``sources`` an array of ``(source_ord, source_id, source_text)``."""
    # Grouped by id (the shuffle the joins make anyway): "copies" > 1 is an id given to
    # several articles, refused where it would mix their texts (see aligned_articles).
    texts = articles.groupBy("id").agg(F.first("text").alias("text"), F.count(F.lit(1)).alias("copies"))
    source_texts = texts.select(
        F.col("id").alias("source_id"), F.col("text").alias("source_text"), F.col("copies").alias("source_copies")
    )
    sources = (
        pairs.join(source_texts, "source_id")
        .groupBy("id")
        .agg(F.collect_list(F.struct("source_ord", "source_id", "source_text", "source_copies")).alias("sources"))
    )
    return sources.join(texts, "id").select("id", "text", "copies", "sources")


def aligned_articles(together: DataFrame, params: RepeatParams) -> DataFrame:
    """Stages 4-6: each article aligned against its sources (oldest first, as
    in-process) in a Python worker, its spans merged and removed: ``(id, cleaned, spans,
    source_ids)`` for the articles with a removal; ``spans[k].source_rank`` indexes
    ``source_ids``."""
    id_type = together.schema["id"].dataType
    schema = T.StructType(
        [
            T.StructField("id", id_type),
            T.StructField("cleaned", T.StringType()),
            T.StructField("spans", T.ArrayType(_SPAN_TYPE, containsNull=False)),
            T.StructField("source_ids", T.ArrayType(id_type)),
        ]
    )
    arrow_schema = _arrow_schema(schema)

    def align(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        # Rows are turned into Python objects a slice at a time: an Arrow batch may hold
        # thousands of articles with up to max_sources texts each.
        slices = (batch.slice(lo, _ALIGN_SLICE) for batch in batches for lo in range(0, batch.num_rows, _ALIGN_SLICE))
        for batch in slices:
            out = []
            for row in batch.to_pylist():
                _check_unique_id(row)
                candidates = sorted(row["sources"], key=lambda source: (source["source_ord"], source["source_id"]))
                found = align_against_sources(row["text"], [c["source_text"] for c in candidates], params)
                if not found:
                    continue
                spans = [
                    {"start": s, "end": e, "source_rank": k, "source_start": ss, "source_end": se, "similarity": sim}
                    for s, e, k, ss, se, sim in found
                ]
                out.append(
                    {
                        "id": row["id"],
                        # 5./6. remove_spans merges overlapping and adjacent spans, then deletes.
                        "cleaned": remove_spans(row["text"], [(start, end) for start, end, *_ in found]),
                        "spans": spans,
                        "source_ids": [c["source_id"] for c in candidates],
                    }
                )
            yield pa.RecordBatch.from_pylist(out, schema=arrow_schema)

    return together.mapInArrow(align, schema)


def _check_unique_id(row: dict) -> None:
    """Refuse an article, or a source of it, whose id several articles carry."""
    repeated = [row["id"]] if row["copies"] > 1 else []
    repeated += [source["source_id"] for source in row["sources"] if source["source_copies"] > 1]
    if repeated:
        raise ValueError(
            f"clean_across: id {repeated[0]!r} is the id of more than one article; ids must be unique "
            "(give id_col a unique column, or none to number the articles)"
        )


def _arrow_schema(schema: T.StructType) -> pa.Schema:
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(schema)
