"""Look at what the generators of ``benchmarks/lib`` build (local inspection only).

    python benchmarks/generate.py repeats --corpus PATH --per-kind 2 --kind truncated --show
    python benchmarks/generate.py streams --corpus X.jsonl --kind near30 --out /tmp/near30.jsonl
    python benchmarks/generate.py script-articles zh 2

Output holds corpus text: never write it into the repository.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from lib import inject, scripts_corpus, streams

GENERATORS = {
    "repeats": inject.main,  # repeats injected inside one article
    "streams": streams.main,  # JSONL streams with recurring documents
    "script-articles": scripts_corpus.main,  # zh/ja/th articles from templates
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in GENERATORS:
        print(__doc__.strip(), file=sys.stderr if argv else sys.stdout)
        print("\ngenerators: " + ", ".join(GENERATORS), file=sys.stderr if argv else sys.stdout)
        return 2 if argv and argv[0] not in ("-h", "--help") else 0
    return GENERATORS[argv[0]](argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
