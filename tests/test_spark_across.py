"""dedup.spark.clean_across on a real local Spark session, against the same rule run
article by article in one process."""

from __future__ import annotations

import random

import pytest

pytest.importorskip("pyspark", reason="needs the spark extra (conftest's session fails instead under DEDUP_REQUIRE_SPARK)")

from dedup import Deduplicator  # noqa: E402
from dedup.across import keys_of_texts, look_up, pick_candidates  # noqa: E402
from dedup.align import RepeatParams  # noqa: E402
from dedup.spark import article_key_rows, candidate_sources, clean_across  # noqa: E402
from dedup.store import MemoryStore  # noqa: E402

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark(spark_session):
    return spark_session


# --------------------------------------------------------------------- texts

_SYLLABLES = ["ka", "lo", "mer", "dun", "vi", "sta", "pel", "ro", "ten", "bra", "zo", "gel", "fa", "nu", "te"]


def sentences(seed: int, count: int) -> str:
    """Made-up sentences, seeded: no accidental overlap between seeds."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        words = ["".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 3))) for _ in range(rng.randint(9, 16))]
        out.append(" ".join(words).capitalize() + ".")
    return " ".join(out)


BOILERPLATE = "Subscribe to our newsletter for the best stories of the day delivered to your inbox every morning, free of charge and without any advertising at all."


def planted_stream(articles: int = 36, seed: int = 0) -> list[tuple[str, int, str]]:
    """(id, day, text): own paragraphs, passages copied from a pool (shared by several
    articles, sometimes with a word changed), and a boilerplate paragraph in a third of
    them. Days are shuffled against ids, so the order column decides what is earlier."""
    rng = random.Random(seed)
    pool = [sentences(1000 + p, 3) for p in range(6)]
    days = list(range(articles))
    rng.shuffle(days)
    rows = []
    for a in range(articles):
        paragraphs = [sentences(a, rng.randint(2, 4))]
        for _ in range(rng.choice([0, 1, 1, 2])):
            passage = rng.choice(pool)
            if rng.random() < 0.3:
                words = passage.split()
                words[rng.randrange(len(words))] = "gewijzigd"
                passage = " ".join(words)
            paragraphs.insert(rng.randint(0, len(paragraphs)), passage)
        if a % 3 == 0:
            paragraphs.append(BOILERPLATE)
        rows.append((f"art-{a:02d}", days[a], "\n\n".join(paragraphs)))
    return rows


def in_process(rows, **params) -> dict:
    """Deduplicator(scope="across") fed the articles in order (day, then id)."""
    ordered = sorted(rows, key=lambda row: (row[1], row[0]))
    dedup = Deduplicator(scope="across", **params)
    cleaned = dedup.clean_many([text for _, _, text in ordered], [doc_id for doc_id, _, _ in ordered])
    return {doc_id: text for (doc_id, _, _), text in zip(ordered, cleaned)}


# --------------------------------------------------------------------- tests


def test_clean_across_equals_in_process_deduplicator_and_explains_every_removal(spark):
    rows = planted_stream()
    df = spark.createDataFrame(rows, "id string, day int, text string").repartition(3)
    params = {"min_length": 12, "max_holders": 2, "max_sources": 3}

    cleaned, report = clean_across(df, "text", order_col="day", id_col="id", report=True, **params)
    out = {row["id"]: row["text"] for row in cleaned.collect()}
    removed = report.collect()

    assert out == in_process(rows, **params)
    texts = {doc_id: text for doc_id, _, text in rows}
    day = {doc_id: d for doc_id, d, _ in rows}
    with_boilerplate = sorted((d, i) for i, d, t in rows if BOILERPLATE in t)
    first = with_boilerplate[0][1]
    assert BOILERPLATE in out[first]  # the earliest copy stays, byte for byte
    assert all(BOILERPLATE not in out[i] for _, i in with_boilerplate[1:])
    assert sum(out[i] != texts[i] for i in texts) >= len(with_boilerplate) - 1
    assert removed, "the planted stream must have removals for this test to mean anything"
    for row in removed:
        # Each removal points at an earlier article and spans that say the same thing.
        assert (day[row["source_id"]], row["source_id"]) < (day[row["id"]], row["id"])
        assert 0 <= row["start"] < row["end"] <= len(texts[row["id"]])
        assert 0 <= row["source_start"] < row["source_end"] <= len(texts[row["source_id"]])
        assert 0.7 <= row["similarity"] <= 1  # the default threshold
    assert all(len(text) <= len(texts[i]) for i, text in out.items())  # only deletes


@pytest.mark.parametrize("rule", [
    {"max_holders": 2, "max_sources": 2, "min_seeds": 3},
    {"max_holders": 1, "max_sources": 1, "min_seeds": 1},
    {"max_holders": 5, "max_sources": 4, "min_seeds": 2, "window": 3},
])  # fmt: skip
def test_spark_candidates_are_those_of_the_python_rule(spark, rule):
    # Stage 2 is Spark SQL; dedup.across.look_up + pick_candidates is the rule it must match.
    rows = planted_stream(articles=40, seed=3)
    params = RepeatParams(min_length=12)
    window = rule.get("window", 6)
    counts = {name: value for name, value in rule.items() if name != "window"}
    df = spark.createDataFrame(rows, "id string, ord int, text string").repartition(3)

    keys = article_key_rows(df.select("id", "ord", "text"), params, window)
    found = {}
    for row in candidate_sources(keys, **counts).collect():
        found.setdefault(row["id"], []).append((row["source_ord"], row["source_id"]))

    ordered = sorted(rows, key=lambda row: (row[1], row[0]))  # earlier: by (ord, id)
    batch = keys_of_texts([text for _, _, text in ordered], params, window)
    article, holder, _ = look_up(MemoryStore(counts["max_holders"]), batch)
    picked = pick_candidates(
        article, holder, len(ordered), min_seeds=counts["min_seeds"], max_sources=counts["max_sources"]
    )
    expected = {
        ordered[a][0]: [(ordered[s][1], ordered[s][0]) for s in sources] for a, sources in enumerate(picked) if sources
    }
    assert expected, "the generated articles must share passages for this test to mean anything"
    assert {doc_id: sorted(sources) for doc_id, sources in found.items()} == expected


def test_order_column_decides_which_copy_stays_and_ids_are_optional(spark):
    passage = sentences(7, 3)
    rows = [(0, 2, "Later article.\n\n" + passage), (1, 1, passage + "\n\nEarlier article."), (2, 3, None)]
    df = spark.createDataFrame(rows, "n long, day int, body string")

    out = clean_across(df, "body", order_col="day", output_col="clean").orderBy("n").collect()

    assert list(out[0].asDict()) == ["n", "day", "body", "clean"]
    assert [row["clean"] for row in out] == ["Later article.", rows[1][2], None]
    assert [row["body"] for row in out] == [r[2] for r in rows]
    assert clean_across(df.limit(0), "body").count() == 0  # an empty corpus is fine too


def test_clean_across_rejects_bad_arguments_before_any_job(spark):
    df = spark.createDataFrame([(1, "text")], "id long, text string")
    with pytest.raises(ValueError, match="text_col='body'"):
        clean_across(df, "body")
    with pytest.raises(TypeError, match="id_col=.x."):
        clean_across(df.withColumn("x", df["id"] * 1.5), "text", id_col="x")
    with pytest.raises(ValueError, match="max_holders"):
        clean_across(df, "text", max_holders=0)
    with pytest.raises(ValueError, match="threshold"):
        clean_across(df, "text", threshold=1.5)
    with pytest.raises(TypeError, match="report"):
        clean_across(df, "text", report="yes")



def test_an_id_given_to_two_articles_fails_naming_it_where_their_texts_would_mix(spark):
    passage = sentences(8, 3)
    rows = [(1, passage + "\n\nFirst."), (2, "Second.\n\n" + passage), (2, sentences(9, 2)), (3, sentences(10, 2))]
    df = spark.createDataFrame(rows, "id long, text string")
    with pytest.raises(Exception, match=r"id 2 is the id of more than one article"):
        clean_across(df, "text", id_col="id").collect()
    # Repeated ids of articles that share nothing with any other pass through unchanged.
    alone = spark.createDataFrame([(1, passage), (3, sentences(10, 2)), (3, sentences(11, 2))], "id long, text string")
    assert sorted(row.text for row in clean_across(alone, "text", id_col="id").collect()) == sorted(
        [passage, sentences(10, 2), sentences(11, 2)]
    )
