"""Seeded generator of repeat test cases built from real articles.

Every case is a pair ``(original, corrupted)``: ``corrupted`` is ``original`` with a
repeat injected the way scrapers and CMS exports produce them, and the expected result
of ``dedup.clean(corrupted)`` is ``original`` (word for word; for ``unmodified`` byte
for byte). The generator never writes article text anywhere: cases live in memory and
benchmarks report offsets and word counts only.

Kinds (see issue 3):

``exact``       whole body repeated after the original, same paragraphs
``reflowed``    repeated with paragraph breaks lost, regrouped or turned into single newlines
``noisy``       repeated with NBSP, soft hyphens inside words, \\n vs \\n\\n, curly vs straight
                quotes (sometimes the noise is in the first copy and the copy is clean)
``edited``      an updated version appended: a few words changed, a sentence added or dropped
``truncated``   the copy starts or ends mid-sentence, or both
``multi``       two or three extra copies (exact, reflowed or noisy)
``paragraph``   a single paragraph, sentence run or pull quote (a run of words cut mid-sentence,
                sometimes in quotes; >= 25 words) repeated later in the article
``unmodified``  the article as is (must come back byte-identical)

Kinds of marked or edited copies and of runs (added for issue 9):

``edited-dropped``  an appended copy with 1-2% of its words substituted, dropped or inserted
                    (anywhere but its first and last word) and one sentence (not its first) dropped
``edged``       a copy wrapped in quotes, dashes, bullets or box characters, or with every
                paragraph marked by a bullet or ``>``; the marks belong to the copy, so the
                expected output has none of them (the benchmark checks "marks left")
``sentence-k``  a sentence of the article said k times in a row (k = 2..6; short sentences of
                4-12 words and long ones of 20-45 words). ``original`` has it once: the
                expected output once the copies after the first reach ``min_length``; below
                that the benchmark expects the text unchanged. Never a fragment of a copy.
``phrase-many`` a phrase of 1-11 words of the article said 2-500 times in a row (expected as
                for ``sentence-k``). ``Case.unit`` is the repeated sentence or phrase and
                ``Case.copies`` how many times it stands in ``corrupted``.

Usage::

    from lib.inject import generate
    for case in generate(["../shared/corpora/dpg-nl.jsonl"], per_kind=200, seed=1):
        case.original, case.corrupted, case.kind, case.injected

or ``python benchmarks/generate.py repeats --corpus PATH --per-kind 3 --show`` to look at a few, and
``--case ID --per-kind N --seed S --show`` (the N and S of the benchmark run) to see one
case from ``benchmarks/out/repeats_failures.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

KINDS = (
    "exact",
    "reflowed",
    "noisy",
    "edited",
    "truncated",
    "multi",
    "paragraph",
    "unmodified",
    "edited-dropped",
    "edged",
    "sentence-k",
    "phrase-many",
)
RUN_KINDS = ("sentence-k", "phrase-many")  # one unit said several times in a row
# Kinds that inject a copy with dropped words or marked edges, or one unit said in a row.
MARKED_COPY_AND_RUN_KINDS = ("edited-dropped", "edged", *RUN_KINDS)

MIN_WORDS = 80  # articles shorter than this are not used: a repeat of them is too short to matter
PARAGRAPH_MIN_WORDS = 25  # a repeated paragraph or quote has at least this many words
# Articles that already contain a repeated run of this many words are left out of the
# pool: their expected output is ambiguous (dpg-nl 10800732 is checked separately).
# Shorter legitimate repeats (headings, refrains, short quotes) stay in, and clean must keep them.
NATIVE_REPEAT_WORDS = 20

from lib.words import edit_words_at, longest_repeat, norm_words, sentence_spans, sentences, word_spans


# ---------------------------------------------------------------- articles


@dataclass(frozen=True)
class Article:
    corpus: str
    id: str
    text: str  # the article as stored
    paragraphs: tuple[str, ...]  # the body as paragraphs (built from sentences for flat corpora)
    flat: bool  # True when the stored text had no paragraph breaks

    @property
    def body(self) -> str:
        """The article with its paragraphs separated by blank lines."""
        return "\n\n".join(self.paragraphs)


def _paragraphs_from_sentences(text: str, rng: random.Random) -> list[str]:
    """Group the sentences of a flat body into paragraphs of 1-4 sentences (seeded)."""
    sents = sentences(text)
    paras, i = [], 0
    while i < len(sents):
        n = rng.choice((1, 2, 2, 3, 3, 4))
        paras.append(" ".join(sents[i : i + n]))
        i += n
    return paras


def load_articles(path: str, seed: int = 0) -> tuple[list[Article], dict[str, int]]:
    """Articles of a JSONL corpus usable for injection, and counts of what was left out.

    Articles need ``MIN_WORDS`` words and no native repeat of ``NATIVE_REPEAT_WORDS``
    words or more. Flat bodies (no newline) are split into paragraphs of sentences.
    """
    name = os.path.splitext(os.path.basename(path))[0]
    articles, skipped = [], {"short": 0, "native_repeat": 0}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            doc = json.loads(line)
            text = doc["text"]
            if len(norm_words(text)) < MIN_WORDS:
                skipped["short"] += 1
                continue
            if longest_repeat(text)[0] >= NATIVE_REPEAT_WORDS:
                skipped["native_repeat"] += 1
                continue
            if doc.get("paragraphs"):
                paras, flat = [p.strip() for p in doc["paragraphs"] if p.strip()], False
            elif "\n" in text.strip():
                paras, flat = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()], False
            else:
                rng = random.Random(f"{seed}-paragraphs-{name}-{doc['id']}")
                paras, flat = _paragraphs_from_sentences(text, rng), True
            articles.append(Article(name, str(doc["id"]), text, tuple(paras), flat))
    return articles, skipped


# ---------------------------------------------------------------- cases


@dataclass
class Case:
    case_id: str
    kind: str
    corpus: str
    article_id: str
    variant: str  # what was done, e.g. "reflow=lost sep='\\n\\n'"
    original: str  # the expected result of cleaning
    corrupted: str  # the input
    injected: list[tuple[int, int]] = field(default_factory=list)  # injected ranges in corrupted
    unit: str = ""  # RUN_KINDS: the sentence or phrase said several times
    copies: int = 0  # RUN_KINDS: how many times it stands in corrupted (the first copy is the original's)

    @property
    def injected_words(self) -> int:
        return sum(len(norm_words(self.corrupted[a:b])) for a, b in self.injected)


def _separator(rng: random.Random) -> str:
    """What stands between the original and the pasted copy."""
    return rng.choices(("\n\n", "\n", " ", "\n\n\n"), weights=(6, 2, 1, 1))[0]


def _append(original: str, copies: Sequence[str], seps: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    text, injected = original, []
    for copy, sep in zip(copies, seps):
        text += sep
        injected.append((len(text), len(text) + len(copy)))
        text += copy
    return text, injected


def _reflow(paras: Sequence[str], rng: random.Random) -> tuple[str, str]:
    """The body with its paragraph breaks lost, regrouped, or turned into single newlines."""
    how = rng.choice(("lost", "lost", "regrouped", "single-newline"))
    if how == "lost":
        return " ".join(paras), how
    if how == "single-newline":
        return "\n".join(paras), how
    sents = [s for p in paras for s in sentences(p)]
    groups, i = [], 0
    while i < len(sents):
        n = rng.randint(1, 5)
        groups.append(" ".join(sents[i : i + n]))
        i += n
    return "\n\n".join(groups), how


_QUOTE_SWAPS = {"'": "\u2019", "\u2019": "'", "\u2018": "'", '"': "\u201d", "\u201c": '"', "\u201d": '"'}


def add_noise(text: str, rng: random.Random) -> tuple[str, str]:
    """Whitespace and typography noise: NBSP, soft hyphens, newline changes, quote styles."""
    done = []
    chars = list(text)
    # NBSP for some spaces (often before numbers and units in CMS output).
    spaces = [i for i, c in enumerate(chars) if c == " "]
    if spaces:
        for i in rng.sample(spaces, max(1, len(spaces) // rng.choice((5, 10, 20)))):
            chars[i] = "\u00a0"
        done.append("nbsp")
    # Quotes: straight <-> curly.
    quotes = [i for i, c in enumerate(chars) if c in _QUOTE_SWAPS]
    if quotes:
        for i in quotes:
            if rng.random() < 0.8:
                chars[i] = _QUOTE_SWAPS[chars[i]]
        done.append("quotes")
    text = "".join(chars)
    # Soft hyphens inside some long words (as hyphenating CMSes insert them).
    long_words = [(a, b) for a, b in word_spans(text) if b - a >= 8]
    if long_words:
        picks = sorted(rng.sample(long_words, max(1, len(long_words) // rng.choice((4, 8, 15)))), reverse=True)
        for a, b in picks:
            cut = rng.randint(a + 3, b - 3)
            text = text[:cut] + "\u00ad" + text[cut:]
        done.append("shy")
    # Paragraph breaks: \n\n <-> \n, and stray trailing spaces.
    if "\n" in text and rng.random() < 0.7:
        if rng.random() < 0.5:
            text = re.sub(r"\n\n+", "\n", text)
            done.append("nl2->nl1")
        else:
            text = re.sub(r"\n+", lambda m: " \n\n" if rng.random() < 0.5 else "\n\n", text)
            done.append("nl-ws")
    return text, "+".join(done)


def _edit(paras: Sequence[str], rng: random.Random, foreign: Sequence[str]) -> tuple[str, str]:
    """An updated version: 1-3 words changed, and a sentence added or dropped, away from the ends."""
    sents_per_para = [sentences(p) for p in paras]
    flat = [(pi, si) for pi, ss in enumerate(sents_per_para) for si in range(len(ss))]
    notes = []
    if len(flat) >= 4:
        # Interior sentence: the update's first and last sentences stay, so it stays anchored.
        pi, si = flat[rng.randint(1, len(flat) - 2)]
        if rng.random() < 0.5 and foreign:
            sents_per_para[pi].insert(si, rng.choice(foreign))
            notes.append("sentence-added")
        else:
            del sents_per_para[pi][si]
            notes.append("sentence-dropped")
    text = "\n\n".join(" ".join(ss) for ss in sents_per_para if ss)
    spans = word_spans(text)
    n_changes = rng.randint(1, 3)
    lo, hi = len(spans) // 10, len(spans) - len(spans) // 10 - 1
    vocab = [text[a:b] for a, b in spans if b - a >= 4]
    for k in sorted(rng.sample(range(lo, hi), min(n_changes, max(0, hi - lo))), reverse=True):
        a, b = spans[k]
        text = text[:a] + rng.choice(vocab) + text[b:]
    notes.append(f"words-changed={n_changes}")
    return text, "+".join(notes)


def _mid_sentence_cut(text: str, rng: random.Random, lo: float, hi: float) -> int:
    """Character offset of a word start inside a sentence, between fractions lo..hi of the words."""
    spans = word_spans(text)
    starts = {a for a, _ in sentence_spans(text)}
    candidates = [a for a, _ in spans[int(len(spans) * lo) : int(len(spans) * hi)] if a not in starts]
    prev_end = {a: text[:a].rstrip()[-1:] for a in candidates}
    # Not right after sentence-final punctuation either.
    candidates = [a for a in candidates if prev_end[a] not in ".!?"]
    return rng.choice(candidates) if candidates else spans[len(spans) // 3][0]


def inject_copy(kind: str, art: Article, rng: random.Random, foreign: Sequence[str]) -> tuple[str, str, list, str] | None:
    """(original, corrupted, injected ranges, variant) for one article, or None if it does not fit."""
    body = art.body
    if kind == "unmodified":
        # Flat corpora are used as stored; corpora with paragraphs too (joined by blank lines).
        return art.text, art.text, [], "as-stored"
    if kind == "exact":
        sep = _separator(rng)
        corrupted, inj = _append(body, [body], [sep])
        return body, corrupted, inj, f"sep={sep!r}"
    if kind == "reflowed":
        if len(art.paragraphs) < 2:
            return None
        copy, how = _reflow(art.paragraphs, rng)
        if copy == body:
            return None
        sep = _separator(rng)
        corrupted, inj = _append(body, [copy], [sep])
        return body, corrupted, inj, f"reflow={how} sep={sep!r}"
    if kind == "noisy":
        noisy, how = add_noise(body, rng)
        sep = _separator(rng)
        if rng.random() < 0.25:  # the noise is in the first copy; the pasted copy is clean
            corrupted, inj = _append(noisy, [body], [sep])
            return noisy, corrupted, inj, f"noise-in-first={how} sep={sep!r}"
        corrupted, inj = _append(body, [noisy], [sep])
        return body, corrupted, inj, f"noise={how} sep={sep!r}"
    if kind == "edited":
        copy, how = _edit(art.paragraphs, rng, foreign)
        sep = _separator(rng)
        corrupted, inj = _append(body, [copy], [sep])
        return body, corrupted, inj, f"{how} sep={sep!r}"
    if kind == "truncated":
        where = rng.choice(("start", "end", "both"))
        a = _mid_sentence_cut(body, rng, 0.05, 0.35) if where in ("start", "both") else 0
        b = _mid_sentence_cut(body, rng, 0.65, 0.95) if where in ("end", "both") else len(body)
        copy = body[a:b].rstrip()
        if rng.random() < 0.5:
            copy, _ = _reflow(re.split(r"\n\n", copy), rng)
        sep = _separator(rng)
        corrupted, inj = _append(body, [copy], [sep])
        return body, corrupted, inj, f"cut={where} copy_words={len(norm_words(copy))} sep={sep!r}"
    if kind == "multi":
        n = rng.choice((2, 2, 3))
        copies, notes = [], []
        for _ in range(n):
            style = rng.choice(("exact", "reflowed", "noisy"))
            if style == "reflowed" and len(art.paragraphs) > 1:
                copy, _ = _reflow(art.paragraphs, rng)
            elif style == "noisy":
                copy, _ = add_noise(body, rng)
            else:
                copy, style = body, "exact"
            copies.append(copy)
            notes.append(style)
        seps = [_separator(rng) for _ in copies]
        corrupted, inj = _append(body, copies, seps)
        return body, corrupted, inj, f"copies={'+'.join(notes)}"
    if kind == "paragraph":
        paras = list(art.paragraphs)
        # The repeated passage: a paragraph of >= 25 words, or a run of sentences (a quote
        # or a passage inside a long paragraph) of about 25-60 words.
        options = [i for i, p in enumerate(paras[:-1]) if len(norm_words(p)) >= PARAGRAPH_MIN_WORDS]
        if not options:
            return None
        i = rng.choice(options)
        passage = paras[i]
        how = rng.choice(("paragraph", "sentences", "quote"))
        sents = sentences(passage)
        spans = word_spans(passage)
        if how == "sentences" and len(sents) > 1 and len(spans) > 40:
            a = rng.randrange(len(sents))
            b = a + 1
            while b < len(sents) and len(norm_words(" ".join(sents[a:b]))) < PARAGRAPH_MIN_WORDS:
                b += 1
            if len(norm_words(" ".join(sents[a:b]))) >= PARAGRAPH_MIN_WORDS:
                passage = " ".join(sents[a:b])
            else:
                how = "paragraph"
        elif how == "quote" and len(spans) >= PARAGRAPH_MIN_WORDS + 5:
            # A pull quote: a run of words that starts and ends mid-sentence, in quotes.
            length = rng.randint(PARAGRAPH_MIN_WORDS, min(60, len(spans) - 1))
            a = rng.randint(1, len(spans) - length) if len(spans) - length >= 1 else 0
            core = passage[spans[a][0] : spans[a + length - 1][1]]
            passage = rng.choice(('"{}"', "\u201c{}\u201d", "'{}'", "{}")).format(core)
        else:
            how = "paragraph"
        j = rng.randint(i + 2, len(paras))  # insert before paragraph j (j == len: at the end)
        before = "\n\n".join(paras[:j])
        # Mostly a paragraph of its own; sometimes glued to the end of the paragraph before.
        sep = rng.choices(("\n\n", "\n", " "), weights=(6, 1, 2))[0]
        corrupted = before + sep + passage + ("\n\n" + "\n\n".join(paras[j:]) if j < len(paras) else "")
        start = len(before) + len(sep)
        return (
            body,
            corrupted,
            [(start, start + len(passage))],
            (f"{how} words={len(norm_words(passage))} from-para={i} to-before-para={j}/{len(paras)} sep={sep!r}"),
        )
    raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")


# ---------------------------------------------------------------- marked copies and runs (issue 9)

# Marks around a whole copy: (before, after). Box lines and bullets as scrapers render them.
_EDGES = (
    ('"', '"'),
    ("\u201c", "\u201d"),
    ("\u201e", "\u201c"),
    ("'", "'"),
    ("\u00ab ", " \u00bb"),
    ("\u2014 ", ""),
    ("\u2014 ", " \u2014"),
    ("\u2013 ", ""),
    ("- ", ""),
    ("\u2022 ", ""),
    ("* ", ""),
    ("(", ")"),
    ("[", "]"),
    ("\u2502 ", " \u2502"),
    ("\u25a0 ", ""),
    ("\u250c" + "\u2500" * 12 + "\u2510\n", "\n\u2514" + "\u2500" * 12 + "\u2518"),
    ("\u2500" * 20 + "\n", "\n" + "\u2500" * 20),
    ("***\n", "\n***"),
)
# Marks in front of every paragraph of a copy (a copy rendered as a list or a quote block).
_PARAGRAPH_MARKS = ("\u2022 ", "- ", "* ", "> ", "\u25aa ", "\u2502 ", "\u2013 ")


def _edit_and_drop(paras: Sequence[str], rng: random.Random) -> tuple[str, str] | None:
    """A copy with one sentence (not the first) dropped and 1-2% of its words edited."""
    sents_per_para = [sentences(p) for p in paras]
    flat = [(pi, si) for pi, ss in enumerate(sents_per_para) for si in range(len(ss))]
    if len(flat) < 3:
        return None
    pi, si = flat[rng.randint(1, len(flat) - 1)]
    del sents_per_para[pi][si]
    text = "\n\n".join(" ".join(ss) for ss in sents_per_para if ss)
    spans = word_spans(text)
    vocab = [text[a:b] for a, b in spans if b - a >= 4] or ["word"]
    n = max(1, round(rng.uniform(0.01, 0.02) * len(spans)))
    positions = rng.sample(range(1, len(spans) - 1), min(n, len(spans) - 2))
    text, ops = edit_words_at(text, spans, positions, rng, vocab)
    return text, f"sentence-dropped@{pi}.{si} edits={len(ops)}/{len(spans)}w({','.join(sorted(set(ops)))})"


def _edged(art: Article, rng: random.Random) -> tuple[str, str]:
    """The body (or a reflowed copy) with marks at its edges or before each paragraph."""
    paras = list(art.paragraphs)
    if rng.random() < 0.4 and len(paras) > 1:
        mark = rng.choice(_PARAGRAPH_MARKS)
        return "\n\n".join(mark + p for p in paras), f"every-paragraph={mark!r}"
    copy, how = (art.body, "exact") if rng.random() < 0.6 or len(paras) < 2 else _reflow(paras, rng)
    before, after = rng.choice(_EDGES)
    return before + copy + after, f"{how} edges={before!r}...{after!r}"


def _repeat_in_place(body: str, start: int, end: int, copies: int, seps: Sequence[str]) -> tuple[str, list]:
    """``body`` with ``body[start:end]`` said ``copies`` times in a row (the later ones injected)."""
    unit = body[start:end]
    extra = "".join(sep + unit for sep in seps[: copies - 1])
    return body[:end] + extra + body[end:], [(end + len(seps[0]), end + len(extra))]


def inject_marked_copy_or_run(kind: str, art: Article, rng: random.Random) -> tuple[str, str, list, str, str, int] | None:
    """(original, corrupted, injected ranges, variant, unit, copies) for MARKED_COPY_AND_RUN_KINDS."""
    body = art.body
    if kind == "edited-dropped":
        made = _edit_and_drop(art.paragraphs, rng)
        if made is None:
            return None
        copy, how = made
        sep = _separator(rng)
        corrupted, inj = _append(body, [copy], [sep])
        return body, corrupted, inj, f"{how} sep={sep!r}", "", 0
    if kind == "edged":
        copy, how = _edged(art, rng)
        sep = _separator(rng)
        corrupted, inj = _append(body, [copy], [sep])
        return body, corrupted, inj, f"{how} sep={sep!r}", "", 0
    if kind == "sentence-k":
        size = rng.choice(("short", "long"))
        lo, hi = (4, 12) if size == "short" else (20, 45)
        options = [(a, b) for a, b in sentence_spans(body) if lo <= len(norm_words(body[a:b])) <= hi]
        if not options:
            return None
        a, b = rng.choice(options)
        k = rng.randint(2, 6)
        sep = rng.choices((" ", "\n\n", "\n"), weights=(6, 2, 1))[0]
        corrupted, inj = _repeat_in_place(body, a, b, k, [sep] * (k - 1))
        unit = body[a:b]
        return body, corrupted, inj, f"{size} words={len(norm_words(unit))} k={k} sep={sep!r}", unit, k
    if kind == "phrase-many":
        length = rng.randint(1, 11)
        spans = word_spans(body)
        if len(spans) < length + 2:
            return None
        first = rng.randrange(1, len(spans) - length)
        a, b = spans[first][0], spans[first + length - 1][1]
        n = round(2 * 250 ** rng.random())  # log-uniform 2..500
        corrupted, inj = _repeat_in_place(body, a, b, n, [" "] * (n - 1))
        unit = body[a:b]
        return body, corrupted, inj, f"words={len(norm_words(unit))} n={n}", unit, n
    raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")


def generate(
    corpora: Sequence[str],
    kinds: Sequence[str] = KINDS,
    per_kind: int = 300,
    seed: int = 0,
    skipped: dict | None = None,
) -> Iterator[Case]:
    """Yield ``per_kind`` cases for every kind and every corpus, reproducibly from ``seed``.

    Each (corpus, kind) pair draws from its own ``random.Random`` seeded by a string
    (hashed with SHA-512 by :mod:`random`, so independent of ``PYTHONHASHSEED``): adding
    a kind or changing ``per_kind`` for one kind does not change the cases of another.
    ``skipped``, if given, receives per corpus the counts of articles left out of the pool.
    """
    for kind in kinds:
        if kind not in KINDS:
            raise ValueError(f"kinds must be from {', '.join(KINDS)}, got {kind!r}")
    for path in corpora:
        articles, left_out = load_articles(path, seed)
        name = articles[0].corpus if articles else os.path.basename(path)
        if skipped is not None:
            skipped[name] = left_out
        # Sentences from other articles, for "a sentence added" in edited copies.
        foreign_rng = random.Random(f"{seed}-foreign-{name}")
        foreign = [s for a in foreign_rng.sample(articles, min(200, len(articles))) for s in sentences(a.body)]
        foreign = [s for s in foreign if 8 <= len(norm_words(s)) <= 30]
        for kind in kinds:
            rng = random.Random(f"{seed}-{name}-{kind}")
            order = list(range(len(articles)))
            rng.shuffle(order)
            made = 0
            for idx in order:
                if made >= per_kind:
                    break
                art = articles[idx]
                if kind in MARKED_COPY_AND_RUN_KINDS:
                    out = inject_marked_copy_or_run(kind, art, rng)
                else:
                    built = inject_copy(kind, art, rng, foreign)
                    out = None if built is None else (*built, "", 0)
                if out is None:
                    continue
                original, corrupted, injected, variant, unit, copies = out
                yield Case(
                    f"{name}/{kind}/{art.id}", kind, name, art.id, variant, original, corrupted, injected, unit, copies
                )
                made += 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", action="append", required=True, help="JSONL corpus (repeatable)")
    parser.add_argument("--per-kind", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kind", action="append", choices=KINDS, help="only these kinds (repeatable)")
    parser.add_argument("--show", action="store_true", help="print the corrupted texts (local inspection only)")
    parser.add_argument("--case", help="only this case id (as in repeats_failures.jsonl), e.g. dpg-nl/edited/10800991")
    args = parser.parse_args(argv)
    kinds = args.kind or ([args.case.split("/")[1]] if args.case else KINDS)
    skipped: dict = {}
    for case in generate(args.corpus, kinds, args.per_kind, args.seed, skipped):
        if args.case and case.case_id != args.case:
            continue
        print(
            f"{case.case_id}  {case.variant}  words={len(norm_words(case.original))} "
            f"injected={case.injected} injected_words={case.injected_words}"
        )
        if args.show:
            print(case.corrupted, "\n" + "-" * 80)
    print("left out of the pool:", skipped)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
