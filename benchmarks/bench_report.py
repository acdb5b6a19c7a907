"""The HTML report at 10,000 documents: time to write it, its size, time to open it in Chromium.

    python benchmarks/bench_report.py --corpus /work/shared/corpora/bbc-en.jsonl --docs 10000

The corpus is repeated (with new ids) up to ``--docs`` documents, so that the later
rounds repeat the first: many changed documents, each linked to its source. Steps:
``dedup explain --html`` (wall time, page size), then headless Chromium loading the page
and running its script (``--dump-dom``), against the same browser on an empty page; the
difference is what the page costs the browser. Needs Chromium (apt-get install chromium).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time


def run_browser(browser: str, url: str, profile: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
         "--dump-dom", url],
        capture_output=True, check=True, timeout=600,
    )
    return time.perf_counter() - started, done.stdout.decode("utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--docs", type=int, default=10_000)
    args = parser.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    with open(args.corpus, encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    with tempfile.TemporaryDirectory() as work:
        corpus = os.path.join(work, "corpus.jsonl")
        with open(corpus, "w", encoding="utf-8") as out:
            for i in range(args.docs):
                record = records[i % len(records)]
                out.write(json.dumps({"id": f"{i // len(records)}-{record.get('id', i)}", "text": record["text"]}) + "\n")
        page = os.path.join(work, "report.html")
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "dedup", "explain", corpus, "--html", page],
                              capture_output=True, check=True)
        seconds = time.perf_counter() - started
        print(f"dedup explain --html, {args.docs:,} documents: {seconds:.1f} s wall, "
              f"page {os.path.getsize(page) / 1e6:.1f} MB")
        print(done.stderr.decode().rstrip())
        if browser is None:
            print("Chromium not found: browser timing skipped")
            return 0
        empty = os.path.join(work, "empty.html")
        with open(empty, "w") as handle:
            handle.write("<!DOCTYPE html><title>empty</title>")
        base, _ = run_browser(browser, "file://" + empty, os.path.join(work, "p1"))
        opened, dom = run_browser(browser, "file://" + page, os.path.join(work, "p2"))
        ready = re.search(r'data-ready-ms="(\d+)"', dom)
        print(f"Chromium --dump-dom: report {opened:.1f} s, empty page {base:.1f} s "
              f"(the page costs {opened - base:.1f} s); {dom.count('<article')} documents rendered on page 1; "
              f"first page shown {int(ready.group(1)) / 1000 if ready else float('nan'):.1f} s after navigation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
