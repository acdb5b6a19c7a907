"""dedup.report: the analysis behind `dedup explain`, and the HTML page a person looks at."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import dedup
from dedup.report import DocumentReport, RemovedSpan, explain, page_data, render_html, write_html

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


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def browser_dom(page: Path, tmp_path: Path, fragment: str = "") -> str:
    """The page's DOM after its script ran, from headless Chromium."""
    command = [
        chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=5000", "--dump-dom", page.as_uri() + fragment,
    ]
    done = subprocess.run(command, capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return done.stdout.decode("utf-8")


@pytest.mark.skipif(chromium() is None, reason="Chromium is not installed (apt-get install chromium)")
def test_the_page_renders_in_a_browser_with_paging_for_many_documents(tmp_path):
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
        span = RemovedSpan("across", 0, len(paragraph(i - 1)), i - 1, before.index(paragraph(i - 1)), len(before), 0.9)
        reports.append(DocumentReport(i, text, paragraph(i), [span], source=f"in.jsonl:{i + 1}"))
    page = tmp_path / "report.html"
    write_html(page, reports, page_size=25)
    dom = browser_dom(page, tmp_path)
    assert dom.count("<article") == 25  # one page, not 1,200 documents at once
    assert "page 1 of 48" in dom
    # the default view lists changed documents: 1 to 25, each removing its wire paragraph
    assert len(re.findall(r'<mark class="rm k1"[^>]*id="r-', dom)) == 25
    assert len(re.findall(r'<span class="src"[^>]*id="s-', dom)) == 25  # each is the source of the next
    assert "1,200 documents analysed, 1,199 changed" in dom
    # a link to a document on another page opens that page (doc-60 is the 60th changed one)
    linked = browser_dom(page, tmp_path, "#doc-60")
    assert "page 3 of 48" in linked and 'id="doc-60"' in linked


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
