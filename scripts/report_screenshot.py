"""Render the HTML report of examples/news.jsonl in headless Chromium and save a screenshot.

    apt-get update && apt-get install -y chromium      # once
    python scripts/report_screenshot.py                 # writes docs/report.png

It runs ``dedup explain examples/news.jsonl --html``, then Chromium from the distribution
(no network: background networking, component updates and sync are off) with a fresh
profile. ``--out`` and ``--input`` choose other files; the page is kept with ``--keep``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", default=os.path.join("examples", "news.jsonl"), help="relative to the repository")
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "report.png"))
    parser.add_argument("--size", default="1200,1000", help="window WIDTH,HEIGHT in pixels")
    parser.add_argument("--keep", metavar="HTML", help="also keep the page here")
    args = parser.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        sys.exit("Chromium not found: apt-get install chromium")
    with tempfile.TemporaryDirectory() as work:
        page = args.keep or os.path.join(work, "report.html")
        page = os.path.abspath(page)
        subprocess.run([sys.executable, "-m", "dedup", "explain", args.input, "--html", page, "--quiet"], check=True,
                       cwd=ROOT)
        subprocess.run(
            [
                browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                f"--user-data-dir={os.path.join(work, 'profile')}", f"--window-size={args.size}",
                "--virtual-time-budget=5000", f"--screenshot={os.path.abspath(args.out)}", "file://" + os.path.abspath(page),
            ],
            check=True, capture_output=True,
        )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
