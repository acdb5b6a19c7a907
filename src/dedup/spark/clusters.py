"""Spark's twin of :func:`dedup.duplicates.find_duplicates`: near-duplicate documents
clustered with DataFrame operations only, nothing about the corpus collected on the driver.

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
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark import StorageLevel
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from .._validate import check_fraction, check_int
from ..duplicates import duplicate_banding, empty_documents
from ..lsh import DEFAULT_MAX_BUCKET, band_keys, bucket_pairs
from ..minhash import MinHasher, jaccard
from ..text import DEFAULT_MODE
from .dataframes import ID_TYPES, check_column, check_dataframe, column_named, describe_jobs, spark_context

__all__ = ["connected_components", "find_duplicates", "pairs_of_sorted_runs", "sign_documents", "verified_pairs"]

log = logging.getLogger(__name__)

# Rounds of large-star + small-star before giving up; O(log n) are needed, so 64 is
# never reached by a real graph and only guards against a bug looping forever.
_MAX_ROUNDS = 64


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
    df = check_dataframe(df)
    check_column(df, column, "column", (T.StringType,), "string")
    check_column(df, id_col, "id_col", ID_TYPES, "string or integer")
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
    context = spark_context(spark)
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
        describe_jobs(spark, "candidate pairs and verification")
        verified = _checkpoint(verified_pairs(signed, threshold, num_perm, max_bucket, spark), reliable)
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
        results.append(df.join(dropped, column_named(id_col) == F.col("_dedup_drop_id"), "left_anti"))
    if return_pairs:
        results.append(verified.select(F.col("u").alias("id_a"), F.col("v").alias("id_b"), "similarity"))
    return results[0] if len(results) == 1 else tuple(results)


# ------------------------------------------------------------ 1. signatures


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

    source = df.select(column_named(id_col).alias("id"), column_named(column).alias("text"))
    return source.mapInArrow(sign, signed_schema)


def _binary_column(rows: np.ndarray) -> pa.Array:
    """A 2-D array as an Arrow binary array, one row per value, without copying."""
    rows = np.ascontiguousarray(rows)
    width = rows.shape[1] * rows.itemsize
    offsets = np.arange(0, (len(rows) + 1) * width, width, dtype=np.int32)
    return pa.Array.from_buffers(pa.binary(), len(rows), [None, pa.py_buffer(offsets), pa.py_buffer(rows)])


def _check_signed(signed: DataFrame, id_col: str, column: str, spark) -> None:
    """Null ids, repeated ids and null texts, checked on the cached signatures: this
    also fills the cache, and needs no second pass over the texts."""
    describe_jobs(spark, "signatures and input checks")
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


# ------------------------------------------- 2.-3. candidate pairs, verified


def verified_pairs(signed: DataFrame, threshold: float, num_perm: int, max_bucket: int, spark) -> DataFrame:
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


# ------------------------------------------- 4. clusters: connected components


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
    describe_jobs(edges.sparkSession, "connected components")
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


def _is_star_forest(edges: DataFrame) -> bool:
    """Whether edges ``(u, v)``, ``u > v``, form stars: every node has at most one
    smaller neighbour, and no node with a smaller neighbour has a larger one. Then every
    component is one centre (its smallest node) with its leaves."""
    nodes = edges.select(F.col("u").alias("node"), F.lit(1).alias("up"), F.lit(0).alias("down")).unionByName(
        edges.select(F.col("v").alias("node"), F.lit(0).alias("up"), F.lit(1).alias("down"))
    )
    degrees = nodes.groupBy("node").agg(F.sum("up").alias("up"), F.max("down").alias("down"))
    return degrees.where("up > 1 OR (up = 1 AND down = 1)").limit(1).count() == 0


def _checkpoint(df: DataFrame, reliable: bool) -> DataFrame:
    """Materialise ``df`` and cut its lineage, so iterative plans do not grow."""
    return df.checkpoint(eager=True) if reliable else df.localCheckpoint(eager=True)
