"""The one library of the benchmark runners: generators, corpus reading, measuring, tables, peers.

Runners (``benchmarks/bench_*.py``, ``check_*.py`` and the other scripts next to this
folder) run as ``python benchmarks/NAME.py``, which puts ``benchmarks/`` on ``sys.path``;
they import from ``lib`` (and ``dedup``) only. Nothing in ``dedup`` imports from here.

Generators (every one a pure function of its arguments and a seed):

- :mod:`lib.inject`: repeats injected inside one article (kinds ``exact`` ... ``phrase-many``);
- :mod:`lib.passages`: passages of earlier articles injected into later ones;
- :mod:`lib.streams`: JSONL streams with documents recurring across the stream;
- :mod:`lib.scripts_corpus`: Chinese, Japanese and Thai articles from templates;
- :mod:`lib.from_tests`: the generators of ``tests/`` (phrases of every script, news-like records);
- :mod:`lib.doubled`: articles of every script with their body pasted again;
- :mod:`lib.soup`: text made to stress one part of the engine (made-up words, odd shapes);
- :mod:`lib.zipf_corpus`: any number of Zipf-word documents with planted near-copies;
- :mod:`lib.planted`: pseudo-word corpora with planted copies and passages (Spark).

Helpers: :mod:`lib.corpus` (reading JSONL corpora and truth files), :mod:`lib.words`
(words and sentences as the benchmarks count them, and the word editor), :mod:`lib.measure` (CPU time,
memory, the machine line), :mod:`lib.tables` (Markdown tables), :mod:`lib.params`
(``--param key=value``), :mod:`lib.peers` (datasketch, rensa and dolma, where installed).
"""
