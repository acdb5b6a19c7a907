"""dedup: near-duplicate text detection with MinHash and LSH."""

from .minhash import MinHasher, jaccard

__version__ = "0.1.0"
__all__ = ["MinHasher", "jaccard"]
