"""dedup: near-duplicate text detection with MinHash and LSH.

Usage::

    import dedup
    dedup.clean(text)                 # later repeats removed, first copy kept as written
    dedup.find_repeats(text)          # what would be removed, and what it repeats
    d = dedup.Deduplicator()          # also removes paragraphs seen in earlier articles
    d.clean(article)
    dedup.find_duplicates(docs)       # clusters of near-duplicate documents
"""

from .deduplicator import Deduplicator, Match
from .duplicates import Duplicates, find_duplicates
from .minhash import MinHasher, jaccard
from .align import Repeat, clean, clean_many, find_repeats, find_repeats_many, remove_spans
from . import report  # dedup.report.explain / write_html: the HTML report  # noqa: E402

__version__ = "0.1.0"
__all__ = [
    "Deduplicator",
    "Duplicates",
    "Match",
    "MinHasher",
    "Repeat",
    "clean",
    "clean_many",
    "find_duplicates",
    "find_repeats",
    "find_repeats_many",
    "jaccard",
    "remove_spans",
]
