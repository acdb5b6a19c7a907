"""Parameter checks shared by the public API: every error names the argument and the range."""

from __future__ import annotations

import numbers
from typing import Iterable, Sequence


def check_text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be str, got {type(value).__name__}: {_preview(value)}")
    return value


def check_texts(values: Iterable[object], name: str = "texts") -> Sequence[str]:
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of str, got a single {type(values).__name__}")
    if not isinstance(values, (list, tuple)):
        try:
            values = list(values)  # type: ignore[call-overload]
        except TypeError:
            raise TypeError(f"{name} must be an iterable of str, got {type(values).__name__}: {_preview(values)}") from None
    for i, value in enumerate(values):
        if not isinstance(value, str):
            raise TypeError(f"{name}[{i}] must be str, got {type(value).__name__}: {_preview(value)}")
    return values


def check_int(name: str, value: object, minimum: int, maximum: int | None = None) -> int:
    accepted = f"an integer >= {minimum}" + (f" and <= {maximum}" if maximum is not None else "")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be {accepted}, got {value!r}")
    value = int(value)
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {accepted}, got {value}")
    return value


def check_fraction(name: str, value: object, *, closed_low: bool = False, closed_high: bool = False) -> float:
    """A float in (0, 1), with either end optionally closed."""
    low, high = ("[" if closed_low else "("), ("]" if closed_high else ")")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number in {low}0, 1{high}, got {value!r}")
    value = float(value)
    ok_low = value >= 0 if closed_low else value > 0
    ok_high = value <= 1 if closed_high else value < 1
    if not (ok_low and ok_high):
        raise ValueError(f"{name} must be in {low}0, 1{high}, got {value}")
    return value


def check_choice(name: str, value: object, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value  # type: ignore[return-value]


def _preview(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
