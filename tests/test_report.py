"""dedup.report: the analysis behind `dedup explain`, and the HTML page a person looks at."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys

import pytest

import dedup
from dedup import Match
from news_texts import word_soup
from dedup.report import DocumentReport, explain, page_data, render_html, write_html

BODY = (
    "The council approved the new budget on Tuesday after a long debate about schools, roads "
    "and the cost of heating the old town hall in winter."
)
WIRE = (
    "The national weather service issued an orange warning for the whole coast on Sunday evening, with gusts "
    "of up to one hundred and ten kilometres per hour expected overnight and trains running less often."
)
LOCAL = "Residents of the harbour district met in the library hall to discuss the new parking rules."
OTHER = "A quiet day at the market: apples, pears and the first strawberries of the year."


def squeeze(text: str) -> str:
    return " ".join(text.split())


def test_explain_reports_repeats_inside_and_passages_seen_before_with_original_offsets():
    docs = [("a", BODY + "\n\n" + WIRE + "\n\n" + BODY), ("b", LOCAL + "\n\n" + WIRE), ("c", OTHER)]
    reports = explain(docs)
    a, b, c = reports
    assert [(s.kind, s.source_id) for s in a.spans] == [("within", "a")]
    assert a.cleaned == dedup.clean(docs[0][1])
    assert [(s.kind, s.source_id) for s in b.spans] == [("across", "a")]
    (span,) = b.spans
    assert squeeze(b.text[span.start : span.end]) == squeeze(WIRE)
    assert squeeze(a.text[span.source_start : span.source_end]) == squeeze(WIRE)  # in a's original text
    assert b.cleaned.strip() == LOCAL and b.removed_chars == len(b.text) - len(b.cleaned)
    assert not c.changed and c.spans == []


def test_across_source_offsets_point_into_the_original_text_of_a_source_cleaned_inside():
    # a's within pass removes the doubled body before WIRE, so a's cleaned text is shifted:
    # the span b repeats must still be found at the right place in a's original text.
    docs = [("a", BODY + "\n\n" + BODY + "\n\n" + WIRE), ("b", LOCAL + "\n\n" + WIRE)]
    a, b = explain(docs)
    (span,) = b.spans
    assert span.source_start > len(BODY) * 2  # after both copies of the body, in the original
    assert squeeze(a.text[span.source_start : span.source_end]) == squeeze(WIRE)


def test_explain_takes_records_and_refuses_repeated_ids():
    records = [{"url": "x/1", "body": BODY + "\n\n" + BODY}, {"url": "x/2", "body": OTHER}]
    reports = explain(records, text_field="body", id_field="url", scope="within")
    assert [r.id for r in reports] == ["x/1", "x/2"] and reports[0].changed
    with pytest.raises(ValueError, match="document id 'x' is repeated"):
        explain([("x", BODY), ("x", OTHER)])
    with pytest.raises(ValueError, match="scope"):
        explain([BODY], scope="everywhere")


def test_page_shows_changed_documents_and_their_sources_and_counts_all():
    docs = [("a", LOCAL + "\n\n" + WIRE), ("b", OTHER), ("c", WIRE)]
    data = page_data(explain(docs))
    assert [d["id"] for d in data["docs"]] == ["a", "c"]  # b is neither changed nor a source
    (kind, start, end, source, source_start, source_end, similarity) = data["docs"][1]["spans"][0]
    assert (kind, source) == (1, 0)  # across, pointing at the first shown document
    assert data["totals"]["documents"] == 3 and data["totals"]["changed"] == 1 and data["totals"]["emptied"] == 1
    assert data["totals"]["chars_removed"] == len(WIRE)


def test_page_is_self_contained_and_text_cannot_break_out_of_the_data():
    evil = "</script><script>alert(1)</script> <b>bold</b> " + WIRE
    page = render_html(explain([("a", evil), ("b", evil)]), title="a <title>")
    assert "<script>alert(1)" not in page and "<b>bold" not in page
    assert "a &lt;title&gt;" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing fetched from elsewhere
    assert "<link" not in page
    data = json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S).group(1))
    assert data["docs"][0]["text"] == evil


def test_a_title_naming_a_template_slot_stays_text():
    page = render_html(explain([("a", BODY + "\n\n" + BODY)]), title="dedup explain __DATA__.jsonl __SCRIPT__")
    assert "<title>dedup explain __DATA__.jsonl __SCRIPT__</title>" in page
    assert page.count('"docs":') == 1  # the data once, in its own element


def test_the_page_is_package_data_that_the_wheel_ships():
    """The page's HTML, CSS and script are files in dedup/page/, read with importlib.resources;
    pyproject's package-data must name every one of them, or an installed wheel renders no page."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    from dedup.report import page_part

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    folder = os.path.join(root, "src", "dedup", "page")
    with open(os.path.join(root, "pyproject.toml"), "rb") as handle:
        patterns = tomllib.load(handle)["tool"]["setuptools"]["package-data"]["dedup"]
    names = sorted(os.listdir(folder))
    assert names == ["report.css", "report.html", "report.js"]
    assert all(any(fnmatch.fnmatch(f"page/{name}", pattern) for pattern in patterns) for name in names)
    page = render_html(explain([BODY + "\n\n" + BODY]))
    assert page_part("report.css") in page and page_part("report.js") in page
    assert re.search(r"__(TITLE|STYLE|SCRIPT|DATA)__", page) is None  # every slot filled


def test_explain_html_from_the_command(tmp_path):
    rows = [{"id": "a", "text": LOCAL + "\n\n" + WIRE}, {"id": "b", "text": BODY + "\n\n" + BODY + "\n\n" + WIRE}]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "dedup", "explain", "in.jsonl", "--html", "r.html"],
                          cwd=tmp_path, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == b""  # only the page was asked for
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    shown = json.loads(re.search(r'id="data">(.*?)</script>', page, re.S).group(1))
    assert [d["id"] for d in shown["docs"]] == ["a", "b"]
    assert sorted(s[0] for s in shown["docs"][1]["spans"]) == [0, 1]  # a repeat inside, a passage seen before
    both = subprocess.run([sys.executable, "-m", "dedup", "explain", "in.jsonl", "--html", "r2.html", "-o", "r.jsonl"],
                          cwd=tmp_path, capture_output=True, check=False)
    assert both.returncode == 0 and (tmp_path / "r.jsonl").read_text().count('"kind"') == 2


def page_payload(page: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S).group(1))


def test_a_lone_surrogate_is_kept_in_the_page_as_its_json_escape(tmp_path):
    text = "Caf\ud800 " + BODY + "\n\n" + BODY
    path = tmp_path / "r.html"
    write_html(path, explain([("a", text)]), title="from \udcff.jsonl")
    page = path.read_bytes().decode("utf-8")  # valid UTF-8
    assert page_payload(page)["docs"][0]["text"] == text  # the same text, escape read back
    assert '"Caf\\ud800 ' in page
    assert "<title>from \\udcff.jsonl</title>" in page


def test_explain_html_from_the_command_with_a_lone_surrogate_escape(tmp_path):
    line = json.dumps({"id": "s", "text": "Caf\ud800 " + BODY + "\n\n" + BODY})  # ASCII: "\\ud800" stays an escape
    (tmp_path / "in.jsonl").write_text(line + "\n", encoding="ascii")
    done = subprocess.run([sys.executable, "-m", "dedup", "explain", "in.jsonl", "--html", "r.html", "-o", "r.jsonl"],
                          cwd=tmp_path, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    page = (tmp_path / "r.html").read_bytes().decode("utf-8")
    assert page_payload(page)["docs"][0]["text"] == json.loads(line)["text"]
    assert json.loads((tmp_path / "r.jsonl").read_text())["kind"] == "within"


def test_write_html_that_fails_keeps_the_previous_page_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "r.html"
    write_html(path, explain([("a", BODY + "\n\n" + BODY)]))
    previous = path.read_bytes()

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)  # the page is written, then cannot be made durable
    with pytest.raises(OSError, match="cannot write .*r.html: No space left on device"):
        write_html(path, explain([("b", WIRE + "\n\n" + WIRE)]))
    assert path.read_bytes() == previous
    assert os.listdir(tmp_path) == ["r.html"]


# --------------------------------------------------------------------------- in a real browser


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module's tests (tests/browser.py). Skipped where it is not
    installed, except in CI (``CI=true`` or ``DEDUP_REQUIRE_BROWSER=1``), where that fails."""
    from browser import REQUIRED, Browser, chromium

    if chromium() is None:
        reason = "Chromium is not installed (apt-get install chromium)"
        if REQUIRED:
            pytest.fail(f"CI needs the browser tests: {reason}", pytrace=False)
        pytest.skip(reason)
    with Browser() as opened:
        yield opened


def test_the_page_renders_in_a_browser_with_paging_for_many_documents(tmp_path, browser):
    # 1,200 documents, each repeating the last paragraph of the one before it: 48 pages of 25.
    def paragraph(i: int) -> str:
        return f"Report {i} from the harbour: the ferry number {i} left on time and the crew of {i} waved."

    reports: list[DocumentReport] = []
    for i in range(1200):
        if i == 0:
            reports.append(DocumentReport(i, paragraph(0), paragraph(0), []))
            continue
        text = paragraph(i - 1) + "\n\n" + paragraph(i)
        before = reports[-1].text
        span = Match(0, len(paragraph(i - 1)), "across", i - 1, before.index(paragraph(i - 1)), len(before), 0.9)
        reports.append(DocumentReport(i, text, paragraph(i), [span], source=f"in.jsonl:{i + 1}"))
    page = tmp_path / "report.html"
    write_html(page, reports, page_size=25)
    browser.open(page.as_uri())
    count = "document.querySelectorAll(arguments).length".replace("arguments", "{!r}")
    assert browser.evaluate(count.format("main article")) == 25  # one page, not 1,200 documents at once
    assert "page 1 of 48" in browser.evaluate("document.querySelector('.pager').textContent")
    # the default view lists changed documents: 1 to 25, each removing its wire paragraph
    assert browser.evaluate(count.format("main mark.rm.k1")) == 25
    assert browser.evaluate(count.format("main a.from.k1")) == 25  # each names where its passage came from
    assert browser.evaluate(count.format("main .kept")) == 25  # each is the source of the next
    assert "1,200 documents analysed, 1,199 changed" in browser.evaluate("document.getElementById('totals').textContent")
    # a link to a document on another page opens that page (doc-60 is the 60th changed one)
    browser.open(page.as_uri() + "#doc-60")
    assert "page 3 of 48" in browser.evaluate("document.querySelector('.pager').textContent")
    assert browser.evaluate("!!document.getElementById('doc-60')")


PARAGRAPHS = [
    "Volunteers repainted the lighthouse on the north pier over three weekends, using paint donated by a "
    "shop in the old town, and the keeper's grandson climbed the tower to fix the weather vane.",
    "The bakery on Mill Street has started selling bread made with flour from the windmill on the hill, "
    "which turned its sails again this spring after twenty years of standing still in the wind.",
    "Pupils of the village school planted two hundred young oak trees along the river bank, where the "
    "floods of last winter had washed away the old willows and a part of the footpath.",
    "The choir of the harbour church will sing in the cathedral next month, the first time in its long "
    "history, and the members have rehearsed every Thursday evening since the end of the summer.",
    "Fishermen reported a large school of dolphins just outside the bay on Wednesday morning, and a few "
    "boats of tourists went out to watch them jump and play in the waves for almost an hour.",
]


ESSAY = "\n\n".join(word_soup(seed, 60) for seed in range(20))


def linked_reports() -> list[DocumentReport]:
    """Every kind of link of the page, on 3 pages of 3 changed documents (4 pages of all).

    "storm" repeats a passage of "wire-source", which nothing changed: the default choice
    (changed documents) does not list it, and in the list of all it is on the same page
    number as "storm" (the link that went nowhere, issue 18). "late", on page 2, repeats a
    passage of "doubled", on page 1.
    """
    docs = [
        ("wire-source", LOCAL + "\n\n" + WIRE),
        ("doubled", BODY + "\n\n" + BODY),
        ("storm", OTHER + "\n\n" + WIRE),
        ("f1", PARAGRAPHS[0] + "\n\n" + PARAGRAPHS[0]),
        ("f2", PARAGRAPHS[1] + "\n\n" + PARAGRAPHS[1]),
        ("f3", PARAGRAPHS[2] + "\n\n" + PARAGRAPHS[2]),
        ("late", PARAGRAPHS[3] + "\n\n" + BODY),
        ("f4", PARAGRAPHS[4] + "\n\n" + PARAGRAPHS[4]),
        ("essay", ESSAY),  # unchanged, taller than the window: a link must show its start
        ("essay-copy", LOCAL + "\n\n" + ESSAY),
    ]
    return explain(docs)


# Is the passage (every piece of it) `key` on screen: in the window below the sticky header,
# inside its scrolled text box, not covered, and flashed? "ok" or what is wrong.
SHOWN = """(function (key, doc) {
  var nodes = document.querySelectorAll("[data-parts~='" + key + "']");
  if (!nodes.length) nodes = [document.getElementById("doc-" + doc)];
  var node = nodes[0];
  if (!node) return "not on the page";
  var rect = node.getClientRects()[0];
  if (!rect) return "no box";
  var header = document.querySelector(".top").getBoundingClientRect().bottom;
  if (rect.top < header - 1 || rect.bottom > innerHeight + 1) return "outside the window: " + rect.top + ".." + rect.bottom;
  var box = node.closest(".text");
  if (box) {
    var inner = box.getBoundingClientRect();
    if (rect.top < inner.top - 1 || rect.bottom > inner.bottom + 1) return "scrolled away inside its text box";
  }
  var hit = document.elementFromPoint(rect.left + Math.min(rect.width / 2, 4), rect.top + rect.height / 2);
  if (hit !== node && !node.contains(hit)) return "covered by " + (hit && hit.outerHTML.slice(0, 80));
  if (!Array.prototype.every.call(nodes, function (n) { return n.classList.contains("flash"); })) return "not flashed";
  return "ok";
})(%s, %s)"""

# A point on the first line of the link-th element with a link on the page, scrolled below
# the sticky header first (a long passage centred would hide its start), with where it leads.
LINK = """(function (k) {
  var node = document.querySelectorAll("main [data-go]:not([data-go=''])")[k];
  node.scrollIntoView({ block: "start" });
  var header = document.querySelector(".top").getBoundingClientRect().bottom;
  window.scrollBy(0, node.getClientRects()[0].top - header - 40);
  var rect = node.getClientRects()[0];
  return { x: rect.left + Math.min(rect.width / 2, 4), y: rect.top + rect.height / 2, go: node.dataset.go,
           doc: +node.dataset.doc, kind: node.tagName.toLowerCase() + "." + node.className.split(" ").join("."),
           text: node.textContent };
})(%d)"""


def page_state(browser) -> dict:
    return browser.evaluate(
        "({pager: document.querySelector('.pager span').textContent, kind: document.getElementById('kind').value,"
        " shown: Array.prototype.map.call(document.querySelectorAll('article h2'), function (h) { return h.textContent; })})"
    )


def click_button(browser, selector: str) -> None:
    at = browser.evaluate(
        f"(function () {{ var r = document.querySelector({selector!r}).getBoundingClientRect();"
        " return [r.left + r.width / 2, r.top + r.height / 2]; })()"
    )
    browser.click(*at)


def test_every_link_of_the_page_shows_its_target_in_a_browser(tmp_path, browser):
    reports = linked_reports()
    page = tmp_path / "report.html"
    write_html(page, reports, page_size=3)
    browser.open(page.as_uri())
    assert page_state(browser) == {"pager": "page 1 of 3", "kind": "changed", "shown": ["doubled", "storm", "f1"]}
    clicked: dict[str, int] = {}
    jumps = []
    for page_number in range(3):
        browser.open(page.as_uri())
        for _ in range(page_number):
            click_button(browser, ".pager button:nth-of-type(2)")  # "next", a real click
        links = browser.evaluate("document.querySelectorAll(\"main [data-go]:not([data-go=''])\").length")
        for k in range(links):
            browser.open(page.as_uri())
            for _ in range(page_number):
                click_button(browser, ".pager button:nth-of-type(2)")
            before = page_state(browser)
            link = browser.evaluate(LINK % k)
            browser.click(link["x"], link["y"])
            after = page_state(browser)
            shown = browser.evaluate(SHOWN % (json.dumps(link["go"]), link["doc"]))
            assert shown == "ok", (link, before, after)
            clicked[link["kind"]] = clicked.get(link["kind"], 0) + 1
            jumps.append((before["shown"][0], link["text"], before["pager"], after["pager"], after["kind"]))
    # every kind of link was clicked: removed passages of both kinds, the labels next to
    # them, and the labels of kept passages
    assert set(clicked) == {"mark.rm.k0", "mark.rm.k1", "a.from.k0", "a.from.k1", "a."}, clicked
    # among them the link that went nowhere: a source that the list of changed documents
    # leaves out, on the same page number in the list of all documents
    assert ("doubled", "\u2190 seen in wire-source", "page 1 of 3", "page 1 of 4", "all") in jumps
    assert ("f4", "\u2190 seen in essay", "page 3 of 3", "page 3 of 4", "all") in jumps  # to the start of a long one
    assert ("f2", "\u2190 seen in doubled", "page 2 of 3", "page 1 of 3", "changed") in jumps
    assert ("doubled", "late", "page 1 of 3", "page 2 of 3", "changed") in jumps  # a kept passage's label


def test_kept_passages_are_marked_by_labels_not_by_colour_over_their_text(tmp_path, browser):
    page = tmp_path / "report.html"
    write_html(page, linked_reports(), page_size=3)
    browser.open(page.as_uri() + "#doc-1")  # "doubled": its first body is kept, repeated below and in "late"
    style = browser.evaluate(
        "(function () { var s = getComputedStyle(document.querySelector('#doc-1 .src'));"
        " return [s.backgroundColor, s.borderBottomStyle, s.textDecorationLine]; })()"
    )
    assert style == ["rgba(0, 0, 0, 0)", "none", "none"]
    assert browser.evaluate("document.querySelector('#doc-1 .kept').textContent") == "kept, repeated below, in late"
    assert browser.evaluate("document.querySelectorAll('#doc-1 .kept-end').length") == 1
    browser.screenshot(str(tmp_path / "report.png"))  # for a look: pytest --basetemp=DIR keeps it


def test_a_passage_found_under_two_measures_is_reported_once(tmp_path):
    # A whole earlier document inside a later one can match as jaccard and as containment.
    rows = [{"id": "a", "text": BODY}, {"id": "b", "text": "A different story.\n\n" + BODY}]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "dedup", "explain", "in.jsonl"], cwd=tmp_path, capture_output=True,
                          check=False)
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(e["id"], e["kind"], e["source_id"]) for e in lines] == [("b", "across", "a")]
    assert "1 document changed, 1 span" in done.stderr.decode()
    assert [len(r.spans) for r in explain([(r["id"], r["text"]) for r in rows])] == [0, 1]
