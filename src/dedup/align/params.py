"""Parameters of the alignment engine (see :func:`dedup.align.find_repeats`): their
defaults and their checks."""

from __future__ import annotations

from dataclasses import dataclass, fields

from .._validate import check_choice, check_fraction, check_int
from ..text import DEFAULT_MODE, TOKEN_MODES


DEFAULT_THRESHOLD = 0.7
DEFAULT_MIN_LENGTH = 20
DEFAULT_NGRAM = 5
DEFAULT_MAX_GAP = 40


@dataclass(frozen=True)
class RepeatParams:
    """Validated parameters of repeat detection (see ``find_repeats``)."""

    threshold: float = DEFAULT_THRESHOLD
    min_length: int = DEFAULT_MIN_LENGTH
    ngram: int = DEFAULT_NGRAM
    max_gap: int = DEFAULT_MAX_GAP
    mode: str = DEFAULT_MODE

    def __post_init__(self) -> None:
        check_choice("mode", self.mode, TOKEN_MODES)
        check_fraction("threshold", self.threshold, closed_high=True)
        check_int("min_length", self.min_length, 1)
        check_int("ngram", self.ngram, 1)
        check_int("max_gap", self.max_gap, 0)

    @classmethod
    def from_keywords(cls, function: str, params: dict) -> RepeatParams:
        """``RepeatParams(**params)``, with a misspelled keyword named against ``function``.

        >>> RepeatParams.from_keywords("clean_many", {"treshold": 0.5})
        Traceback (most recent call last):
        TypeError: clean_many() got an unexpected keyword argument 'treshold'; accepted: threshold, min_length, ngram, max_gap, mode
        """
        accepted = [f.name for f in fields(cls)]
        for name in params:
            if name not in accepted:
                raise TypeError(
                    f"{function}() got an unexpected keyword argument {name!r}; accepted: {', '.join(accepted)}"
                )
        return cls(**params)
