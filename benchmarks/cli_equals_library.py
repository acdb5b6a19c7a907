"""Does ``dedup clean`` (default ``--scope both``) write what ``dedup.Deduplicator()`` does?

Runs the command with ``--state`` on a JSONL corpus, then the library's default
``Deduplicator().clean_many`` on the same texts and ids with ``save``, and compares the
outputs document by document and the two saved states table by table. Without
``--corpus`` it uses made-up news with repeats inside and across articles
(``tests/news_texts.generated_corpus``).

Usage::

    python benchmarks/cli_equals_library.py --docs 5000
    python benchmarks/cli_equals_library.py --docs 5000 --corpus /work/shared/corpora/bbc-en.jsonl
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

import dedup
from lib.from_tests import generated_news


def tables(path: str) -> dict:
    with contextlib.closing(sqlite3.connect(path)) as db:
        names = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {name: sorted(db.execute(f"SELECT * FROM {name}").fetchall(), key=repr) for name in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=5000)
    parser.add_argument("--corpus", help="a JSONL file with a text field (default: generated documents)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.corpus:
        with open(args.corpus, encoding="utf-8") as f:
            rows = [json.loads(line) for _, line in zip(range(args.docs), f)]
        rows = [{"id": str(row.get("id", i)), "text": row["text"]} for i, row in enumerate(rows)]
    else:
        rows = generated_news(args.docs, seed=args.seed)
    with tempfile.TemporaryDirectory() as folder:
        given = os.path.join(folder, "in.jsonl")
        with open(given, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(row) + "\n" for row in rows)
        out, cli_state, library_state = (os.path.join(folder, name) for name in ("out.jsonl", "cli.state", "lib.state"))
        command = [sys.executable, "-m", "dedup", "clean", given, "-o", out, "--state", cli_state, "-q"]
        subprocess.run(command, check=True)
        library = dedup.Deduplicator()
        expected = library.clean_many([row["text"] for row in rows], [row["id"] for row in rows])
        library.save(library_state)
        with open(out, encoding="utf-8") as f:
            got = [json.loads(line)["text"] for line in f]
        differ = [rows[i]["id"] for i, (a, b) in enumerate(zip(got, expected)) if a != b]
        changed = sum(text != row["text"] for text, row in zip(expected, rows))
        print(f"{len(rows)} documents, {changed} changed by the library; "
              f"outputs that differ: {len(differ)} {differ[:10]}")
        a, b = tables(cli_state), tables(library_state)
        for name in sorted(set(a) | set(b)):
            print(f"state table {name}: {'identical' if a.get(name) == b.get(name) else 'DIFFERS'}")


if __name__ == "__main__":
    main()
