"""dedup.spark on a real local Spark session, compared with the in-process pipeline."""

from __future__ import annotations

import importlib.util
import inspect
import os
import random
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

# Skipped where the spark extra or Java is missing; DEDUP_REQUIRE_SPARK=1 (for CI) turns
# the skip into a failure, so a broken install cannot pass as a green run.
_REQUIRED = os.environ.get("DEDUP_REQUIRE_SPARK", "") not in ("", "0")


def _unavailable(reason: str) -> None:
    if _REQUIRED:
        pytest.fail(f"DEDUP_REQUIRE_SPARK is set but {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


if importlib.util.find_spec("pyspark") is None:
    _unavailable("PySpark is not installed (pip install -e '.[spark]')")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    _unavailable("no Java runtime for Spark (java on PATH or JAVA_HOME)")


import dedup.duplicates  # noqa: E402
from dedup.align import clean_many  # noqa: E402
from dedup.spark import clean_column, connected_components, find_duplicates  # noqa: E402

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark(spark_session):
    # The one session of the test run (see conftest.py), shared with the docstring examples.
    return spark_session


# ----------------------------------------------------------------- test corpora

_ENGLISH = (
    "the council approved the new budget for the harbour district after a long debate "
    "residents asked for more buses and safer crossings near the primary school while "
    "shop owners worried about parking fees rising again next spring the mayor promised "
    "a review of the cycling lanes and a public meeting in the old library hall"
).split()
_DUTCH = (
    "de gemeenteraad stemde in met de nieuwe begroting voor het havenkwartier na een lang "
    "debat vroegen bewoners om meer bussen en veiliger oversteekplaatsen bij de basisschool "
    "terwijl winkeliers vreesden dat de parkeertarieven volgend voorjaar weer stijgen de "
    "burgemeester beloofde een evaluatie van de fietspaden en een openbare bijeenkomst"
).split()


def _generated_corpus(seed: int, families: int = 40) -> list[str]:
    """Families of documents: an original plus edited copies (a few words replaced,
    a sentence appended, or an exact copy), in English and Dutch; some lone documents."""
    rng = random.Random(seed)
    docs = []
    for family in range(families):
        vocabulary = _ENGLISH if family % 2 else _DUTCH
        original = [rng.choice(vocabulary) for _ in range(rng.randint(30, 80))]
        docs.append(" ".join(original))
        for _ in range(rng.choice([0, 0, 1, 2, 3])):
            copy = list(original)
            kind = rng.random()
            if kind < 0.6:
                for _ in range(rng.randint(1, 8)):
                    copy[rng.randrange(len(copy))] = rng.choice(vocabulary)
            elif kind < 0.8:
                copy += [rng.choice(vocabulary) for _ in range(rng.randint(3, 15))]
            docs.append(" ".join(copy))
    rng.shuffle(docs)
    return docs


def _cluster_sets(rows, id_col="id") -> set[frozenset]:
    clusters: dict = {}
    for row in rows:
        clusters.setdefault(row["cluster_id"], set()).add(row[id_col])
    return {frozenset(members) for members in clusters.values()}


def _in_process(docs, ids, **params) -> set[frozenset]:
    result = dedup.duplicates.find_duplicates(docs, ids=ids, **params)
    return {frozenset(cluster.members) for cluster in result.clusters}


# -------------------------------------------------------------- find_duplicates


@pytest.mark.parametrize(
    ("seed", "params"),
    [
        (1, {"threshold": 0.8}),
        (2, {"threshold": 0.5, "num_perm": 64, "params": (16, 4)}),
        (3, {"threshold": 0.7, "num_perm": 64, "max_bucket": 2}),  # big buckets linked as stars
        (4, {"threshold": 0.9, "num_perm": 256, "mode": "char", "ngram": 9}),
    ],
)
def test_clusters_equal_in_process_find_duplicates(spark, seed, params):
    docs = _generated_corpus(seed)
    ids = [f"doc-{i:03d}" for i in range(len(docs))]  # increasing in input order
    df = spark.createDataFrame(list(zip(ids, docs)), "id string, text string").repartition(3)

    clusters, pairs = find_duplicates(df, "text", seed=seed, return_pairs=True, **params)

    expected = dedup.duplicates.find_duplicates(docs, ids=ids, seed=seed, **params)
    assert expected.clusters, "the generated corpus must contain near-duplicates for this test to mean anything"
    assert _cluster_sets(clusters.collect()) == {frozenset(cluster.members) for cluster in expected.clusters}
    # The verified pairs, with their similarities, are the in-process Duplicates.pairs.
    assert sorted(tuple(row) for row in pairs.collect()) == sorted(expected.pairs)


def test_integer_ids_and_custom_column_names(spark):
    docs = _generated_corpus(5)
    ids = [1000 - 3 * i for i in range(len(docs))]
    df = spark.createDataFrame(list(zip(docs, ids)), "body string, doc_no long")

    rows = find_duplicates(df, "body", id_col="doc_no", threshold=0.6, ngram=3).collect()

    assert set(rows[0].asDict()) == {"doc_no", "cluster_id"}
    assert _cluster_sets(rows, "doc_no") == _in_process(docs, ids, threshold=0.6, ngram=3)


def test_cluster_id_is_the_smallest_member_id(spark):
    docs = _generated_corpus(6)
    ids = [f"x{i:03d}" for i in range(len(docs))]
    df = spark.createDataFrame(list(zip(ids, docs)), "id string, text string")

    rows = find_duplicates(df, "text", threshold=0.7).collect()

    members: dict = {}
    for row in rows:
        members.setdefault(row["cluster_id"], []).append(row["id"])
    assert members
    for cluster_id, ids_in_cluster in members.items():
        assert cluster_id == min(ids_in_cluster)
        assert len(ids_in_cluster) >= 2


def test_result_does_not_depend_on_partitioning(spark):
    docs = _generated_corpus(7)
    data = list(zip(range(len(docs)), docs))
    one = spark.createDataFrame(data, "id long, text string").coalesce(1)
    many = spark.createDataFrame(data, "id long, text string").repartition(5)

    first = sorted(tuple(row) for row in find_duplicates(one, threshold=0.7).collect())
    second = sorted(tuple(row) for row in find_duplicates(many, threshold=0.7).collect())

    assert first == second


def test_many_exact_copies_form_one_cluster(spark):
    original = " ".join(_ENGLISH)
    docs = [original] * 120 + [" ".join(_DUTCH)]
    df = spark.createDataFrame(list(enumerate(docs)), "id long, text string").repartition(3)

    rows = find_duplicates(df, threshold=0.9).collect()

    assert _cluster_sets(rows) == {frozenset(range(120))}
    assert _cluster_sets(rows) == _in_process(docs, list(range(len(docs))), threshold=0.9)


def test_documents_without_words_are_never_clustered(spark):
    docs = ["", "   ", "!!! ??? ...", "", " ".join(_ENGLISH), " ".join(_ENGLISH)]
    df = spark.createDataFrame(list(enumerate(docs)), "id long, text string")

    rows = find_duplicates(df, threshold=0.8).collect()

    assert _cluster_sets(rows) == {frozenset({4, 5})}
    assert _cluster_sets(rows) == _in_process(docs, list(range(len(docs))), threshold=0.8)


def test_deduplicated_keeps_smallest_id_of_each_cluster_and_every_unique_document(spark):
    docs = _generated_corpus(8)
    data = [(i, text, f"source-{i % 3}") for i, text in enumerate(docs)]
    df = spark.createDataFrame(data, "id long, text string, source string")

    clusters, kept = find_duplicates(df, threshold=0.7, return_deduplicated=True)

    expected = _in_process(docs, list(range(len(docs))), threshold=0.7)
    in_clusters = set().union(*expected)
    expected_ids = {i for i in range(len(docs)) if i not in in_clusters} | {min(c) for c in expected}
    kept_rows = kept.collect()
    assert kept.columns == ["id", "text", "source"]
    assert {row["id"] for row in kept_rows} == expected_ids
    assert len(kept_rows) == len(expected_ids)
    assert all(row["text"] == docs[row["id"]] and row["source"] == data[row["id"]][2] for row in kept_rows)


def test_corpus_without_duplicates_gives_no_clusters(spark):
    docs = [" ".join(random.Random(i).choices(_ENGLISH + _DUTCH, k=40)) for i in range(30)]
    df = spark.createDataFrame(list(enumerate(docs)), "id long, text string")

    clusters, kept = find_duplicates(df, threshold=0.9, return_deduplicated=True)

    assert clusters.count() == 0
    assert kept.count() == len(docs)
    assert find_duplicates(df.limit(0)).count() == 0  # an empty corpus is fine too


def test_defaults_match_in_process_find_duplicates():
    spark_params = inspect.signature(find_duplicates).parameters
    local_params = inspect.signature(dedup.duplicates.find_duplicates).parameters
    shared = ["threshold", "num_perm", "ngram", "seed", "mode", "params", "max_bucket"]
    for name in shared:
        assert spark_params[name].default == local_params[name].default, name


# --------------------------------------------------------- connected components


def _union_find_components(edges, nodes) -> set[frozenset]:
    parent = {node: node for node in nodes}

    def root(node):
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for u, v in edges:
        parent[root(u)] = root(v)
    groups: dict = {}
    for node in nodes:
        groups.setdefault(root(node), set()).add(node)
    return {frozenset(group) for group in groups.values() if len(group) > 1}


@pytest.mark.parametrize("reliable", [False, True])
def test_components_of_long_chains_and_random_graphs_equal_union_find(spark, tmp_path_factory, reliable):
    if reliable:
        spark.sparkContext.setCheckpointDir(str(tmp_path_factory.mktemp("checkpoints")))
    rng = random.Random(11)
    chain = [(i, i + 1) for i in range(0, 120)]  # one long path, in order
    shuffled = list(range(1000, 1200))
    rng.shuffle(shuffled)
    zigzag = list(zip(shuffled, shuffled[1:]))  # a path through labels in random order
    sparse = [(rng.randrange(2000, 2400), rng.randrange(2000, 2400)) for _ in range(300)]
    small_graphs = []  # many small components of every shape: trees, cycles, dense blobs
    for k in range(60):
        labels = rng.sample(range(10_000 + 100 * k, 10_000 + 100 * k + 100), rng.randint(2, 25))
        small_graphs += [(rng.choice(labels), rng.choice(labels)) for _ in range(rng.randint(1, 3 * len(labels)))]
    edges = chain + zigzag + sparse + small_graphs
    df = spark.createDataFrame(edges, "u long, v long")

    members, rounds = connected_components(df, reliable)
    rows = members.collect()

    nodes = {node for edge in edges for node in edge if edge[0] != edge[1]}
    found: dict = {}
    for row in rows:
        found.setdefault(row["v"], set()).add(row["u"])
    assert {frozenset(group) for group in found.values()} == _union_find_components(
        [e for e in edges if e[0] != e[1]], nodes
    )
    assert all(root == min(group) for root, group in found.items())
    assert len(rows) == len(nodes)  # every node exactly once
    assert rounds < 20


# ----------------------------------------------------------------- input errors


@pytest.fixture(scope="module")
def small_df(spark):
    return spark.createDataFrame([(1, "een twee drie vier vijf", 1.5), (2, "one two three four five", 2.5)],
                                 "id long, text string, score double")


def test_missing_text_column_is_named_in_the_error(small_df):
    with pytest.raises(ValueError, match=r"column='body' is not a column of df.*'id', 'text', 'score'"):
        find_duplicates(small_df, "body")
    with pytest.raises(ValueError, match=r"column='body'"):
        clean_column(small_df, "body")


def test_non_string_text_column_is_a_type_error(small_df):
    with pytest.raises(TypeError, match=r"column='score' must be a string column, got double"):
        find_duplicates(small_df, "score")
    with pytest.raises(TypeError, match=r"column='id' must be a string column, got bigint"):
        clean_column(small_df, "id")


def test_bad_id_column_is_rejected(small_df):
    with pytest.raises(ValueError, match=r"id_col='doc' is not a column"):
        find_duplicates(small_df, "text", id_col="doc")
    with pytest.raises(TypeError, match=r"id_col='score' must be a string or integer column, got double"):
        find_duplicates(small_df, "text", id_col="score")


def test_repeated_ids_are_rejected(spark):
    df = spark.createDataFrame([(1, "a b c d e f"), (1, "g h i j k l"), (2, "m n o p q r")], "id long, text string")
    with pytest.raises(ValueError, match=r"id_col='id' must hold unique ids; repeated ids include 1"):
        find_duplicates(df)


def test_null_ids_and_null_texts_are_rejected(spark):
    null_id = spark.createDataFrame([(None, "a b c d e f"), (2, "m n o p q r")], "id long, text string")
    with pytest.raises(ValueError, match=r"id_col='id' has 1 null values"):
        find_duplicates(null_id)
    null_text = spark.createDataFrame([(1, None), (2, "m n o p q r"), (3, None)], "id long, text string")
    with pytest.raises(ValueError, match=r"column='text' has 2 null texts"):
        find_duplicates(null_text)


def test_bad_parameters_fail_on_the_driver(small_df):
    with pytest.raises(ValueError, match="threshold"):
        find_duplicates(small_df, threshold=1.5)
    with pytest.raises(ValueError, match="num_perm"):
        find_duplicates(small_df, num_perm=0)
    with pytest.raises(TypeError, match="df must be a pyspark.sql.DataFrame"):
        find_duplicates([("1", "text")])
    with pytest.raises(ValueError, match="column and id_col must differ"):
        find_duplicates(small_df.withColumn("id", small_df["text"]), "id", id_col="id")
    with pytest.raises(ValueError, match="id_col must not be named 'cluster_id'"):
        find_duplicates(small_df.withColumnRenamed("id", "cluster_id"), id_col="cluster_id")
    with pytest.raises(ValueError, match="max_bucket"):
        find_duplicates(small_df, max_bucket=1)


# ------------------------------------------------------------------ clean_column

_STORM = (
    "Storm closes the coastal road.\n\nThe coastal road was closed on Monday after waves "
    "washed over the sea wall. Police asked drivers to use the inland route until the water "
    "has gone down and the council has checked the damage to the road surface."
)
_BRIDGE = (
    "Nieuwe brug geopend.\n\nDe nieuwe fietsbrug over de rivier is zaterdag geopend door de "
    "wethouder, die samen met honderden fietsers als eerste de overkant bereikte. De bouw van "
    "de brug duurde ruim twee jaar en kostte meer dan twaalf miljoen euro."
)
_ARTICLES = [
    _STORM + "\n\n" + _STORM,  # pasted twice
    _BRIDGE + " " + _BRIDGE.replace("\n\n", " "),  # second copy re-flowed into the same paragraph
    "A short note without any repeats at all, kept exactly as written.",
    "",
]


def test_clean_column_equals_clean_many_and_leaves_other_columns_alone(spark):
    data = [(i, text, i * 0.5) for i, text in enumerate(_ARTICLES * 40)]
    df = spark.createDataFrame(data, "id long, text string, score double").repartition(3)

    rows = clean_column(df, "text", output_col="clean").orderBy("id").collect()

    texts = [text for _, text, _ in data]
    assert [row["clean"] for row in rows] == clean_many(texts)
    assert [tuple(row)[:3] for row in rows] == data
    assert [row["clean"] for row in rows[:4]] == [_STORM, _BRIDGE, _ARTICLES[2], ""]


def test_clean_column_replaces_the_column_in_place_and_keeps_nulls(spark):
    df = spark.createDataFrame([(1, _ARTICLES[0]), (2, None), (3, _ARTICLES[2])], "id long, text string")

    out = clean_column(df, "text")

    assert out.columns == ["id", "text"]
    rows = out.orderBy("id").collect()
    assert [row["text"] for row in rows] == [clean_many([_ARTICLES[0]])[0], None, _ARTICLES[2]]


def test_clean_column_rejects_bad_arguments_before_any_job(small_df):
    with pytest.raises(TypeError, match="output_col"):
        clean_column(small_df, "text", output_col=3)
    with pytest.raises(ValueError, match="threshold"):
        clean_column(small_df, "text", threshold=2.0)
    with pytest.raises(TypeError, match="min_lenght"):
        clean_column(small_df, "text", min_lenght=3)



# ------------------------------------------------- buckets across Arrow batches


@settings(max_examples=60, deadline=None)
@given(
    runs=st.lists(st.integers(1, 60), min_size=1, max_size=40),
    cut_fractions=st.lists(st.floats(0, 1), max_size=30),
    max_bucket=st.integers(2, 30),
    seed=st.integers(0, 2**16),
)
def test_bucket_pairs_do_not_depend_on_arrow_batch_boundaries(runs, cut_fractions, max_bucket, seed):
    import numpy as np
    import pyarrow as pa

    from dedup.lsh import bucket_pairs
    from dedup.spark import pairs_of_sorted_runs

    rng = np.random.default_rng(seed)
    # Rows sorted by (band, key, id) with runs (buckets) of the drawn lengths.
    band = np.repeat(rng.integers(0, 3, size=len(runs)), runs)
    key = np.repeat(rng.integers(-3, 4, size=len(runs)), runs)  # equal keys in other bands too
    ids = rng.permutation(len(band)) * 3 + 10
    order = np.lexsort((ids, key, band))
    band, key, ids = band[order], key[order], ids[order]
    table = pa.table({"id": ids, "band": band.astype(np.int32), "key": key})
    # Arrow batches cut anywhere: inside runs, at run ends, batches within one run.
    cuts = sorted({int(f * len(ids)) for f in cut_fractions} - {0, len(ids)})
    bounds = [0, *cuts, len(ids)]
    batches = [b for lo, hi in zip(bounds, bounds[1:]) for b in table.slice(lo, hi - lo).to_batches()]

    got = [
        pair
        for batch in pairs_of_sorted_runs(iter(batches), max_bucket=max_bucket)
        for pair in zip(batch.column(0).to_pylist(), batch.column(1).to_pylist())
    ]

    starts = np.r_[0, np.flatnonzero((band[1:] != band[:-1]) | (key[1:] != key[:-1])) + 1]
    lengths = np.diff(np.r_[starts, len(band)])
    shared = lengths > 1
    expected = bucket_pairs(ids, starts[shared], lengths[shared], max_bucket).tolist()
    assert sorted(got) == sorted(map(tuple, expected))
