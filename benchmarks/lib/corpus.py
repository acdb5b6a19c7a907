"""Reading corpora: JSONL records, (ids, texts), truth files of document pairs."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from typing import Iterable


def read_jsonl(path: str | Path, limit: int | None = None) -> list[dict]:
    """The records of a JSONL file (optionally only the first ``limit``)."""
    records = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                records.append(json.loads(line))
                if limit is not None and len(records) >= limit:
                    break
    return records


def read_texts(path: str | Path) -> list[str]:
    """The ``text`` of every record of a JSONL file, ``.gz`` or plain."""
    opener = gzip.open if Path(path).suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line)["text"] for line in handle if line.strip()]


def load_texts(path: str | Path, limit: int | None = None, field: str = "text") -> tuple[list[str], list[str]]:
    """(ids, texts) of a JSONL corpus whose records have ``id`` and ``text``."""
    records = read_jsonl(path, limit)
    return [str(r.get("id", i)) for i, r in enumerate(records)], [r[field] for r in records]


def read_pairs(path: str | Path) -> dict[tuple[str, str], float]:
    """Exact Jaccard per document pair from a ``*.pairs-k5.tsv`` truth file (ids sorted)."""
    pairs = {}
    with open(path, encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            a, b = sorted((row["id_a"], row["id_b"]))
            pairs[(a, b)] = float(row["jaccard"])
    return pairs


def pairs_file_for(corpus: str | Path) -> Path | None:
    """The truth file next to a corpus (``X.jsonl`` -> ``X.pairs-k5.tsv``), if it exists."""
    candidate = Path(corpus).with_suffix(".pairs-k5.tsv")
    return candidate if candidate.exists() else None


def utf8_megabytes(texts: Iterable[str]) -> float:
    return sum(len(t.encode("utf-8", "surrogatepass")) for t in texts) / 1e6
