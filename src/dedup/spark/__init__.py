"""The dedup pipeline on Apache Spark DataFrames (optional extra ``dedup-passages[spark]``).

Three entry points, each the distributed twin of an in-process function, each in its
own module:

- :func:`clean_column` (:mod:`dedup.spark.columns`) runs :func:`dedup.align.clean_many`
  (repeats inside one text) over a string column, a whole Arrow batch at a time.
- :func:`find_duplicates` (:mod:`dedup.spark.clusters`) clusters near-duplicate documents
  exactly as the in-process :func:`dedup.duplicates.find_duplicates` does (same
  signatures, same LSH bands, same verification rule), but every stage is a DataFrame
  operation, so nothing about the corpus is collected on the driver.
- :func:`clean_across` (:mod:`dedup.spark.across`) removes passages that an earlier
  article carries, as ``Deduplicator(scope="across")`` does fed the articles in order:
  fingerprints, candidate sources (heavy keys capped), alignment in Python workers,
  removal.

What they share (PySpark imports, column checks, Arrow schemas) is in
:mod:`dedup.spark.dataframes`. Every function also runs on a Spark Connect session (no
``SparkContext`` needed). Progress is logged under the ``dedup.spark`` logger.
"""

from __future__ import annotations

from . import dataframes  # noqa: F401 - first: a clear error where the spark extra is missing
from .across import (
    across_spans,
    align_against_sources,
    aligned_articles,
    article_key_rows,
    article_keys,
    candidate_sources,
    clean_across,
    texts_together,
)
from .clusters import connected_components, find_duplicates, pairs_of_sorted_runs, sign_documents, verified_pairs
from .columns import clean_column

__all__ = [
    # entry points
    "clean_across",
    "clean_column",
    "find_duplicates",
    # find_duplicates' stages, in run order
    "sign_documents",
    "verified_pairs",
    "pairs_of_sorted_runs",
    "connected_components",
    # clean_across's stages, in run order
    "across_spans",
    "article_key_rows",
    "article_keys",
    "candidate_sources",
    "texts_together",
    "aligned_articles",
    "align_against_sources",
]
