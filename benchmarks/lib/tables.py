"""Printing results as Markdown tables (pasteable into RESULTS.md)."""

from __future__ import annotations

import sys
from typing import Any, Sequence


def print_table(rows: Sequence[Sequence[Any]], header: Sequence[str], file=sys.stdout) -> None:
    """A Markdown table (pasteable into RESULTS.md)."""
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for k, row in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |", file=file)
        if k == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|", file=file)
