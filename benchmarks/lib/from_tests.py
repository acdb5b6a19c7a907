"""Generators written for the tests, reused by the benchmarks.

``tests/scripts_texts.py`` (articles of every script made of stock phrases) and
``tests/news_texts.py`` (English news-like documents) are written once, for the tests;
this module loads them by path so that runners need not put ``tests/`` on ``sys.path``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

_TESTS = Path(__file__).resolve().parents[2] / "tests"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"tests_{name}", _TESTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_scripts_texts = _load("scripts_texts")
PHRASE_SCRIPTS: tuple[str, ...] = _scripts_texts.SCRIPTS
phrase_article = _scripts_texts.article  # (script, seed, sentences=None, phrases=None) -> text
merged = _scripts_texts.merged  # (script, text) -> the text with its paragraphs run together


def generated_news(count: int, seed: int = 1) -> list[dict]:
    """``count`` English news-like records ``{"id", "text"}`` (tests/news_texts.py)."""
    return _load("news_texts").generated_corpus(count, seed=seed)
