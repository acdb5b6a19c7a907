"""``--param name=value`` options: engine parameters given on a runner's command line."""

from __future__ import annotations

import ast
from collections.abc import Sequence


def parse_params(items: Sequence[str]) -> dict:
    """``{"name": value}`` from ``name=value`` items; a value is a Python literal, or else a string."""
    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not key or not sep:
            raise SystemExit(f"--param must look like name=value, got {item!r}")
        try:
            params[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[key] = value
    return params
