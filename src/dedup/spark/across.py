"""Spark's twin of ``Deduplicator(scope="across")`` fed the articles in order:
:func:`clean_across` removes passages that an earlier article carries.

The stages are those of :mod:`dedup.across`, and cite it: stage 1 computes the keys with
:func:`dedup.across.keys_of_texts`; stage 2 is Spark SQL with the rule of
:func:`dedup.across.look_up` and :func:`dedup.across.pick_candidates` (the single Python
source of truth it must match); stage 4 aligns with the in-process engine.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from .._validate import check_int
from ..across import keys_of_texts
from ..deduplicator import DEFAULT_MAX_HOLDERS, DEFAULT_MAX_SOURCES, DEFAULT_MIN_SEEDS, DEFAULT_WINDOW
from ..align import RepeatParams, find_repeats, remove_spans
from .dataframes import ID_TYPES, arrow_schema, check_column, check_dataframe, check_output_col, column_named

__all__ = [
    "align_against_sources",
    "aligned_articles",
    "across_spans",
    "article_key_rows",
    "article_keys",
    "candidate_sources",
    "clean_across",
    "texts_together",
]

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
    df = check_dataframe(df)
    check_column(df, text_col, "text_col", (T.StringType,), "string")
    if id_col is not None:
        check_column(df, id_col, "id_col", ID_TYPES, "string or integer")
    if order_col is not None:
        check_column(df, order_col, "order_col", (T.AtomicType,), "orderable (number, string, date or timestamp)")
    output_col = check_output_col(output_col, text_col)
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
        column_named(id_col).alias("id"),
        (column_named(order_col) if order_col is not None else column_named(id_col)).alias("ord"),
        column_named(text_col).alias("text"),
    )
    spans = across_spans(articles, repeat_params, **rule)
    cleaned_rows = spans.select(F.col("id").alias("_dedup_clean_id"), F.col("cleaned").alias("_dedup_cleaned"))
    cleaned = (
        df.join(cleaned_rows, column_named(id_col) == F.col("_dedup_clean_id"), "left")
        .withColumn(output_col, F.coalesce(F.col("_dedup_cleaned"), column_named(text_col)))
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


def across_spans(
    articles: DataFrame, params: RepeatParams, *, window: int, max_sources: int, max_holders: int, min_seeds: int
) -> DataFrame:
    """Stages 1-6 over ``articles`` ``(id, ord, text)``: one row per article with a
    removal, ``(id, cleaned, spans, source_ids)``."""
    keys = article_key_rows(articles, params, window)
    pairs = candidate_sources(keys, max_holders=max_holders, max_sources=max_sources, min_seeds=min_seeds)
    return aligned_articles(texts_together(articles, pairs), params)


# ------------------------------------------------------------------ 1. keys


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
            flags = [np.isin(k, f, assume_unique=True) for k, f in keys]  # both distinct
            yield pa.RecordBatch.from_arrays(
                [batch.column(0), batch.column(1), lists([k for k, _ in keys], pa.int64()), lists(flags, pa.bool_())],
                names=["id", "ord", "keys", "fingerprints"],
            )

    signed = articles.where(F.col("text").isNotNull()).mapInArrow(sign, schema)
    return signed.select(
        "ord", "id", F.explode(F.arrays_zip("keys", "fingerprints")).alias("k")
    ).select(F.col("k.keys").alias("key"), "ord", "id", F.col("k.fingerprints").alias("fingerprint"))


def article_keys(texts: list[str], params: RepeatParams, window: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(shingles, fingerprints)`` of each text, distinct and as int64: the keys an
    article looks up and the keys it is remembered under, exactly as
    ``Deduplicator(scope="across")`` computes them (stage 1 of :mod:`dedup.across`:
    :func:`dedup.across.keys_of_texts`)."""
    keys = keys_of_texts(texts, params, window)
    looked_up, held = keys.keys_by_article(), keys.fingerprints_by_article()
    return [(looked_up[i].view(np.int64), held[i].view(np.int64)) for i in range(len(texts))]


# ------------------------------------------------------------ 2. candidates


def candidate_sources(keys: DataFrame, *, max_holders: int, max_sources: int, min_seeds: int) -> DataFrame:
    """Stage 2: ``(id, source_id, source_ord, shared, rank)``: the earlier articles each
    article is aligned against (``rank`` 0 shares most).

    The rule of the in-process ``Deduplicator``, written once in Python in
    :func:`dedup.across.look_up` (a fingerprint keeps its earliest ``max_holders``
    holders) and :func:`dedup.across.pick_candidates` (the earlier holders sharing at
    least ``min_seeds`` of an article's keys, the ``max_sources`` sharing most, then the
    earliest); this SQL must give the same candidates (``tests/test_spark_across.py``
    compares the two on generated articles). "Earlier" is by ``(ord, id)``.
    """
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


# ------------------------------------------------------- 3. texts together


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


# ----------------------------------------- 4.-6. alignment, spans, removal


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
    out_schema = arrow_schema(schema)

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
            yield pa.RecordBatch.from_pylist(out, schema=out_schema)

    return together.mapInArrow(align, schema)


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


def _check_unique_id(row: dict) -> None:
    """Refuse an article, or a source of it, whose id several articles carry."""
    repeated = [row["id"]] if row["copies"] > 1 else []
    repeated += [source["source_id"] for source in row["sources"] if source["source_copies"] > 1]
    if repeated:
        raise ValueError(
            f"clean_across: id {repeated[0]!r} is the id of more than one article; ids must be unique "
            "(give id_col a unique column, or none to number the articles)"
        )
