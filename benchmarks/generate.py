"""Look at what the generators of ``benchmarks/lib`` build (local inspection only).

    python benchmarks/generate.py repeats --corpus PATH --per-kind 2 --kind truncated --show
    python benchmarks/generate.py streams --corpus X.jsonl --kind near30 --out /tmp/near30.jsonl
    python benchmarks/generate.py script-articles zh 2

Output holds corpus text: never write it into the repository.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from lib import inject, scripts_corpus, streams

GENERATORS = {  # name: main(argv) of the generator's module
    "repeats": inject.main,  # repeats injected inside one article
    "streams": streams.main,  # JSONL streams with recurring documents
    "script-articles": scripts_corpus.main,  # zh/ja/th articles from templates
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("generator", choices=GENERATORS)
    parser.add_argument("options", nargs=argparse.REMAINDER, help="the generator's own options (see its --help)")
    args = parser.parse_args(argv)
    return GENERATORS[args.generator](args.options)


if __name__ == "__main__":
    raise SystemExit(main())
