"""``python -m dedup``: the same as the ``dedup`` command."""

import sys

from .cli import entry

sys.exit(entry())
