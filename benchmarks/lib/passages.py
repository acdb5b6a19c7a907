"""Passages of earlier articles injected into later ones of a stored corpus (a stream).

``StreamBuilder(stored, seed).build(per_kind, kinds)`` takes the articles of a corpus in
file order and injects into some later articles a passage of 25-120 words copied from an
earlier article of the stream (a recent one, 1-20 articles back, or one far back). Kinds,
named for what they inject:

``paragraph``    the passage as a paragraph of its own (a passage that spans paragraph
                 breaks of its source keeps them)
``glued``        inside one of the article's paragraphs: at a sentence boundary or between
                 two words of a sentence; the passage itself starts/ends on a sentence
                 boundary or mid-sentence
``edited``       lightly edited: 2-5% of the words substituted, dropped or inserted (never
                 the first or last 3 words), often with soft hyphens, other quote styles,
                 NBSP and newline changes; as a paragraph or glued
``flattened``    a run of 3-6 of the source's paragraphs joined into one paragraph (when the
                 source has no paragraph breaks: a run of 3-8 sentences broken into
                 paragraphs instead, variant ``re-broken``)
``start``        the passage at the article's very start (own paragraph or glued)
``end``          the passage at the article's very end (own paragraph or glued)
``two-sources``  two passages from two different earlier articles (one recent, one far)
``punct-edges``  the passage wrapped in quotes, dashes, bullets, brackets or box characters

Ground truth is the character span of every injected passage (``Injection``), checked by
``check_ground_truth``. Every stream is a pure function of the corpus and ``seed``.
"""

from __future__ import annotations

import difflib
import random
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from lib.inject import add_noise
from lib.words import edit_words_at, norm_words, sentence_spans, word_spans

KINDS = ("paragraph", "glued", "edited", "flattened", "start", "end", "two-sources", "punct-edges")
MIN_PASSAGE, MAX_PASSAGE = 25, 120  # words of an injected passage (flattened runs may be longer)
MAX_FLATTENED = 250
RECENT = 20  # a recent source is 1..RECENT articles back
FAR = 200  # a far source is at least FAR articles back (or in the first half before the target)
WARMUP = 40  # no article before this position gets a passage
WRAPPERS = (
    '"{}"',
    "\u201c{}\u201d",
    "\u201e{}\u201d",
    "'{}'",
    "\u2018{}\u2019",
    "\u00ab{}\u00bb",
    "\u2014 {} \u2014",
    "\u2013 {}",
    "- {}",
    "\u2022 {}",
    "* {}",
    "\u00b7 {}",
    "({})",
    "[{}]",
    "\u2502 {} \u2502",
    "\u25a0 {}",
    "> {}",
    "\u2500\u2500 {} \u2500\u2500",
)
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


@dataclass
class Injection:
    kind: str
    start: int  # span of the injected text in the article as fed
    end: int
    passage: str  # the injected text (kept in memory for the assertions only)
    source: int  # position of the source article in the stream
    source_start: int  # span of the copied text in the source's stored text
    source_end: int
    variant: str


@dataclass
class StreamArticle:
    position: int
    doc_id: str
    stored: str  # the article as stored in the corpus
    text: str  # the article as fed to the Deduplicator (stored + injected passages)
    injections: list[Injection] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.injections[0].kind if self.injections else "none"


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Character ranges of the paragraphs of ``text`` (blank-line separated, stripped)."""
    spans, start = [], 0
    for m in list(_PARAGRAPH_BREAK.finditer(text)) + [None]:
        end = m.start() if m else len(text)
        chunk = text[start:end]
        if chunk.strip():
            lead = len(chunk) - len(chunk.lstrip())
            spans.append((start + lead, start + len(chunk.rstrip())))
        if m:
            start = m.end()
    return spans


def pick_passage(src: str, rng: random.Random, length: int) -> tuple[int, int, str] | None:
    """A run of about ``length`` words of ``src``: (start, end, variant), or None if too short.

    Starts on a sentence start or on any word, ends after ``length`` words or at the end
    of that sentence (keeping its final punctuation).
    """
    words = word_spans(src)
    if len(words) < length + 5:
        return None
    sents = sentence_spans(src)
    sent_starts = {a for a, _ in sents}
    if rng.random() < 0.5:
        starts = [i for i, (a, _) in enumerate(words[: len(words) - length]) if a in sent_starts]
        first = rng.choice(starts) if starts else rng.randrange(len(words) - length)
    else:
        first = rng.randrange(len(words) - length)
    last = first + length - 1
    start, end = words[first][0], words[last][1]
    # A sentence start takes its opening quote or bracket along.
    for a, _ in sents:
        if a <= start and not src[a:start].strip("\"'\u201c\u201e\u2018([ "):
            start = a
            break
    how = "cut"
    if rng.random() < 0.5:
        # Run on to the end of the sentence (its punctuation and closing quote included).
        for a, b in sents:
            if a <= end <= b and len(norm_words(src[start:b])) <= MAX_PASSAGE + 20:
                end, how = b, "to-sentence-end"
                break
    return start, end, f"{'sentence' if start in sent_starts else 'mid'}-start/{how}"


def random_run(src: str, spans: list[tuple[int, int]], rng: random.Random, counts: tuple[int, int]):
    """A run of consecutive ``spans`` of ``src`` (how many: random in ``counts``) holding 40 to
    MAX_FLATTENED words, or None if 20 draws find none."""
    for _ in range(20):
        n = rng.randint(*counts)
        if n > len(spans):
            continue
        i = rng.randrange(len(spans) - n + 1)
        run = spans[i : i + n]
        if 40 <= sum(len(norm_words(src[a:b])) for a, b in run) <= MAX_FLATTENED:
            return run
    return None


def flattened_run(src: str, rng: random.Random) -> tuple[int, int, str, str] | None:
    """(start, end, variant, text): a run of paragraphs joined into one, or of sentences split into paragraphs."""
    paras = paragraph_spans(src)
    if len(paras) >= 4:
        run = random_run(src, paras, rng, (3, 6))
        if run is None:
            return None
        return run[0][0], run[-1][1], f"paragraphs={len(run)}", " ".join(src[a:b] for a, b in run)
    sents = sentence_spans(src)
    if len(sents) < 4:
        return None
    run = random_run(src, sents, rng, (3, 8))
    if run is None:
        return None
    groups, k = [], 0
    while k < len(run):
        g = rng.randint(1, 2)
        groups.append(" ".join(src[a:b] for a, b in run[k : k + g]))
        k += g
    return run[0][0], run[-1][1], f"re-broken sentences={len(run)} paragraphs={len(groups)}", "\n\n".join(groups)


def edit_passage(passage: str, rng: random.Random, vocabulary: Sequence[str]) -> tuple[str, str]:
    """2-5% of the words substituted, dropped or inserted, never among the first or last 3."""
    spans = word_spans(passage)
    rate = rng.uniform(0.02, 0.05)
    n = max(1, round(rate * len(spans)))
    positions = rng.sample(range(3, len(spans) - 3), min(n, len(spans) - 6))
    passage, ops = edit_words_at(passage, spans, positions, rng, vocabulary)
    return passage, f"edits={len(ops)}/{len(spans)}w({','.join(sorted(set(ops)))})"


@dataclass
class Insertion:
    at: int  # offset in the stored text
    before: str  # separator before the passage
    passage: str
    after: str  # separator after it
    injection: Injection


def placement(text: str, rng: random.Random, where: str) -> tuple[int, str, str, str]:
    """(offset, separator before, separator after, variant) for a passage put ``where`` in ``text``.

    ``where``: "paragraph" (a paragraph of its own between two others, or made at a
    sentence boundary of a paragraph), "glued" (inside a paragraph: at a sentence start,
    between two words, or at the paragraph's end), "start", "end".
    """
    if where == "start":
        sep = rng.choice(("\n\n", "\n\n", "\n", " "))
        return 0, "", sep, f"start sep={sep!r}"
    if where == "end":
        sep = rng.choice(("\n\n", "\n\n", "\n", " "))
        end = len(text.rstrip())
        return end, sep, "", f"end sep={sep!r}"
    paras = paragraph_spans(text)
    if where == "paragraph":
        if len(paras) >= 3 and rng.random() < 0.8:
            k = rng.randrange(1, len(paras))
            return paras[k][0], "", "\n\n", "between-paragraphs"
        inner = [a for a, _ in sentence_spans(text)[1:] if text[a - 1] == " "]  # not a paragraph start
        at = rng.choice(inner) if inner else paras[len(paras) // 2][0]
        return at, "\n\n", "\n\n", "paragraph-made-at-sentence"
    if where == "glued":
        how = rng.choice(("sentence", "mid-sentence", "paragraph-end"))
        if how == "paragraph-end" and len(paras) > 1:  # (the end of the last one is the article's end)
            _, end = rng.choice(paras[:-1])
            return end, " ", "", "glued at paragraph end"
        sents = sentence_spans(text)
        if how == "sentence":
            starts = [a for a, _ in sents[1:]]
            if starts:
                return rng.choice(starts), "", " ", "glued at sentence start"
        # Between two words inside a sentence, away from its first and last two words.
        candidates = [a + w for a, b in sents for w, _ in word_spans(text[a:b])[2:-2]]
        at = rng.choice(candidates) if candidates else len(text.rstrip())
        return at, "", " ", "glued mid-sentence"
    raise ValueError(f"where must be paragraph, glued, start or end, got {where!r}")


def apply_insertions(stored: str, insertions: list[Insertion]) -> tuple[str, list[Injection]]:
    """The text with every passage inserted, and the injections with their final spans."""
    text, placed = stored, []
    for ins in sorted(insertions, key=lambda i: i.at, reverse=True):
        start = ins.at + len(ins.before)
        text = text[: ins.at] + ins.before + ins.passage + ins.after + text[ins.at :]
        shift = len(ins.before) + len(ins.passage) + len(ins.after)
        for inj in placed:  # injections placed further right move by what was inserted
            inj.start += shift
            inj.end += shift
        ins.injection.start, ins.injection.end = start, start + len(ins.passage)
        placed.append(ins.injection)
    return text, sorted(placed, key=lambda i: i.start)


class StreamBuilder:
    """Injects passages of earlier articles into later ones of a stored corpus, reproducibly from ``seed``."""

    def __init__(self, stored: list[tuple[str, str]], seed: int) -> None:
        self.stored = stored
        self.seed = seed
        self.word_counts = [len(norm_words(t)) for _, t in stored]

    def source_for(self, target: int, rng: random.Random, far: bool, words: int, exclude: set) -> int | None:
        """An earlier article with at least ``words`` + 10 words: recent, or far back."""
        if far:
            hi = target - FAR if target - FAR >= WARMUP // 2 else target // 2
            pool = range(max(1, hi))
        else:
            pool = range(max(0, target - RECENT), target)
        pool = [p for p in pool if self.word_counts[p] >= words + 10 and p not in exclude]
        return rng.choice(pool) if pool else None

    def passage(
        self, kind: str, target: int, rng: random.Random, far: bool, exclude: set, glued: bool
    ) -> tuple[str, Injection] | None:
        """The text to insert and its Injection (span set when placed); ``glued`` passages are one paragraph."""
        length = round(MIN_PASSAGE * (MAX_PASSAGE / MIN_PASSAGE) ** rng.random())  # log-uniform 25..120
        if kind == "flattened":
            source = self.source_for(target, rng, far, 60, exclude)
            if source is None:
                return None
            found = flattened_run(self.stored[source][1], rng)
            if found is None:
                return None
            start, end, variant, passage = found
            return passage, Injection(kind, 0, 0, passage, source, start, end, variant)
        source = self.source_for(target, rng, far, length, exclude)
        if source is None:
            return None
        src = self.stored[source][1]
        found = pick_passage(src, rng, length)
        if found is None:
            return None
        start, end, variant = found
        passage = src[start:end]
        if glued or kind in ("punct-edges", "edited") or ("\n" in passage and rng.random() < 0.5):
            passage = re.sub(r"\s*\n\s*", " ", passage)  # the source's paragraph breaks lost
        if kind == "edited":
            vocabulary = [w for w in re.findall(r"\w{3,}", src)] or ["word"]
            passage, how = edit_passage(passage, rng, vocabulary)
            variant += " " + how
            if rng.random() < 0.7:
                passage, noise = add_noise(passage, rng)
                variant += " noise=" + noise
        if kind == "punct-edges":
            wrapper = rng.choice(WRAPPERS)
            passage = wrapper.format(passage)
            variant += f" wrapper={wrapper.replace('{}', '...')!r}"
        return passage, Injection(kind, 0, 0, passage, source, start, end, variant)

    def inject(self, kind: str, target: int, rng: random.Random) -> StreamArticle | None:
        """The article at ``target`` with a passage (two for ``two-sources``) of ``kind``, or None if none fits."""
        doc_id, stored = self.stored[target]
        if kind == "two-sources":
            plans = [
                (True, "paragraph" if rng.random() < 0.5 else "glued"),
                (False, rng.choice(("paragraph", "glued"))),
            ]
        else:
            where = kind if kind in ("paragraph", "glued", "start", "end") else None
            if where is None:
                where = "paragraph" if kind == "flattened" or rng.random() < 0.6 else "glued"
            plans = [(rng.random() < 0.5, where)]
        insertions, used, taken = [], set(), set()
        for far, where in plans:
            made = self.passage(kind, target, rng, far, used, glued=where == "glued")
            if made is None:
                return None
            passage, injection = made
            at, before, after, how = placement(stored, rng, where)
            if at in taken:
                return None
            taken.add(at)
            used.add(injection.source)
            distance = target - injection.source
            injection.variant = f"{injection.variant} {how} {'far' if far else 'recent'}={distance}"
            insertions.append(Insertion(at, before, passage, after, injection))
        text, injections = apply_insertions(stored, insertions)
        return StreamArticle(target, doc_id, stored, text, injections)

    def build(self, per_kind: int, kinds: Sequence[str]) -> list[StreamArticle]:
        """The whole stream: ``per_kind`` articles of each kind get passages, each article at most one kind."""
        rng = random.Random(f"across-{self.seed}")
        eligible = [i for i in range(WARMUP, len(self.stored)) if self.word_counts[i] >= 60]
        rng.shuffle(eligible)
        stream = [StreamArticle(i, d, t, t) for i, (d, t) in enumerate(self.stored)]
        pending = iter(eligible)
        for kind in kinds:
            made = 0
            for target in pending:
                if made >= per_kind:
                    break
                kind_rng = random.Random(f"across-{self.seed}-{kind}-{target}")
                article = self.inject(kind, target, kind_rng)
                if article is not None:
                    stream[target] = article
                    made += 1
            else:
                print(f"warning: only {made} articles for kind {kind} (pool exhausted)", file=sys.stderr)
        return stream


def check_ground_truth(stream: list[StreamArticle]) -> None:
    """Assert that the injected spans hold the injected text, and nothing else changed."""
    for art in stream:
        kept, cursor = [], 0
        for inj in art.injections:
            assert art.text[inj.start : inj.end] == inj.passage, (art.doc_id, inj.kind)
            assert inj.start >= cursor, f"{art.doc_id}: overlapping injections"
            src = stream[inj.source].stored
            src_words = norm_words(src[inj.source_start : inj.source_end])
            words = norm_words(inj.passage)
            if inj.kind == "edited":
                ratio = difflib.SequenceMatcher(None, src_words, words, autojunk=False).ratio()
                assert ratio >= 0.85, (art.doc_id, ratio)
            else:
                assert words == src_words, (art.doc_id, inj.kind)
            assert inj.source < art.position
            kept.append(art.text[cursor : inj.start])
            cursor = inj.end
        kept.append(art.text[cursor:])
        assert norm_words(" ".join(kept)) == norm_words(art.stored), f"{art.doc_id}: own text changed"
